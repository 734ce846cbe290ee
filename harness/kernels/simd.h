#pragma once
// SIMD kernels (xsimd 8.1) with runtime dispatch to the widest instruction set the CPU has: their
// arguments and the dispatched entry points (simd.cpp). The kernels themselves are functors
// declared in harness/kernels/simd_arch.h, which (like their definitions, simd_impl.h) includes
// xsimd; this header does not, so the callers of the kernels do not parse it.
//
// Every kernel parallelises with OpenMP over rows (or row chunks) with num_threads(threads)
// exactly (dynamic schedule, see kRowsPerTask), and never allocates: scratch comes from the caller
// (see harness/kernels/ops.h). Pointers need no alignment (all loads/stores are unaligned).
//
// T is float, double or bfloat16 (storage only, harness/kernels/bfloat16.h): the bfloat16
// kernels widen rows or blocks into float32 stack buffers, run the float32 code and round once
// on store. A `T scale` is then a bfloat16 (the callers pass +-1, which is exact). Attention has
// no bfloat16 instantiation.

#include <cstdint>
#include <string>

#include "harness/kernels/bfloat16.h"

namespace posbench::kernels {

// Name of the instruction set the dispatcher picks on this CPU ("avx512bw", "avx2", "sse4.2",
// "sse2").
std::string simd_isa();

// The sin/cos tables process pairs in chunks of this many; `inv_freq` passed to SincosTable
// must be padded with zeros to a multiple of it.
inline constexpr int64_t kTableChunk = 256;

// Block of query rows per attention task.
inline constexpr int64_t kAttentionBlock = 128;

// Work sharing: OpenMP dynamic scheduling in tasks of this many rows (tables, rotation, bias
// rows) or elements (axpy, probes), so a thread slowed by another process on its core takes
// fewer tasks instead of holding up the whole parallel loop.
inline constexpr int64_t kRowsPerTask = 8;
inline constexpr int64_t kElementsPerTask = 65536;

// ---- argument structs ------------------------------------------------------------------------

// For t in [0, rows), i in [0, pairs):
//   angle = positions[t] * inv_freq[i]  (float64, reduced to [-pi, pi] in float64)
//   sin_out[t * row_stride + i * elem_stride] = magnitude * sin(angle)
//   cos_out[t * row_stride + i * elem_stride] = magnitude * cos(angle)
// with sin/cos evaluated by xsimd in T on the reduced angle. elem_stride is 1 or 2.
template <class T>
struct SincosTableArgs {
  const int64_t* positions = nullptr;
  int64_t rows = 0;
  const double* inv_freq = nullptr;  // [round_up(pairs, kTableChunk)], zero padded
  int64_t pairs = 0;
  double magnitude = 1.0;
  T* sin_out = nullptr;
  T* cos_out = nullptr;
  int64_t row_stride = 0;
  int64_t elem_stride = 1;
  int threads = 1;
};

// dst[t, h, :] = R(t) src[t, h, :] for x: [rows, heads, head_dim]; the first rotary_dims
// channels rotate, paired (i, i + rotary_dims/2) or, if interleaved, (2i, 2i+1); the rest are
// copied (when dst != src). cos/sin: [rows, rotary_dims / 2]. dst == src is allowed.
template <class T>
struct RotateArgs {
  const T* src = nullptr;
  T* dst = nullptr;
  int64_t rows = 0, heads = 0, head_dim = 0, rotary_dims = 0;
  bool interleaved = false;
  const T* cos = nullptr;
  const T* sin = nullptr;
  int threads = 1;
};

// dst[i] = x[i] + scale * y[i], i in [0, n). dst == x is allowed.
template <class T>
struct AxpyArgs {
  T* dst = nullptr;
  const T* x = nullptr;
  const T* y = nullptr;
  int64_t n = 0;
  T scale = kOne<T>;
  int threads = 1;
};

// For a bias that depends only on i - j, with rel[h, k] = b_h(n - 1, k), k in [0, 2n - 1):
//   out[h, i, j] = rel[h, n - 1 - i + j]            (add = false: materialise)
//   out[h, i, j] += scale * rel[h, n - 1 - i + j]   (add = true)
// for h in [0, heads), i, j in [0, n).
template <class T>
struct RelativeBiasArgs {
  const T* rel = nullptr;  // [heads, 2n - 1]
  T* out = nullptr;        // [heads, n, n]
  int64_t heads = 0, n = 0;
  bool add = false;
  T scale = kOne<T>;
  int threads = 1;
};

// Single-threaded (called inside the caller's parallel loop):
//   dst[i] = T(src[i]) (add = false) or dst[i] += T(scale * src[i]) (add = true);
// for bfloat16: dst[i] = bf16(src[i]) or bf16(float(dst[i]) + float(bf16(scale * src[i]))),
// each bf16() one rounding from float64 or float32.
template <class T>
struct ConvertArgs {
  const double* src = nullptr;
  T* dst = nullptr;
  int64_t n = 0;
  bool add = false;
  double scale = 1;
};

// How attention gets b_h(i, j).
enum class BiasMode {
  none,          // no bias
  materialized,  // bias: [heads, n, n]
  relative,      // bias: [heads, 2n - 1] distance rows, as RelativeBiasArgs::rel
  blocks,        // block_bias(block_ctx, r0, r1, out) fills out[heads, r1 - r0, r1] (float64)
};

// One causal attention head group, rows at positions 0..n-1:
//   for each head h and query i:  s_j = scale * <q[i, h], k[j, h]> + b_h(i, j),  j <= i;
//   p = softmax(s);  out[i, h] = sum_j p_j v[j, h].
// q, k, v, out: [n, heads, head_dim]. Work is split into (head, block of kAttentionBlock rows)
// tasks (mode `blocks`: blocks of rows, all heads per task); each task computes its logits
// against keys [0, block end) with Eigen, then the causal softmax.
template <class T>
struct AttentionArgs {
  const T* q = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  T* out = nullptr;
  int64_t n = 0, heads = 0, head_dim = 0;
  T scale = kOne<T>;
  BiasMode bias_mode = BiasMode::none;
  const T* bias = nullptr;
  void (*block_bias)(const void* ctx, int64_t r0, int64_t r1, double* out) = nullptr;
  const void* block_ctx = nullptr;
  T* logits_scratch = nullptr;     // [threads, kAttentionBlock + 1, n]
  double* bias_scratch = nullptr;  // [threads, heads, kAttentionBlock, n] (mode blocks only)
  int threads = 1;
};

// Bandwidth probes: a[i] = s - a[i] (in place read+write), dst[i] = src[i] (copy), a[i] = s
// (fill), over n floats.
enum class ProbeKind { inplace, copy, fill };
struct ProbeArgs {
  ProbeKind kind = ProbeKind::inplace;
  float* a = nullptr;
  const float* src = nullptr;
  int64_t n = 0;
  float s = 1.0f;
  int threads = 1;
};

// ---- dispatched entry points (simd.cpp) ---------------------------------------------------------

template <class T>
void simd_sincos_table(const SincosTableArgs<T>& a);
template <class T>
void simd_rotate(const RotateArgs<T>& a);
template <class T>
void simd_axpy(const AxpyArgs<T>& a);
template <class T>
void simd_relative_bias(const RelativeBiasArgs<T>& a);
template <class T>
void simd_convert(const ConvertArgs<T>& a);
template <class T>
void simd_attention(const AttentionArgs<T>& a);
void simd_probe(const ProbeArgs& a);

}  // namespace posbench::kernels
