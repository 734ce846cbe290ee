#pragma once
// Softmax attention of every (batch row, head) as one autograd op (libtorch + Eigen). The
// composition matmul -> scale -> + bias -> softmax -> matmul -> transpose -> reshape is ~10 torch
// ops forward and ~15 backward on tensors of a few KiB at the model's sizes, and torch 1.13's CPU
// bmm runs one BLAS call per (row, head); here each (row, head) is a handful of Eigen products on
// T x hd blocks, with no intermediate tensor but the probabilities kept for backward.
#include "harness/experiments/trained/torch_api.h"

namespace posbench::trained {

// y[b, t, h, :] = sum_j P[b, h, t, j] v[b, h, j, :] with
// P[b, h, t, :] = softmax_j(scale * q[b, h, t, :] . k[b, h, j, :] + bias(b, h, t, j)).
// q, k, v [B, H, T, hd], any strides with the last dimension contiguous; bias [T, T],
// [1, H, T, T] or [B, H, T, T] (made contiguous), -inf where a key is masked (every row needs one
// finite entry). Returns y [B, T, H * hd] (the heads side by side, as the output projection
// reads them). Differentiable in q, k, v and bias; float32 or float64.
torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, const torch::Tensor& bias, double scale);

}  // namespace posbench::trained
