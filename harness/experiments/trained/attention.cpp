// Fused softmax attention (see attention.h): forward and backward per (batch row, head) with
// Eigen on blocks mapped in place, parallel over the B * H blocks with torch's intra-op threads.
#include "harness/experiments/trained/attention.h"

#include <ATen/Parallel.h>

#include <Eigen/Core>

namespace posbench::trained {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

template <typename S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename S>
using BlockView = Eigen::Map<Mat<S>, 0, Eigen::OuterStride<>>;
template <typename S>
using ConstBlockView = Eigen::Map<const Mat<S>, 0, Eigen::OuterStride<>>;

// The rows x cols block of a tensor [B, H, rows, cols] (last dim contiguous) at (b, h).
template <typename S>
ConstBlockView<S> block(const Tensor& t, int64_t b, int64_t h) {
  return {t.data_ptr<S>() + b * t.stride(0) + h * t.stride(1), t.size(2), t.size(3),
          Eigen::OuterStride<>(t.stride(2))};
}

// Head h of row b of y [B, T, H * hd]: T x hd with row stride H * hd.
template <typename S>
BlockView<S> head_of(Tensor& y, int64_t b, int64_t h, int64_t hd) {
  return {y.data_ptr<S>() + b * y.stride(0) + h * hd, y.size(1), hd,
          Eigen::OuterStride<>(y.stride(1))};
}
template <typename S>
ConstBlockView<S> head_of(const Tensor& y, int64_t b, int64_t h, int64_t hd) {
  return {y.data_ptr<S>() + b * y.stride(0) + h * hd, y.size(1), hd,
          Eigen::OuterStride<>(y.stride(1))};
}

// bias [T, T], [1, H, T, T] or [B, H, T, T] seen as [B, H, T, T].
template <typename S>
ConstBlockView<S> bias_of(const Tensor& bias, int64_t b, int64_t h) {
  const int64_t T = bias.size(-1);
  if (bias.dim() == 2) return {bias.data_ptr<S>(), T, T, Eigen::OuterStride<>(T)};
  return {bias.data_ptr<S>() + (bias.size(0) == 1 ? 0 : b * bias.stride(0)) + h * bias.stride(1), T,
          T, Eigen::OuterStride<>(T)};
}

template <typename S>
void forward_blocks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias,
                    double scale, Tensor& probs, Tensor& y) {
  const int64_t B = q.size(0), H = q.size(1), hd = q.size(3);
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t b = g / H, h = g % H;
      Mat<S> s = S(scale) * (block<S>(q, b, h) * block<S>(k, b, h).transpose());
      s += bias_of<S>(bias, b, h);
      const auto row_max = s.rowwise().maxCoeff().eval();
      s = (s.colwise() - row_max).array().exp().matrix();  // exp(-inf) = 0: masked keys
      const auto row_sum = s.rowwise().sum().eval();
      s.array().colwise() /= row_sum.array();
      BlockView<S>(probs.data_ptr<S>() + g * s.size(), s.rows(), s.cols(),
                   Eigen::OuterStride<>(s.cols())) = s;
      head_of<S>(y, b, h, hd).noalias() = s * block<S>(v, b, h);
    }
  });
}

template <typename S>
void backward_blocks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs,
                     const Tensor& dy, double scale, Tensor& dq, Tensor& dk, Tensor& dv,
                     Tensor* dscores) {
  const int64_t B = q.size(0), H = q.size(1), hd = q.size(3);
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t b = g / H, h = g % H;
      const ConstBlockView<S> p = block<S>(probs, b, h), dyh = head_of<S>(dy, b, h, hd);
      const ConstBlockView<S> qh = block<S>(q, b, h), kh = block<S>(k, b, h),
                              vh = block<S>(v, b, h);
      BlockView<S>(dv.data_ptr<S>() + g * vh.size(), vh.rows(), hd, Eigen::OuterStride<>(hd))
          .noalias() = p.transpose() * dyh;
      // dS = P * (dP - rowsum(dP * P)), dP = dY V^T (softmax's Jacobian, row by row)
      Mat<S> ds = dyh * vh.transpose();
      const auto dot = (ds.array() * p.array()).rowwise().sum().eval();
      ds = (p.array() * (ds.array().colwise() - dot)).matrix();
      BlockView<S>(dq.data_ptr<S>() + g * qh.size(), qh.rows(), hd, Eigen::OuterStride<>(hd))
          .noalias() = S(scale) * (ds * kh);
      BlockView<S>(dk.data_ptr<S>() + g * kh.size(), kh.rows(), hd, Eigen::OuterStride<>(hd))
          .noalias() = S(scale) * (ds.transpose() * qh);
      if (dscores)
        BlockView<S>(dscores->data_ptr<S>() + g * ds.size(), ds.rows(), ds.cols(),
                     Eigen::OuterStride<>(ds.cols())) = ds;
    }
  });
}

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& bias, double scale) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3);
    Tensor probs = torch::empty({B, H, T, T}, q.options());
    Tensor y = torch::empty({B, T, H * hd}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention",
                               [&] { forward_blocks<scalar_t>(q, k, v, bias, scale, probs, y); });
    ctx->save_for_backward({q, k, v, probs});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["bias_sizes"] = bias.sizes();
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const Tensor dy = grads[0].contiguous();  // [B, T, H * hd]
    const double scale = ctx->saved_data["scale"].toDouble();
    Tensor dq = torch::empty(q.sizes(), q.options()), dk = torch::empty(k.sizes(), k.options()),
           dv = torch::empty(v.sizes(), v.options()), dbias;
    const bool bias_grad = ctx->needs_input_grad(3);
    Tensor dscores = bias_grad ? torch::empty(probs.sizes(), probs.options()) : Tensor();
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention_backward", [&] {
      backward_blocks<scalar_t>(q, k, v, probs, dy, scale, dq, dk, dv,
                                bias_grad ? &dscores : nullptr);
    });
    if (bias_grad) {  // sum over the dimensions the bias was broadcast along
      const auto sizes = ctx->saved_data["bias_sizes"].toIntVector();
      dbias = sizes.size() == 2 ? dscores.sum(std::vector<int64_t>{0, 1})
              : sizes[0] == 1   ? dscores.sum(0, /*keepdim=*/true)
                                : dscores;
    }
    return {dq, dk, dv, dbias, Tensor()};
  }
};

}  // namespace

Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias,
                       double scale) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "fused_attention: q, k, v must be [B, H, T, hd] of one shape");
  TORCH_CHECK(q.stride(3) == 1 && k.stride(3) == 1 && v.stride(3) == 1,
              "fused_attention: the last dimension of q, k, v must be contiguous");
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type() &&
                  bias.scalar_type() == q.scalar_type() && bias.device() == q.device(),
              "fused_attention: q, k, v and bias must have one dtype and device");
  const int64_t T = q.size(2);
  TORCH_CHECK(bias.size(-1) == T && bias.size(-2) == T &&
                  (bias.dim() == 2 || (bias.dim() == 4 && bias.size(1) == q.size(1) &&
                                       (bias.size(0) == 1 || bias.size(0) == q.size(0)))),
              "fused_attention: bias must be [T, T], [1, H, T, T] or [B, H, T, T], got ",
              bias.sizes(), " for q ", q.sizes());
  return FusedAttention::apply(q, k, v, bias.contiguous(), scale);
}

}  // namespace posbench::trained
