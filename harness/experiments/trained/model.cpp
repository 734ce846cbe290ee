// The transformer of trained_extrapolation (see model.h for how position enters).
#include "harness/experiments/trained/model.h"

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

Tensor BlockImpl::forward(const Tensor& x, const std::vector<Tensor>& rot, RotaryPairing pairing,
                          const Tensor& bias, const Tensor& mask) {
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2), hd = d / heads_;
  // qkv: [B, T, 3d] -> 3 x [B, H, T, hd]
  const Tensor qkv = qkv_(ln1_(x)).view({B, T, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  Tensor q = qkv[0], k = qkv[1];
  const Tensor v = qkv[2];
  if (!rot.empty()) {
    q = apply_rotary(q, rot[0], rot[1], pairing);
    k = apply_rotary(k, rot[2], rot[3], pairing);
  }
  Tensor logits = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd));  // [B, H, T, T]
  if (bias.defined()) logits = logits + bias;
  logits = logits.masked_fill(mask, -std::numeric_limits<double>::infinity());
  auto drop = [&](const Tensor& t) { return drop_ ? drop_(t) : t; };
  const Tensor att = drop(torch::softmax(logits, -1));
  const Tensor y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, d});
  const Tensor h = x + drop(out_(y));
  return h + drop(fc2_(torch::gelu(fc1_(ln2_(h)))));
}

TransformerImpl::TransformerImpl(const ModelOptions& o, std::shared_ptr<PositionInjector> position,
                                 torch::Dtype dtype)
    : o_(o), position_(std::move(position)) {
  embed_ = register_module("embed", torch::nn::Embedding(o.vocab, o.d_model));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < o.layers; ++l) blocks_->push_back(Block(o));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  head_ = register_module("head", torch::nn::Linear(o.d_model, o.vocab));
  register_module("position", position_);
  to(dtype);
}

Tensor TransformerImpl::forward(const Tensor& tokens, const Positions& pos) {
  const int64_t T = tokens.size(1);
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
      rot = {cq, sq, ck, sk};
      break;
    }
    case Family::bias:
      bias = p.bias(pos);
      break;
  }
  const Tensor mask =
      torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool)).triu(1);  // j > i
  for (const auto& m : *blocks_) x = m->as<Block>()->forward(x, rot, p.pairing(), bias, mask);
  return head_(ln_f_(x));
}

int64_t TransformerImpl::parameter_count() {
  int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

}  // namespace posbench::trained
