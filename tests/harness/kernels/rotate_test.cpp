// Rotation (harness/kernels/ops.h rotate with a RotaryTable cache), every implementation, both
// pairings, partial rotation, odd sizes, unaligned data, in place and out of place, against the
// RoPE formula (Su et al. 2021) evaluated here in long double: pair (a, b) at position p becomes
// (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)),
// theta_i = base^(-2i/d'); channels past d' are unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/kernels/ops.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::fill_normal;
using kernel_test::frequency;
using kernel_test::make;
using kernel_test::Unaligned;

// x: [seq, heads, head_dim]; rotates the first rd channels of each head.
std::vector<long double> oracle(const std::vector<double>& x, int64_t seq, int64_t heads,
                                int64_t head_dim, int64_t rd, bool interleaved, long double base) {
  std::vector<long double> y(x.begin(), x.end());
  const int64_t half = rd / 2;
  for (int64_t p = 0; p < seq; ++p)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const long double angle = (long double)p * frequency(base, i, rd);
        const int64_t off = (p * heads + h) * head_dim;
        const int64_t ia = off + (interleaved ? 2 * i : i);
        const int64_t ib = off + (interleaved ? 2 * i + 1 : i + half);
        const long double a = x[size_t(ia)], b = x[size_t(ib)];
        y[size_t(ia)] = a * std::cos(angle) - b * std::sin(angle);
        y[size_t(ib)] = a * std::sin(angle) + b * std::cos(angle);
      }
  return y;
}

template <class T>
void check_rotation(bool interleaved, double fraction) {
  auto enc = make(
      "rope", {{"layout", interleaved ? "interleaved" : "half"}, {"rotary_fraction", fraction}});
  const int64_t heads = 3;
  // float32: the cache is rounded to float (6e-8) and the arithmetic is float; values are N(0,1).
  const double tol = std::is_same_v<T, float> ? 4e-6 : 1e-12;
  for (int64_t seq : {1, 7, 1000})
    for (int64_t head_dim : {2, 6, 64, 80, 128, 256}) {
      const int64_t rd = enc->rotary_dims(head_dim);
      if (rd < 2) continue;
      const int64_t n = seq * heads * head_dim;
      std::vector<double> x(static_cast<size_t>(n));
      fill_normal(x.data(), n, "rotate_test/x");
      const auto expected = oracle(x, seq, heads, head_dim, rd, interleaved, 10000.0L);
      RotaryTable<T> table(*enc, seq, head_dim, Role::query);
      Unaligned<T> c(seq * table.pairs()), s(seq * table.pairs());
      table.run(Impl::reference, 1, c.data(), s.data());
      std::vector<T> by_reference;
      for (Impl impl : {Impl::reference, Impl::simd})
        for (int threads : {1, 2})
          for (bool in_place : {true, false}) {
            Unaligned<T> src(n), dst(n);
            for (int64_t k = 0; k < n; ++k) src[k] = T(x[size_t(k)]);
            T* out = in_place ? src.data() : dst.data();
            rotate(impl, threads, src.data(), out, seq, heads, head_dim, rd, enc->rotary_pairing(),
                   c.data(), s.data());
            double err = 0;
            for (int64_t k = 0; k < n; ++k)
              err = std::max(err, double(std::abs(out[k] - expected[size_t(k)])));
            EXPECT_LE(err, tol) << "seq " << seq << " head_dim " << head_dim << " "
                                << to_string(impl) << " threads " << threads
                                << (in_place ? " in place" : " out of place");
            // Same numbers whatever the implementation and thread count (1e-6 relative for
            // float: the SIMD and scalar loops may round a*c - b*s differently).
            if (by_reference.empty()) {
              by_reference.assign(out, out + n);
            } else {
              for (int64_t k = 0; k < n; ++k)
                ASSERT_NEAR(out[k], by_reference[size_t(k)],
                            (std::is_same_v<T, float> ? 1e-6 : 1e-14) *
                                (1.0 + std::abs(double(by_reference[size_t(k)]))))
                    << k;
            }
          }
    }
}

TEST(KernelRotate, HalfFloat) { check_rotation<float>(false, 1.0); }
TEST(KernelRotate, HalfDouble) { check_rotation<double>(false, 1.0); }
TEST(KernelRotate, InterleavedFloat) { check_rotation<float>(true, 1.0); }
TEST(KernelRotate, InterleavedDouble) { check_rotation<double>(true, 1.0); }
TEST(KernelRotate, HalfPartialFloat) { check_rotation<float>(false, 0.5); }
TEST(KernelRotate, HalfPartialDouble) { check_rotation<double>(false, 0.25); }
TEST(KernelRotate, InterleavedPartialFloat) { check_rotation<float>(true, 0.5); }
TEST(KernelRotate, InterleavedPartialDouble) { check_rotation<double>(true, 0.25); }

// Channels rotate in pairs: an odd, zero or too wide rotary width is refused before any
// memory is touched (a plugin's rotary_dims could give one).
TEST(KernelRotate, RefusesWidthsThatAreNotWholePairs) {
  std::vector<float> x(64), c(32), s(32);
  for (int64_t rd : {0, 5, 66})
    for (Impl impl : {Impl::reference, Impl::simd})
      EXPECT_THROW(rotate(impl, 1, x.data(), x.data(), 1, 1, 64, rd, RotaryPairing::interleaved,
                          c.data(), s.data()),
                   std::invalid_argument)
          << rd;
}

// Threads split rows: 1 and 2 threads give bit-identical results.
TEST(KernelRotate, ThreadCountDoesNotChangeResults) {
  auto enc = make("rope", {{"layout", "interleaved"}});
  const int64_t seq = 1000, heads = 4, head_dim = 128, n = seq * heads * head_dim;
  RotaryTable<float> table(*enc, seq, head_dim, Role::query);
  std::vector<float> c(size_t(seq * 64)), s(c.size());
  table.run(Impl::simd, 2, c.data(), s.data());
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  fill_normal(a.data(), n, "rotate_test/threads");
  b = a;
  rotate(Impl::simd, 1, a.data(), a.data(), seq, heads, head_dim, 128, RotaryPairing::interleaved,
         c.data(), s.data());
  rotate(Impl::simd, 2, b.data(), b.data(), seq, heads, head_dim, 128, RotaryPairing::interleaved,
         c.data(), s.data());
  EXPECT_EQ(a, b);
}

// The generic path (a scheme without a closed form, role-dependent magnitude): the cache holds
// the scheme's coefficients, so query and key rotate differently.
TEST(KernelRotate, GenericSchemeWithRoleDependentMagnitude) {
  for (RotaryPairing pairing : {RotaryPairing::half, RotaryPairing::interleaved}) {
    const kernel_test::TestRotary enc(pairing);
    const int64_t seq = 7, heads = 2, head_dim = 6, half = 3, n = seq * heads * head_dim;
    std::vector<double> x(static_cast<size_t>(n));
    fill_normal(x.data(), n, "rotate_test/generic");
    for (Role role : {Role::query, Role::key}) {
      RotaryTable<double> table(enc, seq, head_dim, role);
      std::vector<double> c(seq * half), s(seq * half);
      table.run(Impl::simd, 2, c.data(), s.data());
      for (Impl impl : {Impl::reference, Impl::simd}) {
        std::vector<double> y = x;
        rotate(impl, 2, y.data(), y.data(), seq, heads, head_dim, head_dim, pairing, c.data(),
               s.data());
        for (int64_t p = 0; p < seq; ++p)
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < half; ++i) {
              const long double m =
                  kernel_test::TestRotary::coefficient_magnitude(p, i, half, role);
              const long double angle = (long double)p * frequency(10000.0L, i, head_dim);
              const bool il = pairing == RotaryPairing::interleaved;
              const int64_t off = (p * heads + h) * head_dim;
              const int64_t ia = off + (il ? 2 * i : i), ib = off + (il ? 2 * i + 1 : i + half);
              const long double a = x[size_t(ia)], b = x[size_t(ib)];
              EXPECT_NEAR(y[size_t(ia)], double(m * (a * std::cos(angle) - b * std::sin(angle))),
                          1e-12);
              EXPECT_NEAR(y[size_t(ib)], double(m * (a * std::sin(angle) + b * std::cos(angle))),
                          1e-12);
            }
      }
    }
  }
}

TEST(KernelAxpy, OddSizesUnalignedAndThreads) {
  for (int64_t n : {1, 7, 1000, 4099})
    for (Impl impl : {Impl::reference, Impl::simd})
      for (int threads : {1, 2}) {
        Unaligned<float> x(n), y(n), d(n);
        fill_normal(x.data(), n, "axpy/x");
        fill_normal(y.data(), n, "axpy/y");
        axpy(impl, threads, d.data(), x.data(), y.data(), n, -0.5f);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_FLOAT_EQ(d[i], float(double(x[i]) - 0.5 * double(y[i]))) << n << " " << i;
        const std::vector<float> x0(x.data(), x.data() + n);
        axpy(impl, threads, x.data(), x.data(), y.data(), n, 2.0f);  // in place
        for (int64_t i = 0; i < n; ++i)
          ASSERT_FLOAT_EQ(x[i], float(double(x0[size_t(i)]) + 2.0 * double(y[i]))) << i;
      }
}

}  // namespace
}  // namespace posbench::kernels
