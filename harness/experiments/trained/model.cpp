// The transformer of trained_extrapolation (see model.h for how position enters).
#include "harness/experiments/trained/model.h"

#include "harness/experiments/trained/attention.h"

#include <algorithm>
#include <cmath>

namespace posbench::trained {

using torch::Tensor;

BlockImpl::BlockImpl(const ModelOptions& o) : heads_(o.heads) {
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  qkv_ = register_module("qkv", torch::nn::Linear(o.d_model, 3 * o.d_model));
  out_ = register_module("out", torch::nn::Linear(o.d_model, o.d_model));
  fc1_ = register_module("fc1", torch::nn::Linear(o.d_model, o.ff_mult * o.d_model));
  fc2_ = register_module("fc2", torch::nn::Linear(o.ff_mult * o.d_model, o.d_model));
  // Dropout 0 (the default) is no module at all: a Dropout(0) in training mode still draws a mask.
  if (o.dropout > 0) drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
}

namespace {

// [N, c] real cells -> [B * T, c] all cells, zeros at the padding.
Tensor pad(const Tensor& packed, const Packing& pack) {
  if (pack.dense()) return packed;
  return torch::cat({packed, packed.new_zeros({1, packed.size(1)})}).index_select(0, pack.scatter);
}

// [B * T, c] all cells -> [N, c] real cells.
Tensor unpad(const Tensor& cells, const Packing& pack) {
  return pack.dense() ? cells : cells.index_select(0, pack.real);
}

}  // namespace

Packing Packing::of(const std::vector<int64_t>& lengths, int64_t cols) {
  Packing p;
  p.rows = int64_t(lengths.size()), p.cols = cols;
  std::vector<int64_t> real, scatter(size_t(p.rows * cols), -1);
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t t = 0; t < lengths[size_t(r)]; ++t) {
      scatter[size_t(r * cols + t)] = int64_t(real.size());
      real.push_back(r * cols + t);
    }
  p.count = int64_t(real.size());
  std::replace(scatter.begin(), scatter.end(), int64_t(-1), p.count);  // padding: the zero row
  p.real = torch::tensor(real, torch::kLong);
  p.scatter = torch::tensor(scatter, torch::kLong);
  return p;
}

Packing Packing::full(int64_t rows, int64_t cols) {
  return {rows, cols, rows * cols, {}, {}};  // dense: pad() and unpad() never read the indices
}

Tensor BlockImpl::forward(const Tensor& x, const Packing& pack, const std::vector<Tensor>& rot,
                          RotaryPairing pairing, const Tensor& attn_bias) {
  const int64_t B = pack.rows, T = pack.cols, d = x.size(1), hd = d / heads_;
  // qkv: [N, 3d] -> [B, T, 3d] -> 3 x [B, H, T, hd]
  const Tensor qkv = pad(qkv_(ln1_(x)), pack).view({B, T, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  Tensor q = qkv[0], k = qkv[1];
  const Tensor v = qkv[2];
  if (!rot.empty() && rot[0].is_same(rot[2]) && rot[1].is_same(rot[3])) {
    // Same coefficients for both roles (every scheme but xPos): [2, B, H, T, hd] in one rotation.
    const Tensor qk = apply_rotary(qkv.narrow(0, 0, 2), rot[0], rot[1], pairing);
    q = qk[0], k = qk[1];
  } else if (!rot.empty()) {
    q = apply_rotary(q, rot[0], rot[1], pairing);
    k = apply_rotary(k, rot[2], rot[3], pairing);
  }
  auto drop = [&](const Tensor& t) { return drop_ ? drop_(t) : t; };
  Tensor y;                      // [B * T, d]
  if (drop_ && is_training()) {  // dropout on the attention weights: the op-by-op composition
    // [B, H, T, T]; masked entries are -inf after the add, so softmax gives them weight 0.
    const Tensor logits = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd)) + attn_bias;
    const Tensor att = drop(torch::softmax(logits, -1));
    y = torch::matmul(att, v).transpose(1, 2).reshape({B * T, d});
  } else {
    y = fused_attention(q, k, v, attn_bias, 1.0 / std::sqrt(double(hd))).view({B * T, d});
  }
  y = unpad(y, pack);
  const Tensor h = x + drop(out_(y));
  return h + drop(fc2_(torch::gelu(fc1_(ln2_(h)))));
}

TransformerImpl::TransformerImpl(const ModelOptions& o, std::shared_ptr<PositionInjector> position,
                                 torch::Dtype dtype)
    : o_(o), dtype_(dtype), position_(std::move(position)) {
  embed_ = register_module("embed", torch::nn::Embedding(o.vocab, o.d_model));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < o.layers; ++l) blocks_->push_back(Block(o));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  head_ = register_module("head", torch::nn::Linear(o.d_model, o.vocab));
  register_module("position", position_);
  to(dtype);
}

Tensor TransformerImpl::forward(const Tensor& tokens, const Positions& pos) {
  const int64_t B = tokens.size(0), T = tokens.size(1);
  return head_(ln_f_(hidden(tokens, pos, Packing::full(B, T)))).view({B, T, o_.vocab});
}

Tensor TransformerImpl::forward(const Tensor& tokens, const Positions& pos, const Packing& pack,
                                const Tensor& wanted) {
  return head_(ln_f_(hidden(tokens, pos, pack).index_select(0, wanted)));  // LayerNorm: per row
}

Tensor TransformerImpl::hidden(const Tensor& tokens, const Positions& pos, const Packing& pack) {
  const int64_t B = tokens.size(0), T = tokens.size(1);
  Tensor x = embed_(tokens);  // [B, T, d]
  PositionInjector& p = *position_;
  std::vector<Tensor> rot;
  Tensor bias;
  switch (p.family()) {
    case Family::additive:
      if (!p.is_nope()) x = x + p.table(pos);  // [R, T, d], R = 1 or B
      break;
    case Family::rotary: {
      auto [cq, sq] = p.rotary(pos, Role::query);
      auto [ck, sk] = p.rotary(pos, Role::key);
      // Equal frozen coefficients for both roles (all but xPos): pass the query's for both, so
      // each block rotates q and k in one op. Never for tensors with a gradient: equal values
      // need not have equal derivatives.
      if (!cq.requires_grad() && !sq.requires_grad() && !ck.requires_grad() &&
          !sk.requires_grad() && torch::equal(cq, ck) && torch::equal(sq, sk))
        ck = cq, sk = sq;
      rot = {cq, sq, ck, sk};
      break;
    }
    case Family::bias:
      bias = p.bias(pos);
      break;
  }
  const Tensor& mask = causal_mask(T);
  const Tensor attn_bias = bias.defined() ? bias + mask : mask;  // [R, H, T, T] or [T, T]
  x = unpad(x.reshape({B * T, x.size(2)}), pack);                // [N, d]
  for (const auto& m : *blocks_) x = m->as<Block>()->forward(x, pack, rot, p.pairing(), attn_bias);
  return x;
}

const Tensor& TransformerImpl::causal_mask(int64_t T) {
  Tensor& m = masks_[T];
  if (!m.defined())
    m = torch::full({T, T}, -std::numeric_limits<double>::infinity(), torch::TensorOptions(dtype_))
            .triu(1);  // j > i
  return m;
}

int64_t TransformerImpl::parameter_count() {
  int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

}  // namespace posbench::trained
