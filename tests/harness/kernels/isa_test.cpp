// Every instruction-set instantiation of the SIMD kernels, not only the one the dispatcher picks
// on this machine: each functor is called directly with xsimd::avx512bw / avx2 / sse4_2 / sse2
// (those the CPU supports) and compared with the reference kernels on odd sizes and unaligned
// data, so a machine with AVX-512 also tests the AVX2 and SSE code an AVX2-only machine would
// run.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "harness/kernels/reference.h"
#include "harness/kernels/simd_arch.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::fill_normal;
using kernel_test::for_each_supported;
using kernel_test::Unaligned;

template <class T>
double max_diff(const T* a, const T* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

template <class T>
void check_all() {
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-12;
  const int ran = for_each_supported([&](auto arch, const char* name) {
    SCOPED_TRACE(name);
    EXPECT_STREQ(IsaName{}(arch), name);
    // sin/cos table, interleaved output, positions up to 1006.
    {
      const int64_t rows = 7, pairs = 37;
      std::vector<int64_t> pos(rows);
      for (int64_t t = 0; t < rows; ++t) pos[size_t(t)] = 1000 + t;
      std::vector<double> inv(size_t(kTableChunk), 0.0);
      for (int64_t i = 0; i < pairs; ++i) inv[size_t(i)] = std::pow(10000.0, -2.0 * i / 74.0);
      Unaligned<T> got(rows * 2 * pairs), want(rows * 2 * pairs);
      SincosTableArgs<T> a;
      a.positions = pos.data();
      a.rows = rows;
      a.inv_freq = inv.data();
      a.pairs = pairs;
      a.magnitude = 0.75;
      a.sin_out = got.data();
      a.cos_out = got.data() + 1;
      a.row_stride = 2 * pairs;
      a.elem_stride = 2;
      a.threads = 2;
      SincosTable{}(arch, a);
      a.sin_out = want.data();
      a.cos_out = want.data() + 1;
      reference_sincos_table(a);
      EXPECT_LE(max_diff(got.data(), want.data(), rows * 2 * pairs), tol) << "sincos";
    }
    // rotation, both pairings, partial (rd < head_dim), in place and out of place; rd = 1026
    // takes the interleaved loop without expanded coefficients (rd > kMaxExpandedDims) and, for
    // half pairing, every vector-loop tail; rd = 64 and 128 have instantiations of their own
    for (const auto& [head_dim, rd] :
         {std::pair<int64_t, int64_t>{86, 70}, {1100, 1026}, {128, 128}, {80, 64}})
      for (bool interleaved : {false, true})
        for (bool in_place : {true, false}) {
          const int64_t rows = 7, heads = 3, half = rd / 2, n = rows * heads * head_dim;
          Unaligned<T> x(n), y(n), out(n), want(n), c(rows * half), s(rows * half);
          fill_normal(x.data(), n, "isa/x");
          fill_normal(c.data(), rows * half, "isa/c");
          fill_normal(s.data(), rows * half, "isa/s");
          for (int64_t k = 0; k < n; ++k) y[k] = x[k];
          RotateArgs<T> a{x.data(),    in_place ? x.data() : out.data(),
                          rows,        heads,
                          head_dim,    rd,
                          interleaved, c.data(),
                          s.data(),    2};
          Rotate{}(arch, a);
          a.src = y.data();
          a.dst = in_place ? y.data() : want.data();
          reference_rotate(a);
          const T* got = in_place ? x.data() : out.data();
          EXPECT_LE(max_diff(got, a.dst, n), 10 * tol)
              << "rotate interleaved=" << interleaved << " rd=" << rd << " in_place=" << in_place;
        }
    // axpy, relative bias, convert
    {
      const int64_t n = 1001;
      Unaligned<T> x(n), y(n), d1(n), d2(n);
      fill_normal(x.data(), n, "isa/ax");
      fill_normal(y.data(), n, "isa/ay");
      AxpyArgs<T> a{d1.data(), x.data(), y.data(), n, T(-1.5), 2};
      Axpy{}(arch, a);
      a.dst = d2.data();
      reference_axpy(a);
      // (the SIMD loops may contract x + s y into one fused multiply-add)
      EXPECT_LE(max_diff(d1.data(), d2.data(), n), 10 * tol) << "axpy";
      const int64_t heads = 3, m = 13;
      Unaligned<T> rel(heads * (2 * m - 1)), o1(heads * m * m), o2(heads * m * m);
      fill_normal(rel.data(), heads * (2 * m - 1), "isa/rel");
      for (bool add : {false, true}) {
        RelativeBiasArgs<T> r{rel.data(), o1.data(), heads, m, add, T(0.5), 2};
        RelativeBias{}(arch, r);
        r.out = o2.data();
        reference_relative_bias(r);
        EXPECT_LE(max_diff(o1.data(), o2.data(), heads * m * m), 10 * tol)
            << "relative bias " << add;
      }
      std::vector<double> src(static_cast<size_t>(n));
      fill_normal(src.data(), n, "isa/src");
      for (int64_t i = 0; i < n; ++i) d1[i] = d2[i];  // same starting values for the add
      ConvertArgs<T> cv{src.data(), d1.data(), n, true, 0.25};
      Convert{}(arch, cv);
      cv.dst = d2.data();
      reference_convert(cv);
      EXPECT_EQ(max_diff(d1.data(), d2.data(), n), 0.0) << "convert";
    }
    // attention with a relative bias, 2 blocks of rows
    {
      const int64_t n = 131, heads = 2, d = 6, size = n * heads * d;
      Unaligned<T> q(size), k(size), v(size), o1(size), o2(size), rel(heads * (2 * n - 1));
      fill_normal(q.data(), size, "isa/q");
      fill_normal(k.data(), size, "isa/k");
      fill_normal(v.data(), size, "isa/v");
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < 2 * n - 1; ++j)
          rel[h * (2 * n - 1) + j] = T(-0.1 * (h + 1) * std::abs(double(n - 1 - j)));
      std::vector<T> logits(size_t(2 * (kAttentionBlock + 1) * n));
      AttentionArgs<T> a;
      a.q = q.data();
      a.k = k.data();
      a.v = v.data();
      a.out = o1.data();
      a.n = n;
      a.heads = heads;
      a.head_dim = d;
      a.scale = T(0.4);
      a.bias_mode = BiasMode::relative;
      a.bias = rel.data();
      a.logits_scratch = logits.data();
      a.threads = 2;
      Attention{}(arch, a);
      a.out = o2.data();
      reference_attention(a);
      EXPECT_LE(max_diff(o1.data(), o2.data(), size), (std::is_same_v<T, float> ? 1e-5 : 1e-12))
          << "attention";
    }
    // probes
    {
      const int64_t n = 999;
      Unaligned<float> p(n);
      for (int64_t i = 0; i < n; ++i) p[i] = float(i);
      ProbeArgs a;
      a.a = p.data();
      a.n = n;
      a.s = 2.0f;
      a.threads = 2;
      Probe{}(arch, a);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(p[i], 2.0f - float(i)) << i;
    }
  });
  EXPECT_GE(ran, 1);  // sse2 is the x86-64 baseline
}

TEST(KernelIsa, EveryInstructionSetAgreesWithTheReferenceFloat) { check_all<float>(); }
TEST(KernelIsa, EveryInstructionSetAgreesWithTheReferenceDouble) { check_all<double>(); }

}  // namespace
}  // namespace posbench::kernels
