#pragma once
// The causal attention loop shared by the reference and SIMD kernels, parameterised by the row
// softmax (scalar or xsimd). Included only by translation units that first include Eigen under a
// private namespace name (see simd_impl.h: "#define Eigen ..."), so each instruction set gets
// its own Eigen GEMM, and everything here has internal linkage (anonymous namespace).
//
// Work split: tasks are (head, block of kAttentionBlock query rows), largest blocks first,
// scheduled dynamically over exactly `threads` OpenMP threads. Each task computes the logits of
// its rows against keys [0, block end) with one Eigen GEMM (Q_blk K^T), adds the bias row and
// applies the causal softmax row by row (keys after the query get probability 0), then one GEMM
// (P V) writes its rows of the output. Eigen itself is kept single-threaded (setNbThreads(1) in
// each private copy), so the thread count is exactly the OpenMP team size.
// The results do not depend on the thread count or on how the bias arrives: every output row is
// computed by one task with the same operations, and the softmax (one non-inlined function per
// element type) always reads the bias as T, so the compiler cannot contract its arithmetic
// differently for different modes.

#include <omp.h>

#include <cstdint>
#include <exception>
#include <type_traits>

#include "harness/kernels/simd.h"

namespace posbench::kernels {
namespace {

// Softmax weights exp(s - max) below exp(cutoff) are set to 0: 2^-48 for float (a row has
// fewer than 2^24 keys, so they change no float result) and 2^-100 for double. Without the
// cutoff, strongly biased rows (ALiBi at long range: s - max down to -2000) produce subnormal
// weights, and subnormal arithmetic in the P V product runs 10-100x slower.
template <class T>
constexpr T softmax_cutoff() {
  return std::is_same_v<T, float> ? T(-33.27106466687737) : T(-69.31471805599453);
}

template <class T, class Softmax>
void attention_head_block(const AttentionArgs<T>& a, int64_t h, int64_t r0, int64_t r1, T* S,
                          const double* block_bias) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
  const int64_t n = a.n, d = a.head_dim, ld = a.heads * a.head_dim, rows = r1 - r0;
  MMap s(S, rows, r1, Eigen::OuterStride<>(r1));
  const CMap q(a.q + r0 * ld + h * d, rows, d, Eigen::OuterStride<>(ld));
  const CMap k(a.k + h * d, r1, d, Eigen::OuterStride<>(ld));
  const CMap v(a.v + h * d, r1, d, Eigen::OuterStride<>(ld));
  s.noalias() = q * k.transpose();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r0 + r;
    T* row = S + r * r1;
    switch (a.bias_mode) {
      case BiasMode::none:
        Softmax::row(row, i + 1, r1, a.scale, static_cast<const T*>(nullptr));
        break;
      case BiasMode::materialized:
        Softmax::row(row, i + 1, r1, a.scale, a.bias + (h * n + i) * n);
        break;
      case BiasMode::relative:
        Softmax::row(row, i + 1, r1, a.scale, a.bias + h * (2 * n - 1) + (n - 1 - i));
        break;
      case BiasMode::blocks: {
        // The scheme's float64 row, rounded to T once (as a materialised bias is), so every
        // mode runs the same softmax code on the same numbers.
        T* converted = S + rows * r1;
        const double* b = block_bias + (h * rows + r) * r1;
        for (int64_t j = 0; j <= i; ++j) converted[j] = T(b[j]);
        Softmax::row(row, i + 1, r1, a.scale, static_cast<const T*>(converted));
        break;
      }
    }
  }
  MMap o(a.out + r0 * ld + h * d, rows, d, Eigen::OuterStride<>(ld));
  o.noalias() = s * v;
}

template <class T, class Softmax>
void attention_impl(const AttentionArgs<T>& a) {
  Eigen::setNbThreads(1);
  const int64_t B = kAttentionBlock, n = a.n, H = a.heads;
  const int64_t nb = (n + B - 1) / B;
  if (a.bias_mode == BiasMode::blocks) {
    // The scheme fills all heads of a block of rows at once.
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, 1)
    for (int64_t task = 0; task < nb; ++task) {
      const int64_t b = nb - 1 - task, r0 = b * B, r1 = r0 + B < n ? r0 + B : n;
      const int tid = omp_get_thread_num();
      double* bias = a.bias_scratch + int64_t(tid) * H * B * n;
      a.block_bias(a.block_ctx, r0, r1, bias);
      for (int64_t h = 0; h < H; ++h)
        attention_head_block<T, Softmax>(a, h, r0, r1,
                                         a.logits_scratch + int64_t(tid) * (B + 1) * n, bias);
    }
    return;
  }
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, 1)
  for (int64_t task = 0; task < nb * H; ++task) {
    const int64_t b = nb - 1 - task / H, h = task % H;
    const int64_t r0 = b * B, r1 = r0 + B < n ? r0 + B : n;
    const int tid = omp_get_thread_num();
    attention_head_block<T, Softmax>(a, h, r0, r1, a.logits_scratch + int64_t(tid) * (B + 1) * n,
                                     nullptr);
  }
}

}  // namespace
}  // namespace posbench::kernels
