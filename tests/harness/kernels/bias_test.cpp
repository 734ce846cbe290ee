// Bias kernels (harness/kernels/ops.h BiasOp): materialise b [heads, n, n] and add it to logits,
// every implementation and thread count, odd sizes, unaligned outputs, against ALiBi's formula
// (Press et al. 2022) written here: b_h(i, j) = -m_h |i - j|, m_h = 2^(-8(h+1)/H) for H a power
// of two; otherwise the slopes of the nearest lower power of two c followed by the first H - c
// even-indexed slopes of 2c (the paper's code). The simd path uses one distance row per head
// (bias_is_relative); a test scheme that is not relative covers the generic path.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "harness/kernels/ops.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::make;
using kernel_test::Unaligned;

using kernel_test::alibi_slopes;

template <class T>
void check_alibi() {
  auto enc = make("alibi");
  for (int64_t heads : {1, 3, 4})
    for (int64_t n : {1, 7, 100}) {
      const std::vector<double> m = alibi_slopes(heads);
      BiasOp<T> op(*enc, n, heads, 2);
      EXPECT_TRUE(op.relative());
      for (Impl impl : {Impl::reference, Impl::simd})
        for (int threads : {1, 2}) {
          const int64_t size = heads * n * n;
          Unaligned<T> out(size);
          op.materialize(impl, threads, out.data());
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < n; ++i)
              for (int64_t j = 0; j < n; ++j)
                ASSERT_EQ(out[(h * n + i) * n + j], T(-m[size_t(h)] * double(std::abs(i - j))))
                    << to_string(impl) << " heads " << heads << " n " << n << " h " << h << " i "
                    << i << " j " << j;
          // logits += scale * b
          Unaligned<T> logits(size);
          kernel_test::fill_normal(logits.data(), size, "bias_test/logits");
          const std::vector<T> before(logits.data(), logits.data() + size);
          op.add(impl, threads, logits.data(), T(-0.5));
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < n; ++i)
              for (int64_t j = 0; j < n; ++j) {
                const int64_t k = (h * n + i) * n + j;
                const double expected =
                    double(before[size_t(k)]) + 0.5 * m[size_t(h)] * double(std::abs(i - j));
                ASSERT_NEAR(logits[k], expected, (std::is_same_v<T, float> ? 1e-5 : 1e-13)) << k;
              }
        }
    }
}

TEST(KernelBias, AlibiFloat) { check_alibi<float>(); }
TEST(KernelBias, AlibiDouble) { check_alibi<double>(); }

TEST(KernelBias, AlibiDistanceRows) {
  auto enc = make("alibi");
  const int64_t n = 5, heads = 2;
  BiasOp<double> op(*enc, n, heads, 1);
  const std::vector<double> m = alibi_slopes(heads);
  // rel[h, k] = b_h(n - 1, k) = -m_h |n - 1 - k|, k in [0, 2n - 1)
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t k = 0; k < 2 * n - 1; ++k)
      EXPECT_EQ(op.distance_rows()[h * (2 * n - 1) + k],
                -m[size_t(h)] * std::abs(double(n - 1 - k)));
}

template <class T>
void check_generic() {
  const kernel_test::TestBias enc;
  for (int64_t heads : {1, 3})
    for (int64_t n : {1, 7, 100}) {
      BiasOp<T> op(enc, n, heads, 2);
      EXPECT_FALSE(op.relative());
      for (Impl impl : {Impl::reference, Impl::simd})
        for (int threads : {1, 2}) {
          Unaligned<T> out(heads * n * n);
          op.materialize(impl, threads, out.data());
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < n; ++i)
              for (int64_t j = 0; j < n; ++j)
                ASSERT_EQ(out[(h * n + i) * n + j], T(kernel_test::TestBias::value(h, i, j)))
                    << to_string(impl) << " " << h << " " << i << " " << j;
          op.add(impl, threads, out.data(), T(-1));
          for (int64_t k = 0; k < heads * n * n; ++k) ASSERT_EQ(out[k], T(0)) << k;
        }
    }
}

TEST(KernelBias, GenericFloat) { check_generic<float>(); }
TEST(KernelBias, GenericDouble) { check_generic<double>(); }

TEST(KernelBias, RunWithMoreThreadsThanSizedForIsRefused) {
  auto enc = make("alibi");
  BiasOp<float> op(*enc, 4, 2, 1);
  std::vector<float> out(32);
  EXPECT_THROW(op.materialize(Impl::reference, 2, out.data()), std::invalid_argument);
}

}  // namespace
}  // namespace posbench::kernels
