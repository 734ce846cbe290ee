// Runtime ISA dispatch, the bandwidth probe kernels and pre-faulted buffers.
#include <gtest/gtest.h>

#include <vector>
#include <xsimd/xsimd.hpp>

#include "harness/kernels/buffer.h"
#include "harness/kernels/simd.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

// The dispatcher must pick the widest set of {avx512bw, avx2, sse4.2, sse2} the CPU reports.
TEST(KernelDispatch, PicksTheWidestAvailableInstructionSet) {
  const auto a = xsimd::available_architectures();
  const std::string expected = (a.avx512f && a.avx512cd && a.avx512dq && a.avx512bw) ? "avx512bw"
                               : a.avx2                                              ? "avx2"
                               : a.sse4_2                                            ? "sse4.2"
                                                                                     : "sse2";
  EXPECT_EQ(simd_isa(), expected);
}

TEST(KernelProbe, InPlaceCopyFill) {
  for (int64_t n : {1, 63, 1000, 4097})
    for (int threads : {1, 2}) {
      kernel_test::Unaligned<float> a(n), b(n);
      for (int64_t i = 0; i < n; ++i) a[i] = float(i % 97) - 40.0f;
      ProbeArgs p;
      p.threads = threads;
      p.kind = ProbeKind::inplace;
      p.a = a.data();
      p.n = n;
      p.s = 3.0f;
      simd_probe(p);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(a[i], 3.0f - (float(i % 97) - 40.0f)) << i;
      p.kind = ProbeKind::copy;
      p.src = a.data();
      p.a = b.data();
      simd_probe(p);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(b[i], a[i]) << i;
      p.kind = ProbeKind::fill;
      p.s = -2.5f;
      simd_probe(p);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(b[i], -2.5f) << i;
    }
}

TEST(KernelBuffer, PrefaultedZeroedAndAccounted) {
  const uint64_t before = Buffer::live_bytes();
  {
    Buffer b(3 * 4096 + 5);
    EXPECT_EQ(b.bytes(), size_t(3 * 4096 + 5));
    EXPECT_GE(Buffer::live_bytes(), before + 3 * 4096 + 5);
    EXPECT_GE(Buffer::peak_bytes(), Buffer::live_bytes());
    for (size_t i = 0; i < b.bytes(); ++i) ASSERT_EQ(b.as<unsigned char>()[i], 0) << i;
    Buffer moved = std::move(b);
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(moved.empty());
  }
  EXPECT_EQ(Buffer::live_bytes(), before);
}

}  // namespace
}  // namespace posbench::kernels
