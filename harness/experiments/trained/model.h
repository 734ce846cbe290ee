#pragma once
// The model of trained_extrapolation (libtorch): a decoder-only, pre-LayerNorm transformer with
// causal attention, into which position enters exactly as the scheme's family defines it
// (encoders/encoder.h):
//   additive : x = e_w + PE(p)                        (the table added to the token embeddings)
//   rotary   : q, k of every head of every layer rotated by the scheme's coefficients, queries
//              with Role::query and keys with Role::key (xPos scales them differently)
//   bias     : b_h(i, j) added to the logits of head h in every layer
//   nope     : nothing but the causal mask
// Schemes whose papers train their parameters get trainable counterparts initialised from the
// scheme itself: learned (the table W), t5 (the bucket table T), kerple (r1, r2), fire (the MLP,
// c and L_thr). Every other scheme (plugins included) is frozen: its table / coefficients / bias
// are fetched through the Encoder interface (float64, converted to the model's dtype) and cached
// per length for contiguous positions.
#include "harness/experiments/trained/torch_api.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "encoders/encoder.h"

namespace posbench::trained {

// Positions of a batch: `rows` of equal length T. One row stands for every example of the batch
// (contiguous positions 0..T-1, or a test's explicit positions); otherwise one row per example
// (randomized positions).
struct Positions {
  std::vector<std::vector<int64_t>> rows;
  int64_t length() const { return rows.empty() ? 0 : int64_t(rows[0].size()); }
  static Positions contiguous(int64_t length);
  torch::Tensor tensor() const;  // int64 [R, T]
};

// Which scheme, for building an injector.
struct SchemeRef {
  std::string name;       // registry name ("learned", "t5", ...)
  nlohmann::json params;  // resolved params
  std::shared_ptr<const Encoder> encoder;
};

// Position injection of one scheme (see the header comment). R = rows of the Positions.
class PositionInjector : public torch::nn::Module {
 public:
  virtual Family family() const = 0;
  virtual bool trainable() const = 0;
  virtual bool is_nope() const { return false; }
  // additive: PE [R, T, d_model]
  virtual torch::Tensor table(const Positions& pos);
  // rotary: {cos, sin} [R, T, rotary_dims / 2] for the role
  virtual std::pair<torch::Tensor, torch::Tensor> rotary(const Positions& pos, Role role);
  virtual int64_t rotary_dims() const { return 0; }
  virtual RotaryPairing pairing() const { return RotaryPairing::half; }
  // bias: b [R, heads, T, T], b[r, h, i, j] = b_h(pos[r][i], pos[r][j])
  virtual torch::Tensor bias(const Positions& pos);
};

// The injector for `scheme` at this shape: a trainable counterpart when `trainable` and the scheme
// has one (learned, t5, kerple, fire with init "normal"/"uniform" as applicable), else frozen.
// dtype: the model's (float32; float64 for gradient checks).
std::shared_ptr<PositionInjector> make_injector(const SchemeRef& scheme, int64_t d_model,
                                                int64_t heads, bool trainable,
                                                torch::Dtype dtype = torch::kFloat32);

// Rotates the first 2 * cos.size(-1) channels of x [B, H, T, hd] pairwise with cos, sin
// [R, T, p] (R = 1 or B): (x, y) -> (x c - y s, x s + y c), pairs as `pairing` says.
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, RotaryPairing pairing);

// The real (non-padding) cells of a right-padded batch [B, T]. The position-wise layers
// (LayerNorms, projections, MLP, output head) compute only these; attention pads them back to
// [B, T]. Under the causal mask a real token never attends to the padding after it, so the real
// tokens' outputs are those of the padded computation (up to rounding), for about 60% of the
// work at train_length 8, where padding is ~40% of a training batch's cells.
struct Packing {
  int64_t rows = 0, cols = 0, count = 0;  // B, T, N = the number of real cells
  torch::Tensor real;     // int64 [N]: flat index r * T + t of each real cell, row-major
  torch::Tensor scatter;  // int64 [B * T]: each cell's row in the packed [N, .]; N for padding
  bool dense() const { return count == rows * cols; }
  // Row r holds lengths[r] real cells (its first ones) of cols.
  static Packing of(const std::vector<int64_t>& lengths, int64_t cols);
  static Packing full(int64_t rows, int64_t cols);  // every cell real (real, scatter undefined)
};

struct ModelOptions {
  int64_t vocab = 14, layers = 2, d_model = 64, heads = 4, ff_mult = 4;
  double dropout = 0.0;
};

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelOptions& o);
  // x [N, d]: the real cells of `pack`; rot = {cos_q, sin_q, cos_k, sin_k} or empty (when cos_q,
  // sin_q are the very tensors cos_k, sin_k, q and k are rotated in one op); attn_bias [R, H, T, T]
  // or [T, T]: the scheme's bias (if any) plus the causal mask (0 where j <= i, -inf where j > i),
  // added to the scaled logits. Built once per forward, not per layer. Returns [N, d].
  torch::Tensor forward(const torch::Tensor& x, const Packing& pack,
                        const std::vector<torch::Tensor>& rot, RotaryPairing pairing,
                        const torch::Tensor& attn_bias);

 private:
  int64_t heads_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, out_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(Block);

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(const ModelOptions& o, std::shared_ptr<PositionInjector> position,
                  torch::Dtype dtype = torch::kFloat32);
  // tokens int64 [B, T] -> logits [B, T, vocab]
  torch::Tensor forward(const torch::Tensor& tokens, const Positions& pos);
  // Training's forward: logits [M, vocab] at `wanted` (int64 [M], rows of the packed [N] real
  // cells, e.g. the output tokens), every position-wise layer computed on the real cells only.
  torch::Tensor forward(const torch::Tensor& tokens, const Positions& pos, const Packing& pack,
                        const torch::Tensor& wanted);
  PositionInjector& position() { return *position_; }
  int64_t parameter_count();

 private:
  // The additive causal mask [T, T] (0 where j <= i, -inf where j > i), one per length: masking
  // by adding -inf gives the same logits and gradients as masked_fill, in one op with the bias.
  const torch::Tensor& causal_mask(int64_t T);
  // The last block's output [N, d] on the real cells of `pack`.
  torch::Tensor hidden(const torch::Tensor& tokens, const Positions& pos, const Packing& pack);

  ModelOptions o_;
  torch::Dtype dtype_;
  std::map<int64_t, torch::Tensor> masks_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear head_{nullptr};
  std::shared_ptr<PositionInjector> position_;
};
TORCH_MODULE(Transformer);

}  // namespace posbench::trained
