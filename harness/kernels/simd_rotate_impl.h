#pragma once
// The rotation kernels of simd_impl.h (Rotate::operator() for float, double and bfloat16), kept
// in a file of their own because they are the longest part. Not a header of its own: included
// only at the end of simd_impl.h, whose helpers (min64, prefetch_lines_ahead, widen_bf16, ...)
// and per-ISA naming rules it relies on. Everything here is private to the ISA translation unit
// (anonymous namespace) or a template on the xsimd architecture, as in simd_impl.h.

#ifndef POSBENCH_EIGEN_NAMESPACE
#error "simd_rotate_impl.h is part of simd_impl.h; include that instead"
#endif

namespace posbench::kernels {

// ---- Rotate ------------------------------------------------------------------------------------

namespace {

// The rotation of one head's rotary channels in C (float or double), with xsimd:
//   x, y   : [rd] channels, y == x allowed;
//   c, s   : [rd / 2] the row's cos/sin;
//   cd, sd : [rd] the same expanded by expand() (used for interleaved pairs when `expanded`),
//            64-byte aligned.
template <class Arch, class C>
class RotateRow {
 public:
  using B = xsimd::batch<C, Arch>;
  static constexpr int64_t W = B::size;

  RotateRow() {
    alignas(64) C signs[W];
    for (int64_t k = 0; k < W; ++k) signs[k] = (k & 1) ? C(1) : C(-1);
    sgn_ = B::load_aligned(signs);
  }

  // Interleaved pairs: the row's coefficients are expanded once per row (shared by all heads)
  // to cd = (c0, c0, c1, c1, ...) and sd = (-s0, s0, -s1, s1, ...), [2 half] each, so each head
  // costs one permutation per vector: y = x * cd + swap_pairs(x) * sd.
  void expand(const C* c, const C* s, int64_t half, C* cd, C* sd) const {
    constexpr auto dlo = dup_low_mask<Arch, C>(kSeq);
    constexpr auto dhi = dup_high_mask<Arch, C>(kSeq);
    int64_t i = 0;
    for (; i + W <= half; i += W) {
      const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
      xsimd::swizzle(cc, dlo).store_aligned(cd + 2 * i);
      xsimd::swizzle(cc, dhi).store_aligned(cd + 2 * i + W);
      (xsimd::swizzle(ss, dlo) * sgn_).store_aligned(sd + 2 * i);
      (xsimd::swizzle(ss, dhi) * sgn_).store_aligned(sd + 2 * i + W);
    }
    for (; i < half; ++i) {
      cd[2 * i] = cd[2 * i + 1] = c[i];
      sd[2 * i] = -s[i];
      sd[2 * i + 1] = s[i];
    }
  }

  // Inlined into the head loops (called once per head of a row). `prefetch`: x is in memory
  // (not a stack buffer), so the vector loops prefetch it (prefetch_lines_ahead).
  __attribute__((always_inline)) void operator()(const C* x, C* y, const C* c, const C* s,
                                                 const C* cd, const C* sd, int64_t rd,
                                                 bool interleaved, bool expanded,
                                                 bool prefetch) const {
    constexpr int64_t V = W * int64_t(sizeof(C));  // bytes per vector
    constexpr auto swap = pair_swap_mask<Arch, C>(kSeq);
    constexpr auto dlo = dup_low_mask<Arch, C>(kSeq);
    constexpr auto dhi = dup_high_mask<Arch, C>(kSeq);
    const int64_t half = rd / 2;
    int64_t i = 0;
    if (interleaved && expanded) {
      // One vector per step (four per step, with their four prefetches together, ran ~5%
      // slower at 1 thread; see rotate_native_width).
      int64_t j = 0;
      for (; j + W <= rd; j += W) {
        if (prefetch) prefetch_lines_ahead<V>(x + j);
        const B xv = B::load_unaligned(x + j);
        (xv * B::load_aligned(cd + j) + xsimd::swizzle(xv, swap) * B::load_aligned(sd + j))
            .store_unaligned(y + j);
      }
      for (i = j / 2; i < half; ++i) {
        const C xa = x[2 * i], xb = x[2 * i + 1];
        y[2 * i] = xa * c[i] - xb * s[i];
        y[2 * i + 1] = xb * c[i] + xa * s[i];
      }
    } else if (!interleaved) {
      for (; i + 2 * W <= half; i += 2 * W) {  // two steps at once: more loads in flight
        if (prefetch) {
          prefetch_lines_ahead<2 * V>(x + i);
          prefetch_lines_ahead<2 * V>(x + half + i);
        }
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
        if (prefetch) {
          prefetch_lines_ahead<V>(x + i);
          prefetch_lines_ahead<V>(x + half + i);
        }
        const B xa = B::load_unaligned(x + i), xb = B::load_unaligned(x + half + i);
        const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
        (xa * cc - xb * ss).store_unaligned(y + i);
        (xa * ss + xb * cc).store_unaligned(y + half + i);
      }
      for (; i < half; ++i) {
        const C xa = x[i], xb = x[i + half];
        y[i] = xa * c[i] - xb * s[i];
        y[i + half] = xa * s[i] + xb * c[i];
      }
    } else {
      // W pairs (2W channels) per step: (a, b) -> (a c - b s, b c + a s) as
      // x * dup(c) + swap(x) * (dup(s) * (-1, +1, ...)).
      for (; i + W <= half; i += W) {
        if (prefetch) prefetch_lines_ahead<2 * V>(x + 2 * i);
        const B cc = B::load_unaligned(c + i), ss = B::load_unaligned(s + i);
        const B x0 = B::load_unaligned(x + 2 * i), x1 = B::load_unaligned(x + 2 * i + W);
        const B c0 = xsimd::swizzle(cc, dlo), c1 = xsimd::swizzle(cc, dhi);
        const B s0 = xsimd::swizzle(ss, dlo) * sgn_, s1 = xsimd::swizzle(ss, dhi) * sgn_;
        (x0 * c0 + xsimd::swizzle(x0, swap) * s0).store_unaligned(y + 2 * i);
        (x1 * c1 + xsimd::swizzle(x1, swap) * s1).store_unaligned(y + 2 * i + W);
      }
      for (; i < half; ++i) {
        const C xa = x[2 * i], xb = x[2 * i + 1];
        y[2 * i] = xa * c[i] - xb * s[i];
        y[2 * i + 1] = xb * c[i] + xa * s[i];
      }
    }
  }

 private:
  static constexpr auto kSeq = std::make_index_sequence<std::size_t(W)>{};
  B sgn_;  // (-1, +1, -1, +1, ...)
};

// Software prefetch of the rotary channels kRotatePrefetchBytes ahead of x (a few heads), for
// the bfloat16 rotation's blocks: the loop is memory-bound, and this keeps more cache misses in
// flight than the hardware prefetcher alone. (The float/double rotation prefetches inside
// RotateRow's loops instead, see prefetch_lines_ahead.)
template <class T>
void prefetch_ahead(const T* x, int64_t rotary_dims) {
  prefetch_bytes(reinterpret_cast<const char*>(x) + kRotatePrefetchBytes,
                 rotary_dims * int64_t(sizeof(T)));
}

// float, double: rotated in place in memory, the interleaved coefficients expanded per row.
// One instantiation per pairing (and whether the interleaved coefficients fit the expansion), so
// the loop over heads carries no layout branches; the arguments are copied into each thread
// (firstprivate) rather than read through the shared frame.
template <class Arch, class T, bool Interleaved, bool Expand, int64_t RD>
void rotate_native_layout(const RotateArgs<T>& a) {
  const T* const src = a.src;
  T* const dst = a.dst;
  const T* const cos_table = a.cos;
  const T* const sin_table = a.sin;
  const int64_t rows = a.rows, rd = a.rotary_dims, half = rd / 2, D = a.head_dim, H = a.heads;
  const bool copy_rest = dst != src && rd < D;
  const RotateRow<Arch, T> row;
  const int64_t rows_per_task =
      std::max<int64_t>(1, kRotateTaskBytes / std::max<int64_t>(1, H * D * int64_t(sizeof(T))));
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, rows_per_task) \
    firstprivate(src, dst, cos_table, sin_table, rows, rd, half, D, H, copy_rest, row)
  for (int64_t t = 0; t < rows; ++t) {
    const T* c = cos_table + t * half;
    const T* s = sin_table + t * half;
    alignas(64) T cd[Expand ? kMaxExpandedDims : 1];
    alignas(64) T sd[Expand ? kMaxExpandedDims : 1];
    if constexpr (Expand) row.expand(c, s, half, cd, sd);
    for (int64_t h = 0; h < H; ++h) {
      const T* x = src + (t * H + h) * D;
      T* y = dst + (t * H + h) * D;
      // RD > 0: the width is a compile-time constant here (row() is always inlined).
      row(x, y, c, s, cd, sd, RD > 0 ? RD : rd, Interleaved, Expand, /*prefetch=*/true);
      if (copy_rest)
        for (int64_t j = rd; j < D; ++j) y[j] = x[j];
    }
  }
}

// The common rotary widths get instantiations of their own: with the width known at compile
// time the loops over a head unroll completely. Measured at 1 thread on float32 [4096, 32, 128]
// interleaved in place (AVX-512, run straight after the in-place probe in one process), the same
// loop with a run-time width ran at 0.935 of the probe, with a compile-time one at 0.99.
template <class Arch, class T, bool Interleaved, bool Expand>
void rotate_native_width(const RotateArgs<T>& a) {
  switch (a.rotary_dims) {
    case 64:
      return rotate_native_layout<Arch, T, Interleaved, Expand, 64>(a);
    case 128:
      return rotate_native_layout<Arch, T, Interleaved, Expand, 128>(a);
    default:
      return rotate_native_layout<Arch, T, Interleaved, Expand, 0>(a);
  }
}

template <class Arch, class T>
void rotate_native(const RotateArgs<T>& a) {
  if (!a.interleaved)
    rotate_native_width<Arch, T, false, false>(a);
  else if (a.rotary_dims <= kMaxExpandedDims)
    rotate_native_width<Arch, T, true, true>(a);
  else
    rotate_native_layout<Arch, T, true, false, 0>(a);
}

// bfloat16: per row, the cos/sin are widened to float32 (and expanded, for interleaved pairs)
// once for all heads; the heads are widened into a float32 buffer, rotated there in place by
// the same RotateRow as float and rounded back. Usually whole heads, kBf16Span elements at a
// time, so the conversion loops run long. Rows of more than kBf16Block pairs (or heads wider
// than kBf16Span) go by blocks of pairs [i0, i1): per head xf = [x[i0, i1) | x[half + i0,
// half + i1)] for half pairing (the layout of a row of 2 (i1 - i0) channels), x[2 i0, 2 i1)
// for interleaved pairs, one pass over the heads per block (the row stays in cache).
// Channels past rotary_dims are never rounded (copied as bits out of place).
template <class Arch>
void rotate_bf16(const RotateArgs<bfloat16>& a) {
  const int64_t half = a.rotary_dims / 2, D = a.head_dim, H = a.heads, rd = a.rotary_dims;
  const bool copy_rest = a.dst != a.src && rd < D;
  const bool whole = half <= kBf16Block && D <= kBf16Span;
  const int64_t group = whole ? kBf16Span / D : 1;  // heads per buffer
  const RotateRow<Arch, float> row;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    alignas(64) float cf[kBf16Block];
    alignas(64) float sf[kBf16Block];
    alignas(64) float cd[2 * kBf16Block];
    alignas(64) float sd[2 * kBf16Block];
    alignas(64) float xf[kBf16Span];
    if (whole) {
      widen_bf16(a.cos + t * half, cf, half);
      widen_bf16(a.sin + t * half, sf, half);
      if (a.interleaved) row.expand(cf, sf, half, cd, sd);
      for (int64_t h0 = 0; h0 < H; h0 += group) {
        const int64_t g = min64(group, H - h0), off = (t * H + h0) * D;
        widen_bf16(a.src + off, xf, g * D);
        for (int64_t k = 0; k < g; ++k) {
          // Prefetch the same head of the next group (the next row's after the last group), one
          // head per step: spread out, the prefetches stay within the outstanding misses the
          // core can track instead of stalling it (see prefetch_ahead).
          prefetch_bytes(a.src + off + (g + k) * D, D * int64_t(sizeof(bfloat16)));
          row(xf + k * D, xf + k * D, cf, sf, cd, sd, rd, a.interleaved, true, false);
        }
        if (rd == D)
          narrow_bf16(xf, a.dst + off, g * D);
        else
          for (int64_t k = 0; k < g; ++k) narrow_bf16(xf + k * D, a.dst + off + k * D, rd);
      }
    } else {
      for (int64_t i0 = 0; i0 < half; i0 += kBf16Block) {
        const int64_t len = min64(kBf16Block, half - i0);
        widen_bf16(a.cos + t * half + i0, cf, len);
        widen_bf16(a.sin + t * half + i0, sf, len);
        if (a.interleaved) row.expand(cf, sf, len, cd, sd);
        for (int64_t h = 0; h < H; ++h) {
          const bfloat16* x = a.src + (t * H + h) * D;
          bfloat16* y = a.dst + (t * H + h) * D;
          if (i0 == 0) prefetch_ahead(x, rd);
          if (a.interleaved) {
            widen_bf16(x + 2 * i0, xf, 2 * len);
            row(xf, xf, cf, sf, cd, sd, 2 * len, true, true, false);
            narrow_bf16(xf, y + 2 * i0, 2 * len);
          } else {
            widen_bf16(x + i0, xf, len);
            widen_bf16(x + half + i0, xf + len, len);
            row(xf, xf, cf, sf, cd, sd, 2 * len, false, false, false);
            narrow_bf16(xf, y + i0, len);
            narrow_bf16(xf + len, y + half + i0, len);
          }
        }
      }
    }
    if (copy_rest)
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(a.dst + (t * H + h) * D + rd, a.src + (t * H + h) * D + rd,
                    size_t(D - rd) * sizeof(bfloat16));
  }
}

}  // namespace

template <class Arch, class T>
void Rotate::operator()(Arch, const RotateArgs<T>& a) const {
  if constexpr (std::is_same_v<T, bfloat16>)
    rotate_bf16<Arch>(a);
  else
    rotate_native<Arch, T>(a);
}

}  // namespace posbench::kernels
