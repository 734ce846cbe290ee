// fused_attention against the composition of torch ops it replaces (matmul, scale, + bias,
// softmax, matmul, transpose, reshape), float64: values and the gradients of q, k, v and of the
// bias in each of its three shapes, on q, k, v that are strided views as the model passes them.
#include <gtest/gtest.h>

#include <limits>

#include "harness/experiments/trained/attention.h"

namespace posbench::trained {
namespace {

using torch::Tensor;

// Largest |a - b| / max(1, |b|).
double largest_scaled_difference(const Tensor& a, const Tensor& b) {
  return ((a - b).abs() / b.abs().clamp_min(1.0)).max().item<double>();
}

// fused vs composed for one dtype, bias shape and scale; `weighted`: the loss weighs every output
// with a random weight (else y.sum(), whose incoming gradient is an expanded, stride-0 tensor).
void compare(torch::Dtype dtype, const std::vector<int64_t>& bias_shape, double scale,
             bool weighted, double tol) {
  const int64_t B = 3, H = 2, T = 5, hd = 4;
  torch::manual_seed(1);
  const auto opts = torch::TensorOptions(dtype);
  const Tensor causal = torch::full({T, T}, -std::numeric_limits<double>::infinity(), opts).triu(1);
  // q, k, v: views of one [B, T, 3, H, hd] tensor, as the model's qkv projection gives them.
  const Tensor qkv_leaf = torch::randn({B, T, 3, H, hd}, opts).requires_grad_();
  const Tensor free_bias = torch::randn(bias_shape, opts).requires_grad_();
  auto inputs = [&] {
    const Tensor qkv = qkv_leaf.permute({2, 0, 3, 1, 4});  // [3, B, H, T, hd]
    return std::vector<Tensor>{qkv[0], qkv[1], qkv[2], free_bias + causal};
  };
  const Tensor weights = torch::randn({B, T, H * hd}, opts);
  auto loss = [&](const Tensor& y) { return weighted ? (y * weights).sum() : y.sum(); };
  auto in = inputs();
  ASSERT_FALSE(in[0].is_contiguous());
  const Tensor fused = fused_attention(in[0], in[1], in[2], in[3], scale);
  loss(fused).backward();
  const Tensor g_qkv = qkv_leaf.grad().clone(), g_bias = free_bias.grad().clone();
  qkv_leaf.grad().zero_(), free_bias.grad().zero_();

  in = inputs();
  const Tensor logits = torch::matmul(in[0], in[1].transpose(-2, -1)) * scale + in[3];
  const Tensor composed =
      torch::matmul(torch::softmax(logits, -1), in[2]).transpose(1, 2).reshape({B, T, H * hd});
  loss(composed).backward();
  const std::string what = std::string(c10::toString(dtype)) + ", bias of " +
                           std::to_string(bias_shape.size()) + " dims, [0] " +
                           std::to_string(bias_shape[0]) + ", scale " + std::to_string(scale) +
                           (weighted ? ", weighted" : ", sum");
  EXPECT_LE(largest_scaled_difference(fused, composed), tol) << what;
  EXPECT_LE(largest_scaled_difference(g_qkv, qkv_leaf.grad()), tol) << what;
  EXPECT_LE(largest_scaled_difference(g_bias, free_bias.grad()), tol) << what;
  EXPECT_GT(qkv_leaf.grad().abs().max().item<double>(), 1e-3) << what;
  EXPECT_GT(free_bias.grad().abs().max().item<double>(), 1e-3) << what;
}

TEST(TrainedAttention, FusedEqualsTheComposedOpsValuesAndGradients) {
  const int64_t B = 3, H = 2, T = 5;
  for (const std::vector<int64_t>& bias_shape :
       {std::vector<int64_t>{T, T}, {1, H, T, T}, {B, H, T, T}}) {
    compare(torch::kDouble, bias_shape, 0.5, true, 1e-12);
    compare(torch::kFloat, bias_shape, 0.5, true, 1e-5);  // the dtype training runs in
    compare(torch::kDouble, bias_shape, 0.5, false, 1e-12);
  }
  // Logits of tens: without subtracting the row maximum, exp would overflow in float32.
  compare(torch::kFloat, {1, H, T, T}, 30.0, true, 1e-4);
  compare(torch::kDouble, {1, H, T, T}, 30.0, true, 1e-10);
}

TEST(TrainedAttention, MaskedKeysGetNoWeight) {
  // One head, T = 3, v = the identity: y's rows are the attention weights themselves.
  const auto f64 = torch::TensorOptions(torch::kDouble);
  const Tensor q = torch::zeros({1, 1, 3, 3}, f64), k = torch::zeros({1, 1, 3, 3}, f64);
  const Tensor v = torch::eye(3, f64).view({1, 1, 3, 3});
  const Tensor causal = torch::full({3, 3}, -std::numeric_limits<double>::infinity(), f64).triu(1);
  const Tensor y = fused_attention(q, k, v, causal, 1.0).view({3, 3});
  const Tensor want =
      torch::tensor({1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 1 / 3.0, 1 / 3.0, 1 / 3.0}, f64).view({3, 3});
  EXPECT_LE(largest_scaled_difference(y, want), 1e-15);
}

}  // namespace
}  // namespace posbench::trained
