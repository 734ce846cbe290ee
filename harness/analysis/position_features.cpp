#include "harness/analysis/position_features.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "harness/analysis/apply.h"
#include "harness/kernels/bfloat16.h"

namespace posbench {

std::vector<ParamSpec> property_common_params(const std::string& positions_description,
                                              const std::string& samples_description) {
  return {
      ParamSpec::integer("dim", 128,
                         "embedding width (additive), head width (rotary), content width (bias)")
          .at_least(2)
          .at_most(65536),
      ParamSpec::integer("heads", 8, "attention heads (bias schemes)").at_least(1).at_most(4096),
      ParamSpec::integer("positions", 1024, positions_description).at_least(2).at_most(1 << 22),
      ParamSpec::integer("samples", 64, samples_description).at_least(1).at_most(1 << 20),
  };
}

std::vector<int64_t> position_range(int64_t begin, int64_t end) {
  std::vector<int64_t> out(size_t(std::max<int64_t>(0, end - begin)));
  std::iota(out.begin(), out.end(), begin);
  return out;
}

RowMatrix position_encodings(const Encoder& enc, std::span<const int64_t> positions, int64_t dim,
                             std::span<const double> u, int64_t seq_len) {
  const int64_t n = int64_t(positions.size());
  RowMatrix P(n, dim);
  switch (enc.family()) {
    case Family::additive:
      enc.additive_table(positions, dim, P.data());
      break;
    case Family::rotary:
      if (int64_t(u.size()) != dim)
        throw std::logic_error("position_encodings: u has the wrong width");
      for (int64_t t = 0; t < n; ++t) std::copy(u.begin(), u.end(), P.row(t).data());
      rotate<double>(enc, positions, 1, dim, RotaryContext{Role::query, seq_len}, P.data());
      break;
    case Family::bias:
      throw std::logic_error("position_encodings: a bias scheme has no per-position vector");
  }
  return P;
}

RowMatrix bias_rows(const Encoder& enc, std::span<const int64_t> q_positions,
                    std::span<const int64_t> keys, int64_t heads) {
  const int64_t n = int64_t(q_positions.size()), k = int64_t(keys.size());
  RowMatrix R(n, heads * k);
  // One query per call: the [heads, 1, K] output is exactly the row layout.
  for (int64_t t = 0; t < n; ++t) enc.bias(q_positions.subspan(t, 1), keys, heads, R.row(t).data());
  return R;
}

void for_each_dot_block(const RowMatrix& A, const RowMatrix& B, int64_t block_rows,
                        const std::function<void(int64_t, const RowMatrix&)>& f) {
  const int64_t rows = A.rows();
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  // Eigen parallelises a product only outside a parallel region with more than one thread, or
  // when its own thread count is above one; inside this region neither holds, so each block's
  // product has the same (sequential) evaluation order whatever the thread count.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * block_rows, nr = std::min(block_rows, rows - r0);
    RowMatrix G(nr, B.rows());
    G.noalias() = A.middleRows(r0, nr) * B.transpose();
    f(r0, G);
  }
}

float round_to_bfloat16(float x) { return kernels::to_float(kernels::to_bfloat16(x)); }

RidgeFit ridge_fit(const RowMatrix& X, const Eigen::VectorXd& y, double ridge) {
  const int64_t d = X.cols();
  const Eigen::RowVectorXd xbar = X.colwise().mean();
  const double ybar = y.mean();
  const Eigen::MatrixXd Xc = X.rowwise() - xbar;
  Eigen::MatrixXd G = Xc.transpose() * Xc;  // [d, d]
  double lambda = ridge * G.trace() / double(d);
  if (!(lambda > 0)) lambda = ridge;
  G.diagonal().array() += lambda;
  const Eigen::VectorXd rhs = Xc.transpose() * (y.array() - ybar).matrix();
  RidgeFit fit;
  fit.w = G.ldlt().solve(rhs);
  fit.b = ybar - xbar.dot(fit.w);
  return fit;
}

void r2_and_rmse(const Eigen::VectorXd& pred, const Eigen::VectorXd& y, double& r2, double& rmse) {
  const double ss_res = (y - pred).squaredNorm();
  const double ss_tot = (y.array() - y.mean()).matrix().squaredNorm();
  // Constant targets: R^2 is undefined (NaN), not -inf.
  r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
  rmse = std::sqrt(ss_res / double(y.size()));
}

}  // namespace posbench
