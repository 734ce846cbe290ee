// Causal attention with a scheme (harness/kernels/ops.h AttentionOp), every implementation,
// variant and thread count, against a float64 attention written here from the definitions:
//   s_ij = <q_i', k_j'> / sqrt(d) + b_h(i, j) for j <= i,  p_i = softmax_j(s_ij),
//   o_i = sum_j p_ij v_j,
// with q', k' the queries/keys after the scheme (RoPE rotation, Su et al. 2021; sinusoidal
// PE added, Vaswani et al. 2017) and b the ALiBi bias -m_h |i - j| (Press et al. 2022) or a
// test bias that is not relative. The fused bias variant must equal the materialised one.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "harness/kernels/ops.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::fill_normal;
using kernel_test::frequency;
using kernel_test::make;
using kernel_test::Unaligned;

using Vec = std::vector<double>;
using BiasFn = std::function<double(int64_t h, int64_t i, int64_t j)>;

// q, k, v: [n, heads, d], already carrying the scheme; returns o [n, heads, d].
Vec oracle_attention(const Vec& q, const Vec& k, const Vec& v, int64_t n, int64_t heads, int64_t d,
                     const BiasFn& bias) {
  Vec o(q.size(), 0.0);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < n; ++i) {
      std::vector<long double> s(size_t(i + 1));
      long double m = -INFINITY;
      for (int64_t j = 0; j <= i; ++j) {
        long double dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot +=
              (long double)q[size_t((i * heads + h) * d + c)] * k[size_t((j * heads + h) * d + c)];
        s[size_t(j)] = dot / std::sqrt((long double)d) + (bias ? bias(h, i, j) : 0.0);
        m = std::max(m, s[size_t(j)]);
      }
      long double sum = 0;
      for (auto& x : s) sum += (x = std::exp(x - m));
      for (int64_t c = 0; c < d; ++c) {
        long double acc = 0;
        for (int64_t j = 0; j <= i; ++j)
          acc += s[size_t(j)] / sum * v[size_t((j * heads + h) * d + c)];
        o[size_t((i * heads + h) * d + c)] = double(acc);
      }
    }
  return o;
}

// scheme: "none", "rope", "sinusoidal", "alibi" or "test_bias".
template <class T>
void check_attention(const std::string& scheme) {
  const int64_t heads = 2;
  std::unique_ptr<Encoder> owned;
  const kernel_test::TestBias test_bias;
  const Encoder* enc = nullptr;
  if (scheme == "rope") owned = make("rope", {{"layout", "interleaved"}});
  if (scheme == "sinusoidal") owned = make("sinusoidal");
  if (scheme == "alibi") owned = make("alibi");
  enc = scheme == "test_bias" ? &test_bias : owned.get();
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  for (int64_t n : {1, 7, 130})
    for (int64_t d : {2, 6, 64}) {
      const int64_t size = n * heads * d;
      Vec q(static_cast<size_t>(size)), k(q.size()), v(q.size());
      fill_normal(q.data(), size, "attention_test/q");
      fill_normal(k.data(), size, "attention_test/k");
      fill_normal(v.data(), size, "attention_test/v");
      // The scheme applied in float64 from its formula.
      Vec qs = q, ks = k;
      BiasFn bias;
      if (scheme == "rope")
        for (int64_t p = 0; p < n; ++p)
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < d / 2; ++i)
              for (Vec* x : {&qs, &ks}) {
                const long double angle = (long double)p * frequency(10000.0L, i, d);
                const size_t ia = size_t((p * heads + h) * d + 2 * i), ib = ia + 1;
                const long double a = (*x)[ia], b = (*x)[ib];
                (*x)[ia] = double(a * std::cos(angle) - b * std::sin(angle));
                (*x)[ib] = double(a * std::sin(angle) + b * std::cos(angle));
              }
      if (scheme == "sinusoidal")
        for (int64_t p = 0; p < n; ++p)
          for (int64_t c = 0; c < heads * d; c += 2) {
            const long double angle = (long double)p * frequency(10000.0L, c / 2, heads * d);
            for (Vec* x : {&qs, &ks}) {
              (*x)[size_t(p * heads * d + c)] += double(std::sin(angle));
              (*x)[size_t(p * heads * d + c + 1)] += double(std::cos(angle));
            }
          }
      if (scheme == "alibi")
        bias = [](int64_t h, int64_t i, int64_t j) {
          return -std::pow(2.0, -8.0 * double(h + 1) / 2.0) * double(std::abs(i - j));
        };
      if (scheme == "test_bias") bias = &kernel_test::TestBias::value;
      const Vec expected = oracle_attention(qs, ks, v, n, heads, d, bias);

      Unaligned<T> tq(size), tk(size), tv(size), out(size), bias_buffer(heads * n * n);
      for (int64_t x = 0; x < size; ++x)
        tq[x] = T(q[size_t(x)]), tk[x] = T(k[size_t(x)]), tv[x] = T(v[size_t(x)]);
      AttentionOp<T> op(enc, n, heads, d, 2);
      const bool is_bias = enc && enc->family() == Family::bias;
      for (Impl impl : {Impl::reference, Impl::simd}) {
        std::vector<T> first;
        for (int threads : {1, 2})
          for (bool fused : is_bias ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
            op.run(impl, threads, fused, tq.data(), tk.data(), tv.data(), out.data(),
                   bias_buffer.data());
            double err = 0;
            for (int64_t x = 0; x < size; ++x)
              err = std::max(err, std::abs(double(out[x]) - expected[size_t(x)]));
            EXPECT_LE(err, tol) << scheme << " n " << n << " d " << d << " " << to_string(impl)
                                << " threads " << threads << (fused ? " fused" : "");
            if (first.empty()) {
              first.assign(out.data(), out.data() + size);
              continue;
            }
            // Fused == materialised, and the thread count changes nothing (1e-6 relative).
            for (int64_t x = 0; x < size; ++x)
              ASSERT_LE(std::abs(double(out[x]) - double(first[size_t(x)])),
                        1e-6 * std::abs(double(first[size_t(x)])))
                  << scheme << " n " << n << " d " << d << " " << to_string(impl) << " threads "
                  << threads << (fused ? " fused" : "") << " element " << x;
          }
      }
    }
}

TEST(KernelAttention, NoSchemeFloat) { check_attention<float>("none"); }
TEST(KernelAttention, NoSchemeDouble) { check_attention<double>("none"); }
TEST(KernelAttention, RopeFloat) { check_attention<float>("rope"); }
TEST(KernelAttention, RopeDouble) { check_attention<double>("rope"); }
TEST(KernelAttention, SinusoidalFloat) { check_attention<float>("sinusoidal"); }
TEST(KernelAttention, AlibiMaterialisedAndFusedFloat) { check_attention<float>("alibi"); }
TEST(KernelAttention, AlibiMaterialisedAndFusedDouble) { check_attention<double>("alibi"); }
TEST(KernelAttention, NonRelativeBiasMaterialisedAndFusedFloat) {
  check_attention<float>("test_bias");
}
TEST(KernelAttention, NonRelativeBiasMaterialisedAndFusedDouble) {
  check_attention<double>("test_bias");
}

}  // namespace
}  // namespace posbench::kernels
