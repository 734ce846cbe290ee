#pragma once
// Definitions of the SIMD kernels declared in simd.h. Included ONLY by the per-ISA translation
// units harness/kernels/isa/kernels_<isa>.cpp, each compiled with its own -m flags and
// instantiating every functor for one xsimd architecture.
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

// GCC 12 reports -W(maybe-)uninitialized inside avx512fintrin.h (_mm512_undefined_pd, which is
// uninitialised by design) when Eigen's AVX-512 GEMM inlines it: a false positive, silenced for
// these translation units only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define Eigen POSBENCH_EIGEN_NAMESPACE
#include <Eigen/Core>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "harness/kernels/attention_impl.h"
#include "harness/kernels/simd.h"

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
// How far ahead the memory-bound kernels (rotation, axpy, bias add) prefetch.
constexpr int64_t kRotatePrefetchBytes = 4096;
inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

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
// [-pi, pi] (hi + lo = 2 pi, k hi exact). Then sin/cos of r in T by xsimd::sincos (its own
// Cody-Waite reduction to [-pi/4, pi/4] and minimax polynomials). For T = float the only errors
// are r's rounding to float (<= 1.2e-7 absolute), xsimd's float sincos (~1 ulp) and the final
// rounding: well under 1e-6 for any position below 1.3e7.

template <class Arch, class T>
void SincosTable::operator()(Arch, const SincosTableArgs<T>& a) const {
  using B = xsimd::batch<T, Arch>;
  using BD = xsimd::batch<double, Arch>;
  constexpr int64_t W = B::size, WD = BD::size;
  static_assert(kTableChunk % W == 0 && W % WD == 0, "chunk must hold whole batches");
  const bool scaled = a.magnitude != 1.0;
  const B mag(T(a.magnitude));
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    alignas(64) double reduced[kTableChunk];
    alignas(64) T angle[kTableChunk];
    alignas(64) T sv[kTableChunk];
    alignas(64) T cv[kTableChunk];
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
      for (int64_t j = 0; j < padded; ++j) angle[j] = T(reduced[j]);
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
        for (int64_t j = 0; j < len; ++j) so[j] = sv[j];
        for (int64_t j = 0; j < len; ++j) co[j] = cv[j];
      } else if (a.elem_stride == 2 && co == so + 1) {
        for (int64_t j = 0; j < len; ++j) {
          so[2 * j] = sv[j];
          so[2 * j + 1] = cv[j];
        }
      } else {
        for (int64_t j = 0; j < len; ++j) {
          so[j * a.elem_stride] = sv[j];
          co[j * a.elem_stride] = cv[j];
        }
      }
    }
  }
}

// ---- Rotate ------------------------------------------------------------------------------------

template <class Arch, class T>
void Rotate::operator()(Arch, const RotateArgs<T>& a) const {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t W = B::size;
  const int64_t half = a.rotary_dims / 2, D = a.head_dim, H = a.heads;
  const bool copy_rest = a.dst != a.src && a.rotary_dims < D;
  constexpr auto seq = std::make_index_sequence<std::size_t(W)>{};
  constexpr auto swap = pair_swap_mask<Arch, T>(seq);
  constexpr auto dlo = dup_low_mask<Arch, T>(seq);
  constexpr auto dhi = dup_high_mask<Arch, T>(seq);
  alignas(64) T signs[W];
  for (int64_t k = 0; k < W; ++k) signs[k] = (k & 1) ? T(1) : T(-1);
  const B sgn = B::load_aligned(signs);
  // Interleaved pairs: the row's coefficients are expanded once per row (shared by all heads)
  // to C = (c0, c0, c1, c1, ...) and S = (-s0, s0, -s1, s1, ...), so each head costs one
  // permutation per vector: y = x * C + swap_pairs(x) * S.
  const bool expand = a.interleaved && a.rotary_dims <= kMaxExpandedDims;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    const T* c = a.cos + t * half;
    const T* s = a.sin + t * half;
    alignas(64) T cd[kMaxExpandedDims];
    alignas(64) T sd[kMaxExpandedDims];
    if (expand) {
      int64_t i = 0;
      for (; i + W <= half; i += W) {
        const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
        xsimd::swizzle(cc, dlo).store_aligned(cd + 2 * i);
        xsimd::swizzle(cc, dhi).store_aligned(cd + 2 * i + W);
        (xsimd::swizzle(ss, dlo) * sgn).store_aligned(sd + 2 * i);
        (xsimd::swizzle(ss, dhi) * sgn).store_aligned(sd + 2 * i + W);
      }
      for (; i < half; ++i) {
        cd[2 * i] = cd[2 * i + 1] = c[i];
        sd[2 * i] = -s[i];
        sd[2 * i + 1] = s[i];
      }
    }
    for (int64_t h = 0; h < H; ++h) {
      const T* x = a.src + (t * H + h) * D;
      T* y = a.dst + (t * H + h) * D;
      // Software prefetch of the data kRotatePrefetchBytes ahead (a few heads): the loop is
      // memory-bound, and this keeps more cache misses in flight than the hardware prefetcher
      // alone (+10-15% on the in-place rotation of a [4096, 32, 128] tensor). Prefetches never
      // fault, so running past the end of the tensor is harmless.
      {
        const char* ahead = reinterpret_cast<const char*>(x) + kRotatePrefetchBytes;
        const int64_t bytes = a.rotary_dims * int64_t(sizeof(T));
        for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(ahead + off, 0, 3);
      }
      int64_t i = 0;
      if (expand) {
        // Four vectors per step: more loads in flight (this loop is memory-bound).
        const int64_t rd = a.rotary_dims;
        int64_t j = 0;
        for (; j + 4 * W <= rd; j += 4 * W) {
          const B x0 = B::load_unaligned(x + j), x1 = B::load_unaligned(x + j + W);
          const B x2 = B::load_unaligned(x + j + 2 * W), x3 = B::load_unaligned(x + j + 3 * W);
          (x0 * B::load_aligned(cd + j) + xsimd::swizzle(x0, swap) * B::load_aligned(sd + j))
              .store_unaligned(y + j);
          (x1 * B::load_aligned(cd + j + W) +
           xsimd::swizzle(x1, swap) * B::load_aligned(sd + j + W))
              .store_unaligned(y + j + W);
          (x2 * B::load_aligned(cd + j + 2 * W) +
           xsimd::swizzle(x2, swap) * B::load_aligned(sd + j + 2 * W))
              .store_unaligned(y + j + 2 * W);
          (x3 * B::load_aligned(cd + j + 3 * W) +
           xsimd::swizzle(x3, swap) * B::load_aligned(sd + j + 3 * W))
              .store_unaligned(y + j + 3 * W);
        }
        for (; j + W <= rd; j += W) {
          const B xv = B::load_unaligned(x + j);
          (xv * B::load_aligned(cd + j) + xsimd::swizzle(xv, swap) * B::load_aligned(sd + j))
              .store_unaligned(y + j);
        }
        for (i = j / 2; i < half; ++i) {
          const T xa = x[2 * i], xb = x[2 * i + 1];
          y[2 * i] = xa * c[i] - xb * s[i];
          y[2 * i + 1] = xb * c[i] + xa * s[i];
        }
      } else if (!a.interleaved) {
        for (; i + 2 * W <= half; i += 2 * W) {  // two steps at once: more loads in flight
          const B xa0 = B::load_unaligned(x + i), xb0 = B::load_unaligned(x + half + i);
          const B xa1 = B::load_unaligned(x + i + W), xb1 = B::load_unaligned(x + half + i + W);
          const B c0 = B::load_unaligned(c + i), s0 = B::load_unaligned(s + i);
          const B c1 = B::load_unaligned(c + i + W), s1 = B::load_unaligned(s + i + W);
          (xa0 * c0 - xb0 * s0).store_unaligned(y + i);
          (xa0 * s0 + xb0 * c0).store_unaligned(y + half + i);
          (xa1 * c1 - xb1 * s1).store_unaligned(y + i + W);
          (xa1 * s1 + xb1 * c1).store_unaligned(y + half + i + W);
        }
        for (; i + W <= half; i += W) {
          const B xa = B::load_unaligned(x + i), xb = B::load_unaligned(x + half + i);
          const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
          (xa * cc - xb * ss).store_unaligned(y + i);
          (xa * ss + xb * cc).store_unaligned(y + half + i);
        }
        for (; i < half; ++i) {
          const T xa = x[i], xb = x[i + half];
          y[i] = xa * c[i] - xb * s[i];
          y[i + half] = xa * s[i] + xb * c[i];
        }
      } else {
        // W pairs (2W channels) per step: (a, b) -> (a c - b s, b c + a s) as
        // x * dup(c) + swap(x) * (dup(s) * (-1, +1, ...)).
        for (; i + W <= half; i += W) {
          const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
          const B x0 = B::load_unaligned(x + 2 * i), x1 = B::load_unaligned(x + 2 * i + W);
          const B c0 = xsimd::swizzle(cc, dlo), c1 = xsimd::swizzle(cc, dhi);
          const B s0 = xsimd::swizzle(ss, dlo) * sgn, s1 = xsimd::swizzle(ss, dhi) * sgn;
          (x0 * c0 + xsimd::swizzle(x0, swap) * s0).store_unaligned(y + 2 * i);
          (x1 * c1 + xsimd::swizzle(x1, swap) * s1).store_unaligned(y + 2 * i + W);
        }
        for (; i < half; ++i) {
          const T xa = x[2 * i], xb = x[2 * i + 1];
          y[2 * i] = xa * c[i] - xb * s[i];
          y[2 * i + 1] = xb * c[i] + xa * s[i];
        }
      }
      if (copy_rest)
        for (int64_t j = a.rotary_dims; j < D; ++j) y[j] = x[j];
    }
  }
}

// ---- Axpy --------------------------------------------------------------------------------------

template <class Arch, class T>
void Axpy::operator()(Arch, const AxpyArgs<T>& a) const {
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

// ---- RelativeBias ------------------------------------------------------------------------------

template <class Arch, class T>
void RelativeBias::operator()(Arch, const RelativeBiasArgs<T>& a) const {
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

// ---- Convert -----------------------------------------------------------------------------------

template <class Arch, class T>
void Convert::operator()(Arch, const ConvertArgs<T>& a) const {
  // Plain loops: compiled with this file's -m flags they vectorise (vcvtpd2ps for float).
  if (!a.add) {
    for (int64_t i = 0; i < a.n; ++i) a.dst[i] = T(a.src[i]);
  } else {
    for (int64_t i = 0; i < a.n; ++i) a.dst[i] = a.dst[i] + T(a.scale * a.src[i]);
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
    switch (a.kind) {
      case ProbeKind::inplace:
        for (; i + W <= end; i += W) (s - B::load_unaligned(a.a + i)).store_unaligned(a.a + i);
        for (; i < end; ++i) a.a[i] = a.s - a.a[i];
        break;
      case ProbeKind::copy:
        for (; i + W <= end; i += W) B::load_unaligned(a.src + i).store_unaligned(a.a + i);
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
