#include "harness/analysis/snapshot.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "encoders/rng.h"

namespace posbench {

using nlohmann::json;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<int64_t> evenly_spaced(int64_t count, int64_t n) {
  std::vector<int64_t> out;
  if (count <= 0 || n <= 0) return out;
  if (count <= n) {
    for (int64_t i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  if (n == 1) return {0};
  for (int64_t k = 0; k < n; ++k)
    out.push_back(int64_t(std::llround(double(k) * double(count - 1) / double(n - 1))));
  return out;
}

double round_significant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
  return std::strtod(buf, nullptr);
}

namespace {

json number(double v) { return std::isfinite(v) ? json(round_significant(v, 4)) : json(nullptr); }

// rows x cols of M at the given row and column indices -> [[...], ...] (rounded).
json matrix_json(const RowMat& M, const std::vector<int64_t>& rows,
                 const std::vector<int64_t>& cols) {
  json out = json::array();
  for (int64_t r : rows) {
    json row = json::array();
    for (int64_t c : cols) row.push_back(number(M(r, c)));
    out.push_back(std::move(row));
  }
  return out;
}

// The seed's picture. X: [tokens * P, dim] rows e_w + PE(p), token-major. The two
// eigenvectors of the covariance with the largest eigenvalues, each signed so that its
// largest-magnitude entry is positive (eigenvectors are defined up to sign; this makes the
// picture reproducible), give the coordinates (X - mean) v.
json seed_picture(const RowMat& table, const std::vector<int64_t>& positions, int64_t tokens,
                  uint64_t seed) {
  const int64_t P = table.rows(), dim = table.cols();
  Rng rng(seed, "snapshot/tokens");
  RowMat X(tokens * P, dim);
  json token_of = json::array(), position_of = json::array();
  for (int64_t w = 0; w < tokens; ++w) {
    const std::vector<double> e = rng.normal_vector(dim);
    for (int64_t t = 0; t < P; ++t) {
      for (int64_t c = 0; c < dim; ++c) X(w * P + t, c) = e[size_t(c)] + table(t, c);
      token_of.push_back(w);
      position_of.push_back(positions[size_t(t)]);
    }
  }
  const Eigen::RowVectorXd mean = X.colwise().mean();
  const RowMat Xc = X.rowwise() - mean;
  const Eigen::MatrixXd cov = (Xc.transpose() * Xc) / double(std::max<int64_t>(1, X.rows() - 1));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  const Eigen::VectorXd values = eig.eigenvalues();  // ascending
  const double total = values.sum();
  Eigen::MatrixXd V(dim, 2);
  json ratio = json::array();
  for (int k = 0; k < 2 && k < dim; ++k) {
    Eigen::VectorXd v = eig.eigenvectors().col(dim - 1 - k);
    Eigen::Index arg = 0;
    v.cwiseAbs().maxCoeff(&arg);
    if (v(arg) < 0) v = -v;
    V.col(k) = v;
    ratio.push_back(number(total > 0 ? values(dim - 1 - k) / total : 0.0));
  }
  if (dim < 2) V.col(1).setZero();
  const RowMat coords = Xc * V;  // [tokens * P, 2]
  json points = json::array();
  for (int64_t r = 0; r < coords.rows(); ++r)
    points.push_back({number(coords(r, 0)), number(coords(r, 1))});
  return {{"tokens", tokens},        {"token_std", 1.0}, {"token", token_of},
          {"position", position_of}, {"points", points}, {"explained_variance_ratio", ratio}};
}

}  // namespace

json encoder_snapshot(const Encoder& enc, const SnapshotShape& shape, uint64_t seed,
                      const SnapshotLimits& limits) {
  json out = {{"family", to_string(enc.family())},
              {"dim", shape.dim},
              {"heads", shape.heads},
              {"positions_sampled_from", shape.positions}};
  const std::vector<int64_t> positions = evenly_spaced(shape.positions, limits.max_positions);
  try {
    switch (enc.family()) {
      case Family::additive: {
        RowMat T(int64_t(positions.size()), shape.dim);  // [P, dim]
        enc.additive_table(positions, shape.dim, T.data());
        const std::vector<int64_t> rows = evenly_spaced(T.rows(), T.rows());
        const std::vector<int64_t> cols = evenly_spaced(shape.dim, limits.max_channels);
        out["table"] = {{"positions", positions},
                        {"channels", cols},
                        {"unit", "1"},
                        {"values", matrix_json(T, rows, cols)}};
        out["seed_picture"] = seed_picture(T, positions, limits.seed_tokens, seed);
        break;
      }
      case Family::rotary: {
        const int64_t pairs = enc.rotary_dims(shape.dim) / 2;
        RowMat C(int64_t(positions.size()), pairs), S(int64_t(positions.size()), pairs);
        enc.rotary_coefficients(positions, shape.dim, RotaryContext{}, C.data(), S.data());
        RowMat A(C.rows(), pairs);  // [P, pairs], atan2 is unaffected by a magnitude a > 0
        for (int64_t t = 0; t < A.rows(); ++t)
          for (int64_t i = 0; i < pairs; ++i) A(t, i) = std::atan2(S(t, i), C(t, i));
        const std::vector<int64_t> cols = evenly_spaced(pairs, limits.max_channels);
        out["angles"] = {{"positions", positions},
                         {"pairs", cols},
                         {"unit", "rad"},
                         {"values", matrix_json(A, evenly_spaced(A.rows(), A.rows()), cols)}};
        break;
      }
      case Family::bias: {
        // The first positions, contiguous (not spread): the figure's causal softmax of a row
        // must see every key j <= i to be the attention the bias gives.
        const std::vector<int64_t> pos =
            evenly_spaced(std::min(shape.positions, limits.max_bias_positions), shape.positions);
        const int64_t n = int64_t(pos.size());
        std::vector<double> B(size_t(shape.heads * n * n));  // [heads, n, n]
        enc.bias(pos, pos, shape.heads, B.data());
        json heads = json::array(), maps = json::array();
        for (int64_t h : evenly_spaced(shape.heads, limits.max_bias_heads)) {
          const Eigen::Map<const RowMat> M(B.data() + h * n * n, n, n);
          heads.push_back(h);
          maps.push_back(matrix_json(M, evenly_spaced(n, n), evenly_spaced(n, n)));
        }
        out["bias"] = {{"positions", pos}, {"heads", heads}, {"unit", "logit"}, {"values", maps}};
        break;
      }
    }
  } catch (const UnsupportedPosition& e) {
    out["note"] = std::string("not drawn: ") + e.what();
  }
  return out;
}

}  // namespace posbench
