#pragma once
// The operations the speed experiment measures, for any registered scheme, in two
// implementations:
//   reference : plain scalar loops (reference.h), the correctness oracle;
//   simd      : xsimd kernels with runtime ISA dispatch (simd.h).
// Both thread with OpenMP over rows, num_threads(threads) exactly.
//
// Schemes with a closed form (Encoder::angular_form: sinusoidal, RoPE without length-dependent
// scaling) get vectorised tables; bias schemes with bias_is_relative() get one distance row per
// head. Every other scheme takes the generic path: its own float64 method fills a scratch buffer,
// which the implementation converts / applies (so every scheme in the registry works).
//
// Objects here allocate all their scratch in the constructor (pre-faulted Buffers); run calls
// never allocate. All sequences are positions 0..seq-1. scratch_bytes() counts are computed with
// overflow checks (encoders/checked_size.h) and are the largest uint64 if they overflow.
//
// T is float, double or bfloat16 (storage only, harness/kernels/bfloat16.h: computed in
// float32, tables from float64 angles, rounded once on store; a `T scale` is then +-1, exact).
// AttentionOp exists for float and double only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "harness/kernels/buffer.h"
#include "harness/kernels/simd.h"  // the constants and argument structs; no xsimd (simd_arch.h)

namespace posbench::kernels {

enum class Impl { reference, simd };
const char* to_string(Impl impl);

// ---- closed forms
// --------------------------------------------------------------------------------

// An additive table whose columns are sin/cos(p * inv_freq[i]) * magnitude, either interleaved
// (sin at 2i, cos at 2i+1) or concatenated (sin at i, cos at i + dim/2).
struct AdditiveForm {
  std::vector<double> inv_freq;
  double magnitude = 1.0;
  bool concat = false;  // AngularForm::columns == SinCosLayout::sin_then_cos
};

// The scheme's angular_form for width `dim`, in the column layout it declares
// (AngularForm::columns), checked against its own additive_table() at a few positions (up to
// seq - 1). std::nullopt (the generic path) when there is no closed form, it states no layout,
// or it does not reproduce the scheme to 1e-9 in that layout; `why` says which.
std::optional<AdditiveForm> additive_closed_form(const Encoder& enc, int64_t seq, int64_t dim,
                                                 std::string* why = nullptr);

// The scheme's angular_form for rotary coefficients, checked against rotary_coefficients() at a
// few positions the same way.
std::optional<Encoder::AngularForm> rotary_closed_form(const Encoder& enc, int64_t seq,
                                                       int64_t head_dim, const RotaryContext& ctx,
                                                       std::string* why = nullptr);

// ---- tables
// --------------------------------------------------------------------------------------

// out[t, :] = PE(t), out: [seq, dim].
template <class T>
class AdditiveTable {
 public:
  AdditiveTable(const Encoder& enc, int64_t seq, int64_t dim);
  void run(Impl impl, int threads, T* out) const;
  bool closed_form() const { return form_.has_value(); }
  const std::string& method() const { return method_; }
  int64_t seq() const { return seq_; }
  int64_t dim() const { return dim_; }
  // Bytes of scratch the constructor allocates.
  static uint64_t scratch_bytes(const Encoder& enc, int64_t seq, int64_t dim);

 private:
  const Encoder& enc_;
  int64_t seq_, dim_;
  std::vector<int64_t> positions_;
  std::optional<AdditiveForm> form_;
  std::vector<double> inv_freq_;  // padded to kTableChunk
  std::string method_;
  Buffer scratch_;  // generic path: the scheme's float64 table [seq, dim]
};

// cos/sin cache of a rotary scheme: cos[t, i], sin[t, i], [seq, rotary_dims(head_dim) / 2], with
// the scheme's magnitude folded in (coefficients as Encoder::rotary_coefficients).
template <class T>
class RotaryTable {
 public:
  RotaryTable(const Encoder& enc, int64_t seq, int64_t head_dim, Role role);
  void run(Impl impl, int threads, T* cos, T* sin) const;
  bool closed_form() const { return form_.has_value(); }
  const std::string& method() const { return method_; }
  int64_t pairs() const { return half_; }
  static uint64_t scratch_bytes(const Encoder& enc, int64_t seq, int64_t head_dim);

 private:
  const Encoder& enc_;
  int64_t seq_, head_dim_, half_;
  RotaryContext ctx_;
  std::vector<int64_t> positions_;
  std::optional<Encoder::AngularForm> form_;
  std::vector<double> inv_freq_;
  std::string method_;
  Buffer scratch_;  // generic path: float64 cos and sin [seq, half] each
};

// ---- apply
// ---------------------------------------------------------------------------------------

// dst[t, h, :] = R(t) src[t, h, :] with the cache of a RotaryTable; dst == src allowed.
template <class T>
void rotate(Impl impl, int threads, const T* src, T* dst, int64_t seq, int64_t heads,
            int64_t head_dim, int64_t rotary_dims, RotaryPairing pairing, const T* cos,
            const T* sin);

// dst = x + scale * y over n elements; dst == x allowed.
template <class T>
void axpy(Impl impl, int threads, T* dst, const T* x, const T* y, int64_t n, T scale);

// ---- bias
// ----------------------------------------------------------------------------------------

template <class T>
class BiasOp {
 public:
  // `max_threads`: the most threads any run will use (sizes per-thread scratch).
  BiasOp(const Encoder& enc, int64_t n, int64_t heads, int max_threads);
  // out[h, i, j] = b_h(i, j), out: [heads, n, n].
  void materialize(Impl impl, int threads, T* out) const;
  // logits[h, i, j] += scale * b_h(i, j).
  void add(Impl impl, int threads, T* logits, T scale) const;
  // Rows r0..r1 against keys 0..ncols, float64: out[h, r - r0, j], [heads, r1 - r0, ncols].
  void block(int64_t r0, int64_t r1, int64_t ncols, double* out) const;
  bool relative() const { return relative_; }
  const T* distance_rows() const { return rel_.as<T>(); }  // [heads, 2n - 1] when relative()
  const std::string& method(Impl impl) const;
  int64_t rows_per_block() const { return block_rows_; }
  static uint64_t scratch_bytes(const Encoder& enc, int64_t n, int64_t heads, int max_threads);

 private:
  void generic(Impl impl, int threads, T* out, bool add, T scale) const;
  const Encoder& enc_;
  int64_t n_, heads_;
  int max_threads_;
  bool relative_;
  int64_t block_rows_;
  std::vector<int64_t> positions_;
  Buffer rel_;      // relative: T [heads, 2n - 1]
  Buffer scratch_;  // generic: float64 [max_threads, heads, block_rows, n]
  std::string method_reference_, method_simd_;
};

// ---- attention
// -----------------------------------------------------------------------------------

// One causal attention head group over positions 0..n-1 with the scheme applied as in a model:
//   none     (enc == nullptr) : plain attention;
//   additive : q + PE and k + PE (identity projections), then attention;
//   rotary   : R(t) q and R(t) k (out of place, cos/sin caches built in the constructor);
//   bias     : materialised: b [heads, n, n] written to `bias_buffer`, then attention reading it;
//              fused: the bias computed inside the logits loop (one distance row per head for
//              relative schemes; the scheme's rows block by block otherwise), never [heads, n, n].
template <class T>
class AttentionOp {
 public:
  AttentionOp(const Encoder* enc, int64_t n, int64_t heads, int64_t head_dim, int max_threads);
  // bias_buffer: [heads, n, n], used by the materialised variant of bias schemes only.
  void run(Impl impl, int threads, bool fused, const T* q, const T* k, const T* v, T* out,
           T* bias_buffer) const;
  // How the scheme enters the attention (for the results).
  std::string method(Impl impl, bool fused) const;
  // Bytes of scratch the constructor allocates (besides q, k, v, out and bias_buffer).
  static uint64_t scratch_bytes(const Encoder* enc, int64_t n, int64_t heads, int64_t head_dim,
                                int max_threads);

 private:
  const Encoder* enc_;
  Family family_ = Family::additive;
  int64_t n_, heads_, head_dim_;
  int max_threads_;
  int64_t rotary_dims_ = 0;
  RotaryPairing pairing_ = RotaryPairing::half;
  Buffer logits_;           // T [max_threads, kAttentionBlock, n]
  Buffer block_bias_;       // float64 [max_threads, heads, kAttentionBlock, n] (non-relative bias)
  Buffer q_work_, k_work_;  // T [n, heads, head_dim] (additive, rotary)
  Buffer pe_;               // T [n, heads * head_dim] (additive)
  Buffer q_cos_, q_sin_, k_cos_, k_sin_;  // T [n, rotary_dims / 2] (rotary)
  std::unique_ptr<BiasOp<T>> bias_;
};

}  // namespace posbench::kernels
