#pragma once
// Definitions of the SIMD kernels declared in simd_arch.h. Included ONLY by the per-ISA
// translation units harness/kernels/isa/kernels_<isa>.cpp, each compiled with its own -m flags
// and instantiating every functor for one xsimd architecture.
//
// One binary holds the same source compiled for several instruction sets, so nothing compiled
// here may be shared (by the linker's choice of one copy of an inline function) with code
// compiled for another set:
//  - every helper lives in an anonymous namespace (one private copy per translation unit) or is
//    a template on the xsimd architecture;
//  - Eigen (and two inline helpers of xsimd, see below) are included under private names: the
//    includer defines POSBENCH_EIGEN_NAMESPACE (e.g. posbench_eigen_avx512) and this header
//    maps `Eigen` to it before including <Eigen/Core>, so the AVX-512 GEMM and the baseline
//    GEMM are different symbols (otherwise the linker would pick one of them for the whole
//    program).
// (The ISA test: `nm` of the kernels_<isa>.cpp objects shares no weak symbol with any other
// object file besides __gxx_personality_v0.)
// This header must be the first include of its translation unit.

#ifndef POSBENCH_EIGEN_NAMESPACE
#error "define POSBENCH_EIGEN_NAMESPACE (a private name for Eigen) before including simd_impl.h"
#endif
// xsimd's scalar helpers for huge trigonometric arguments are plain inline functions: renamed
// per translation unit like Eigen, so the linker cannot pick this file's copy for the others.
#define POSBENCH_ISA_CAT2(a, b) a##_##b
#define POSBENCH_ISA_CAT(a, b) POSBENCH_ISA_CAT2(a, b)
#define __ieee754_rem_pio2 POSBENCH_ISA_CAT(POSBENCH_EIGEN_NAMESPACE, ieee754_rem_pio2)
#define __kernel_rem_pio2 POSBENCH_ISA_CAT(POSBENCH_EIGEN_NAMESPACE, kernel_rem_pio2)
// The same for the inline bfloat16 conversions (harness/kernels/bfloat16.h puts them in an inline
// namespace of this name).
#define POSBENCH_BF16_NAMESPACE POSBENCH_ISA_CAT(POSBENCH_EIGEN_NAMESPACE, bf16)

// GCC 12 reports -W(maybe-)uninitialized inside avx512fintrin.h (_mm512_undefined_pd, which is
// uninitialised by design) when Eigen's AVX-512 GEMM inlines it: a false positive, silenced for
// these translation units only. (clang has no -Wmaybe-uninitialized and warns about the name.)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#define Eigen POSBENCH_EIGEN_NAMESPACE
#include <Eigen/Core>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "harness/kernels/attention_impl.h"
#include "harness/kernels/bfloat16.h"
#include "harness/kernels/simd_arch.h"

namespace posbench::kernels {
namespace {

// 2 pi split so that k * kTwoPiHi is exact for k < 2^21 (kTwoPiHi has 32 significant bits):
// x - k * 2 pi is then computed with an error of a few 1e-16 for |x| up to 1.3e7.
constexpr double kTwoPiHi = 0x1.921fb544p+2;
constexpr double kTwoPiLo = 0x1.0b4611a626331p-32;
constexpr double kInvTwoPi = 0.15915494309189535;

template <class T>
struct UintOf;
template <>
struct UintOf<float> {
  using type = uint32_t;
};
template <>
struct UintOf<double> {
  using type = uint64_t;
};

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Rotary widths up to this are expanded per row on the stack (2 x 4 KiB for float64).
constexpr int64_t kMaxExpandedDims = 512;
// How far ahead the memory-bound kernels (rotation, axpy, bias add) and the read probes
// prefetch. Measured in a stand-alone loop rotating float32 [4096, 32, 128] in place next to the
// in-place probe, both prefetching (2 vCPUs, AVX-512, 1 thread): 1 KiB ahead is slower than
// none, 4 KiB gives ~0.95 of the probe, 8 KiB ~1.0, 16 KiB less again.
constexpr int64_t kRotatePrefetchBytes = 8192;
// Bytes of rows per OpenMP task in the float/double rotation (instead of kRowsPerTask rows):
// longer contiguous runs per thread for the hardware prefetcher. On float32 [4096, 32, 128]
// in place at 2 threads, tasks of 8 rows (128 KiB) gave 0.83-0.87 of the in-place probe (half
// pairing), tasks of 32 rows (512 KiB) 0.94 (same process, alternating runs).
constexpr int64_t kRotateTaskBytes = int64_t(512) << 10;
inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// bfloat16 kernels work through float32 stack buffers of this many elements (pairs for the
// rotation, whose interleaved expansion then fills kMaxExpandedDims).
constexpr int64_t kBf16Block = kMaxExpandedDims / 2;
// The bfloat16 rotation converts whole heads of a row this many elements at a time (16 KiB).
constexpr int64_t kBf16Span = 4096;

// bfloat16 <-> float32 over n elements: plain loops, which GCC vectorises with this file's -m
// flags (zero-extend and shift; the branch-free rounding of to_bfloat16). The buffers never
// alias the bfloat16 data (different types), so no runtime overlap checks.
inline void widen_bf16(const bfloat16* src, float* dst, int64_t n) {
  for (int64_t k = 0; k < n; ++k) dst[k] = to_float(src[k]);
}
inline void narrow_bf16(const float* src, bfloat16* dst, int64_t n) {
  for (int64_t k = 0; k < n; ++k) dst[k] = to_bfloat16(src[k]);
}

// Software prefetch of `bytes` bytes starting at p (memory-bound loops; prefetches never fault,
// so running past the end of an array is harmless).
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
}

// Software prefetch, kRotatePrefetchBytes ahead, of the Bytes bytes a vector loop is about to
// load from p: one instruction per 64 bytes, or one per vector for vectors narrower than a line
// (SSE, AVX2: the same line then gets 2-4 prefetches, which cost little), a compile-time count,
// so it is unrolled into the loop next to the loads. Rotary widths narrower than one loop step
// and scalar tails get no software prefetch (the hardware prefetcher still sees the stream).
// Why not a prefetch loop once per head: calling the rotation of float32 [4096, 32, 128] in
// place (half pairing, AVX-512, 2 vCPUs) directly, each variant run straight after the in-place
// probe in one process, the per-head prefetch loop gave 0.91-0.93 of the probe at 1 and 2
// threads, these prefetches 0.94-0.96 (no software prefetch: 0.83-0.86). The address is formed
// as an integer: a prefetch never faults, but a pointer past the end of its array is undefined.
template <int64_t Bytes>
__attribute__((always_inline)) inline void prefetch_lines_ahead(const void* p) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p) + uintptr_t(kRotatePrefetchBytes);
  constexpr int64_t lines = Bytes < 64 ? 1 : Bytes / 64;
  for (int64_t k = 0; k < lines; ++k)
    __builtin_prefetch(reinterpret_cast<const void*>(at + uintptr_t(64 * k)), 0, 3);
}

// Lane permutations as xsimd batch constants: swap pairs (1,0,3,2,...), duplicate the low half
// (0,0,1,1,...) and the high half (W/2, W/2, W/2+1, ...).
template <class Arch, class T, std::size_t... I>
constexpr auto pair_swap_mask(std::index_sequence<I...>) {
  using U = typename UintOf<T>::type;
  return xsimd::batch_constant<xsimd::batch<U, Arch>, U(I ^ 1u)...>{};
}
template <class Arch, class T, std::size_t... I>
constexpr auto dup_low_mask(std::index_sequence<I...>) {
  using U = typename UintOf<T>::type;
  return xsimd::batch_constant<xsimd::batch<U, Arch>, U(I / 2)...>{};
}
template <class Arch, class T, std::size_t... I>
constexpr auto dup_high_mask(std::index_sequence<I...>) {
  using U = typename UintOf<T>::type;
  return xsimd::batch_constant<xsimd::batch<U, Arch>, U(sizeof...(I) / 2 + I / 2)...>{};
}

// Causal softmax of one logits row with xsimd: s[j] = scale * s[j] + bias[j] for j < valid,
// then softmax over [0, valid), and s[j] = 0 for j in [valid, width).
template <class Arch, class T>
struct SimdSoftmax {
  using B = xsimd::batch<T, Arch>;
  static constexpr int64_t W = B::size;

  __attribute__((noinline)) static void row(T* s, int64_t valid, int64_t width, T scale,
                                            const T* bias) {
    const B vscale(scale);
    B vmax(-std::numeric_limits<T>::infinity());
    int64_t j = 0;
    for (; j + W <= valid; j += W) {
      const B x = B::load_unaligned(s + j);
      const B v = bias ? vscale * x + B::load_unaligned(bias + j) : vscale * x;
      v.store_unaligned(s + j);
      vmax = xsimd::max(vmax, v);
    }
    alignas(64) T lanes[W];
    vmax.store_aligned(lanes);
    T m = lanes[0];
    for (int64_t k = 1; k < W; ++k) m = lanes[k] > m ? lanes[k] : m;
    for (; j < valid; ++j) {
      const T v = bias ? scale * s[j] + bias[j] : scale * s[j];
      s[j] = v;
      m = v > m ? v : m;
    }
    const B vm(m);
    B vsum(T(0));
    j = 0;
    const B cut(softmax_cutoff<T>());
    auto weight = [&](const B& x) {  // exp(x - m), 0 below the cutoff
      const B d = x - vm;
      return xsimd::select(d < cut, B(T(0)), xsimd::exp(xsimd::max(d, cut)));
    };
    for (; j + W <= valid; j += W) {
      const B e = weight(B::load_unaligned(s + j));
      e.store_unaligned(s + j);
      vsum = vsum + e;
    }
    if (j < valid) {
      // Tail through a padded batch (-inf lanes give 0), so every element goes through the
      // same exp.
      for (int64_t k = 0; k < W; ++k)
        lanes[k] = j + k < valid ? s[j + k] : -std::numeric_limits<T>::infinity();
      const B e = weight(B::load_aligned(lanes));
      e.store_aligned(lanes);
      for (int64_t k = 0; j + k < valid; ++k) s[j + k] = lanes[k];
      vsum = vsum + e;
    }
    const T inv_sum = T(1) / xsimd::hadd(vsum);
    const B inv(inv_sum);
    j = 0;
    for (; j + W <= valid; j += W) (B::load_unaligned(s + j) * inv).store_unaligned(s + j);
    for (; j < valid; ++j) s[j] = s[j] * inv_sum;
    for (j = valid; j < width; ++j) s[j] = T(0);
  }
};

}  // namespace

// ---- IsaName ---------------------------------------------------------------------------------

template <class Arch>
const char* IsaName::operator()(Arch) const {
  return Arch::name();
}

// ---- SincosTable -------------------------------------------------------------------------------
// Angles in float64: x = p * inv_freq[i], k = nearbyint(x / 2 pi), r = (x - k hi) - k lo in
// [-pi, pi] (hi + lo = 2 pi, k hi exact). Then sin/cos of r in C by xsimd::sincos (its own
// Cody-Waite reduction to [-pi/4, pi/4] and minimax polynomials), C = T, or float32 for
// bfloat16 (rounded once on store). For C = float the only errors are r's rounding to float
// (<= 1.2e-7 absolute), xsimd's float sincos (~1 ulp) and the final rounding: well under 1e-6
// for any position below 1.3e7.

template <class Arch, class T>
void SincosTable::operator()(Arch, const SincosTableArgs<T>& a) const {
  using C = compute_t<T>;
  using B = xsimd::batch<C, Arch>;
  using BD = xsimd::batch<double, Arch>;
  constexpr int64_t W = B::size, WD = BD::size;
  static_assert(kTableChunk % W == 0 && W % WD == 0, "chunk must hold whole batches");
  const bool scaled = a.magnitude != 1.0;
  const B mag(C(a.magnitude));
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    alignas(64) double reduced[kTableChunk];
    alignas(64) C angle[kTableChunk];
    alignas(64) C sv[kTableChunk];
    alignas(64) C cv[kTableChunk];
    const BD p(double(a.positions[t]));
    for (int64_t i0 = 0; i0 < a.pairs; i0 += kTableChunk) {
      const int64_t len = min64(kTableChunk, a.pairs - i0);
      const int64_t padded = round_up(len, W);  // inv_freq is zero padded up to kTableChunk
      for (int64_t j = 0; j < padded; j += WD) {
        const BD x = p * BD::load_unaligned(a.inv_freq + i0 + j);
        const BD k = xsimd::nearbyint(x * BD(kInvTwoPi));
        BD r = x - k * BD(kTwoPiHi);
        r = r - k * BD(kTwoPiLo);
        r.store_aligned(reduced + j);
      }
      for (int64_t j = 0; j < padded; ++j) angle[j] = C(reduced[j]);
      for (int64_t j = 0; j < padded; j += W) {
        auto sc = xsimd::sincos(B::load_aligned(angle + j));
        if (scaled) {
          sc.first = sc.first * mag;
          sc.second = sc.second * mag;
        }
        sc.first.store_aligned(sv + j);
        sc.second.store_aligned(cv + j);
      }
      T* so = a.sin_out + t * a.row_stride + i0 * a.elem_stride;
      T* co = a.cos_out + t * a.row_stride + i0 * a.elem_stride;
      if (a.elem_stride == 1) {
        for (int64_t j = 0; j < len; ++j) so[j] = narrow<T>(sv[j]);
        for (int64_t j = 0; j < len; ++j) co[j] = narrow<T>(cv[j]);
      } else if (a.elem_stride == 2 && co == so + 1) {
        for (int64_t j = 0; j < len; ++j) {
          so[2 * j] = narrow<T>(sv[j]);
          so[2 * j + 1] = narrow<T>(cv[j]);
        }
      } else {
        for (int64_t j = 0; j < len; ++j) {
          so[j * a.elem_stride] = narrow<T>(sv[j]);
          co[j * a.elem_stride] = narrow<T>(cv[j]);
        }
      }
    }
  }
}

// ---- Axpy --------------------------------------------------------------------------------------

namespace {

template <class Arch, class T>
void axpy_native(const AxpyArgs<T>& a) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t W = B::size;
  const B sc(a.scale);
  const int64_t chunks = (a.n + kElementsPerTask - 1) / kElementsPerTask;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    int64_t i = chunk * kElementsPerTask;
    const int64_t end = min64(a.n, i + kElementsPerTask);
    constexpr int64_t ahead = kRotatePrefetchBytes / int64_t(sizeof(T));  // as in Rotate
    for (; i + W <= end; i += W) {
      __builtin_prefetch(a.x + i + ahead, 0, 3);
      __builtin_prefetch(a.y + i + ahead, 0, 3);
      (B::load_unaligned(a.x + i) + sc * B::load_unaligned(a.y + i)).store_unaligned(a.dst + i);
    }
    for (; i < end; ++i) a.dst[i] = a.x[i] + a.scale * a.y[i];
  }
}

// bfloat16: blocks of kBf16Block elements widened into float32 buffers, x + scale y in float32,
// rounded once on store (dst == x is fine: a block is read before it is written).
template <class Arch>
void axpy_bf16(const AxpyArgs<bfloat16>& a) {
  const float sc = to_float(a.scale);
  const int64_t chunks = (a.n + kElementsPerTask - 1) / kElementsPerTask;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    alignas(64) float xf[kBf16Block];
    alignas(64) float yf[kBf16Block];
    const int64_t begin = chunk * kElementsPerTask, end = min64(a.n, begin + kElementsPerTask);
    constexpr int64_t ahead = kRotatePrefetchBytes / int64_t(sizeof(bfloat16));  // as in Rotate
    for (int64_t i = begin; i < end; i += kBf16Block) {
      const int64_t len = min64(kBf16Block, end - i);
      prefetch_bytes(a.x + i + ahead, len * int64_t(sizeof(bfloat16)));
      prefetch_bytes(a.y + i + ahead, len * int64_t(sizeof(bfloat16)));
      widen_bf16(a.x + i, xf, len);
      widen_bf16(a.y + i, yf, len);
      for (int64_t k = 0; k < len; ++k) xf[k] = xf[k] + sc * yf[k];
      narrow_bf16(xf, a.dst + i, len);
    }
  }
}

}  // namespace

template <class Arch, class T>
void Axpy::operator()(Arch, const AxpyArgs<T>& a) const {
  if constexpr (std::is_same_v<T, bfloat16>)
    axpy_bf16<Arch>(a);
  else
    axpy_native<Arch, T>(a);
}

// ---- RelativeBias ------------------------------------------------------------------------------

namespace {

template <class Arch, class T>
void relative_bias_native(const RelativeBiasArgs<T>& a) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t W = B::size;
  const int64_t n = a.n;
  const B sc(a.scale);
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t r = 0; r < a.heads * n; ++r) {
    const int64_t h = r / n, i = r % n;
    const T* src = a.rel + h * (2 * n - 1) + (n - 1 - i);
    T* o = a.out + r * n;
    int64_t j = 0;
    if (!a.add) {
      for (; j + W <= n; j += W) B::load_unaligned(src + j).store_unaligned(o + j);
      for (; j < n; ++j) o[j] = src[j];
    } else {
      constexpr int64_t ahead = kRotatePrefetchBytes / int64_t(sizeof(T));  // as in Rotate
      for (; j + W <= n; j += W) {
        __builtin_prefetch(o + j + ahead, 0, 3);
        (B::load_unaligned(o + j) + sc * B::load_unaligned(src + j)).store_unaligned(o + j);
      }
      for (; j < n; ++j) o[j] = o[j] + a.scale * src[j];
    }
  }
}

// bfloat16: materialising copies the bits; adding goes through float32 buffers of kBf16Block
// elements, o + scale rel in float32, rounded once on store.
template <class Arch>
void relative_bias_bf16(const RelativeBiasArgs<bfloat16>& a) {
  const int64_t n = a.n;
  const float sc = to_float(a.scale);
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t r = 0; r < a.heads * n; ++r) {
    const int64_t h = r / n, i = r % n;
    const bfloat16* src = a.rel + h * (2 * n - 1) + (n - 1 - i);
    bfloat16* o = a.out + r * n;
    if (!a.add) {
      std::memcpy(o, src, size_t(n) * sizeof(bfloat16));
    } else {
      alignas(64) float of[kBf16Block];
      alignas(64) float rf[kBf16Block];
      constexpr int64_t ahead = kRotatePrefetchBytes / int64_t(sizeof(bfloat16));  // as in Rotate
      for (int64_t j = 0; j < n; j += kBf16Block) {
        const int64_t len = min64(kBf16Block, n - j);
        prefetch_bytes(o + j + ahead, len * int64_t(sizeof(bfloat16)));
        widen_bf16(o + j, of, len);
        widen_bf16(src + j, rf, len);
        for (int64_t k = 0; k < len; ++k) of[k] = of[k] + sc * rf[k];
        narrow_bf16(of, o + j, len);
      }
    }
  }
}

}  // namespace

template <class Arch, class T>
void RelativeBias::operator()(Arch, const RelativeBiasArgs<T>& a) const {
  if constexpr (std::is_same_v<T, bfloat16>)
    relative_bias_bf16<Arch>(a);
  else
    relative_bias_native<Arch, T>(a);
}

// ---- Convert -----------------------------------------------------------------------------------

template <class Arch, class T>
void Convert::operator()(Arch, const ConvertArgs<T>& a) const {
  // Plain loops: compiled with this file's -m flags they vectorise (vcvtpd2ps for float). The
  // same expressions as the reference, so the results are identical: the add rounds the term to
  // T first (which leaves nothing to contract into a fused multiply-add), then adds in the
  // compute type (float32 for bfloat16) and rounds once more.
  if (!a.add) {
    for (int64_t i = 0; i < a.n; ++i) a.dst[i] = from_double<T>(a.src[i]);
  } else {
    for (int64_t i = 0; i < a.n; ++i)
      a.dst[i] = narrow<T>(widen(a.dst[i]) + widen(from_double<T>(a.scale * a.src[i])));
  }
}

// ---- Attention ---------------------------------------------------------------------------------

template <class Arch, class T>
void Attention::operator()(Arch, const AttentionArgs<T>& a) const {
  attention_impl<T, SimdSoftmax<Arch, T>>(a);
}

// ---- Probe -------------------------------------------------------------------------------------

template <class Arch>
void Probe::operator()(Arch, const ProbeArgs& a) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t W = B::size;
  const B s(a.s);
  const int64_t chunks = (a.n + kElementsPerTask - 1) / kElementsPerTask;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    int64_t i = chunk * kElementsPerTask;
    const int64_t end = min64(a.n, i + kElementsPerTask);
    constexpr int64_t ahead = kRotatePrefetchBytes / int64_t(sizeof(float));
    switch (a.kind) {
      // The read probes prefetch like the memory-bound kernels do (see Rotate), so that a probe
      // is the best this machine does, not a weaker loop the kernels could beat.
      case ProbeKind::inplace:
        for (; i + W <= end; i += W) {
          __builtin_prefetch(a.a + i + ahead, 0, 3);
          (s - B::load_unaligned(a.a + i)).store_unaligned(a.a + i);
        }
        for (; i < end; ++i) a.a[i] = a.s - a.a[i];
        break;
      case ProbeKind::copy:
        for (; i + W <= end; i += W) {
          __builtin_prefetch(a.src + i + ahead, 0, 3);
          B::load_unaligned(a.src + i).store_unaligned(a.a + i);
        }
        for (; i < end; ++i) a.a[i] = a.src[i];
        break;
      case ProbeKind::fill:
        for (; i + W <= end; i += W) s.store_unaligned(a.a + i);
        for (; i < end; ++i) a.a[i] = a.s;
        break;
    }
  }
}

}  // namespace posbench::kernels

// The rotation kernels, the longest part, in a file of their own (same rules as above).
#include "harness/kernels/simd_rotate_impl.h"
