// The SIMD kernels for xsimd::sse4_2. CMake compiles this file with the flags its name selects
// (see CMakeLists.txt: "avx512" -> -mavx512f/cd/dq/bw/vl -mavx2 -mfma, "avx2" -> -mavx2 -mfma,
// "sse4" -> -msse4.2, anything else -> the x86-64 baseline, i.e. SSE2).
#define POSBENCH_EIGEN_NAMESPACE posbench_eigen_sse4
#include "harness/kernels/simd_impl.h"  // must come first: it includes Eigen privately

namespace posbench::kernels {
POSBENCH_KERNELS_FOR_ARCH(, xsimd::sse4_2)
}  // namespace posbench::kernels
