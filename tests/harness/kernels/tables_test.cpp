// Tables (harness/kernels/ops.h AdditiveTable, RotaryTable), every implementation and thread
// count, against values written here from the papers' formulas in long double:
//   sinusoidal (Vaswani et al. 2017): PE(p, 2i) = sin(p base^(-2i/d)), PE(p, 2i+1) = cos(...)
//                                     ("concat": sin in column i, cos in column i + d/2);
//   RoPE (Su et al. 2021): cos/sin(p theta_i), theta_i = base^(-2i/d'), d' = rotated channels.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "harness/kernels/ops.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::frequency;
using kernel_test::make;
using kernel_test::Unaligned;

const std::vector<int64_t> kSeqs = {1, 7, 1000};
const std::vector<int64_t> kDims = {2, 6, 64, 80, 128, 256};
const std::vector<Impl> kImpls = {Impl::reference, Impl::simd};

// Largest error allowed against the long-double formula: float32 tables must hold 2e-6 (the
// issue's bound); float64 tables are computed in float64 throughout.
template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-12;
}

template <class T>
void check_sinusoidal(bool concat) {
  auto enc = make("sinusoidal", {{"layout", concat ? "concat" : "interleaved"}});
  for (int64_t seq : kSeqs)
    for (int64_t dim : kDims) {
      AdditiveTable<T> table(*enc, seq, dim);
      ASSERT_TRUE(table.closed_form()) << table.method();
      const int64_t half = dim / 2;
      for (Impl impl : kImpls)
        for (int threads : {1, 2}) {
          Unaligned<T> out(seq * dim);
          table.run(impl, threads, out.data());
          double err = 0;
          for (int64_t p = 0; p < seq; ++p)
            for (int64_t i = 0; i < half; ++i) {
              const long double angle = (long double)p * frequency(10000.0L, i, dim);
              const T* row = out.data() + p * dim;
              err = std::max(err, double(std::abs(row[concat ? i : 2 * i] - std::sin(angle))));
              err = std::max(
                  err, double(std::abs(row[concat ? i + half : 2 * i + 1] - std::cos(angle))));
            }
          EXPECT_LE(err, tolerance<T>()) << "seq " << seq << " dim " << dim << " "
                                         << to_string(impl) << " threads " << threads;
        }
    }
}

TEST(KernelTables, SinusoidalInterleavedFloat) { check_sinusoidal<float>(false); }
TEST(KernelTables, SinusoidalConcatFloat) { check_sinusoidal<float>(true); }
TEST(KernelTables, SinusoidalInterleavedDouble) { check_sinusoidal<double>(false); }
TEST(KernelTables, SinusoidalConcatDouble) { check_sinusoidal<double>(true); }

template <class T>
void check_rope(double fraction) {
  auto enc = make("rope", {{"rotary_fraction", fraction}, {"base", 500000.0}});
  for (int64_t seq : kSeqs)
    for (int64_t head_dim : kDims) {
      const int64_t rd = int64_t(std::floor(fraction * double(head_dim))) / 2 * 2;
      if (rd < 2) continue;
      RotaryTable<T> table(*enc, seq, head_dim, Role::query);
      ASSERT_TRUE(table.closed_form()) << table.method();
      const int64_t half = rd / 2;
      ASSERT_EQ(table.pairs(), half);
      for (Impl impl : kImpls)
        for (int threads : {1, 2}) {
          Unaligned<T> c(seq * half), s(seq * half);
          table.run(impl, threads, c.data(), s.data());
          double err = 0;
          for (int64_t p = 0; p < seq; ++p)
            for (int64_t i = 0; i < half; ++i) {
              const long double angle = (long double)p * frequency(500000.0L, i, rd);
              err = std::max(err, double(std::abs(c[p * half + i] - std::cos(angle))));
              err = std::max(err, double(std::abs(s[p * half + i] - std::sin(angle))));
            }
          EXPECT_LE(err, tolerance<T>()) << "seq " << seq << " head_dim " << head_dim << " "
                                         << to_string(impl) << " threads " << threads;
        }
    }
}

TEST(KernelTables, RopeFloat) { check_rope<float>(1.0); }
TEST(KernelTables, RopeDouble) { check_rope<double>(1.0); }
TEST(KernelTables, RopePartialRotationFloat) { check_rope<float>(0.5); }
TEST(KernelTables, RopePartialRotationDouble) { check_rope<double>(0.5); }

// The accuracy bound at the positions that matter most: up to p = 8191 the highest
// frequency (theta_0 = 1) turns 8191 radians, so a float32 angle (ulp 1e-3 there) would be
// useless; the kernel reduces in float64 first.
TEST(KernelTables, Float32AccuracyUpToPosition8191) {
  auto enc = make("sinusoidal");
  const int64_t seq = 8192, dim = 128;
  AdditiveTable<float> table(*enc, seq, dim);
  for (Impl impl : kImpls) {
    std::vector<float> out(size_t(seq * dim));
    table.run(impl, 2, out.data());
    double err = 0;
    for (int64_t p = 0; p < seq; ++p)
      for (int64_t i = 0; i < dim / 2; ++i) {
        const long double angle = (long double)p * frequency(10000.0L, i, dim);
        err = std::max(err, double(std::abs(out[size_t(p * dim + 2 * i)] - std::sin(angle))));
        err = std::max(err, double(std::abs(out[size_t(p * dim + 2 * i + 1)] - std::cos(angle))));
      }
    EXPECT_LE(err, 2e-6) << to_string(impl);
    // Not trivially met: the float32 rounding alone is up to 6e-8.
    EXPECT_GT(err, 1e-9) << to_string(impl);
  }
}

// simd against reference, and 1 thread against 2: the same numbers.
TEST(KernelTables, SimdMatchesReferenceAndThreadsAgree) {
  auto enc = make("rope", {{"layout", "interleaved"}});
  const int64_t seq = 1000, head_dim = 80;
  RotaryTable<float> table(*enc, seq, head_dim, Role::key);
  const int64_t n = seq * table.pairs();
  std::vector<float> c_ref(static_cast<size_t>(n)), s_ref(static_cast<size_t>(n)),
      c1(static_cast<size_t>(n)), s1(static_cast<size_t>(n)), c2(static_cast<size_t>(n)),
      s2(static_cast<size_t>(n));
  table.run(Impl::reference, 1, c_ref.data(), s_ref.data());
  table.run(Impl::simd, 1, c1.data(), s1.data());
  table.run(Impl::simd, 2, c2.data(), s2.data());
  for (int64_t k = 0; k < n; ++k) {
    ASSERT_NEAR(c1[size_t(k)], c_ref[size_t(k)], 1e-6) << k;
    ASSERT_NEAR(s1[size_t(k)], s_ref[size_t(k)], 1e-6) << k;
    ASSERT_EQ(c1[size_t(k)], c2[size_t(k)]) << k;
    ASSERT_EQ(s1[size_t(k)], s2[size_t(k)]) << k;
  }
}

// A scheme without a closed form takes the generic path: its own float64 values, rounded.
TEST(KernelTables, GenericRotaryPathUsesTheSchemesCoefficients) {
  const kernel_test::TestRotary enc(RotaryPairing::half);
  const int64_t seq = 7, head_dim = 6, half = 3;
  for (Role role : {Role::query, Role::key}) {
    RotaryTable<double> table(enc, seq, head_dim, role);
    EXPECT_FALSE(table.closed_form());
    for (Impl impl : kImpls)
      for (int threads : {1, 2}) {
        std::vector<double> c(seq * half), s(seq * half);
        table.run(impl, threads, c.data(), s.data());
        for (int64_t p = 0; p < seq; ++p)
          for (int64_t i = 0; i < half; ++i) {
            const long double m = kernel_test::TestRotary::coefficient_magnitude(p, i, half, role);
            const long double angle = (long double)p * frequency(10000.0L, i, head_dim);
            EXPECT_NEAR(c[p * half + i], double(m * std::cos(angle)), 1e-14);
            EXPECT_NEAR(s[p * half + i], double(m * std::sin(angle)), 1e-14);
          }
      }
  }
}

TEST(KernelTables, GenericAdditivePathForALearnedTable) {
  auto enc = make("learned", {{"max_len", 16}, {"seed", 3}});
  const int64_t seq = 7, dim = 6;
  AdditiveTable<float> table(*enc, seq, dim);
  EXPECT_FALSE(table.closed_form());
  // W = 0.02 * N(0, 1) draws of Rng(3, "learned/table"), row-major [max_len, dim].
  Rng rng(3, "learned/table");
  const std::vector<double> w = rng.normal_vector(16 * dim, 0.02);
  for (Impl impl : kImpls)
    for (int threads : {1, 2}) {
      Unaligned<float> out(seq * dim);
      table.run(impl, threads, out.data());
      for (int64_t k = 0; k < seq * dim; ++k) EXPECT_EQ(out[k], float(w[size_t(k)])) << k;
    }
}

}  // namespace
}  // namespace posbench::kernels
