#pragma once
// Shared helpers of the property experiments length_extrapolation, position_probe, resolution
// and precision: the common params, "the encoding of position p" for each family, and a
// thread-count-independent blocked pairwise dot product.
//
// The encoding of p (what the probe regresses on, what resolution tells apart):
//   additive : PE(p)                       [dim]
//   rotary   : R(p) u, u a fixed unit vector [dim] (rotated as a query)
//   bias     : the query-side bias row, concatenated over heads:
//              [b_0(p, k_0), ..., b_0(p, k_K-1), b_1(p, k_0), ...]   [heads * K]

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "encoders/params.h"

namespace posbench {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The params every property experiment declares, with the shared defaults (dim 128, heads 8,
// positions 1024, samples 64). The descriptions say what `positions` and `samples` mean in
// the experiment (or that it does not read them).
std::vector<ParamSpec> property_common_params(const std::string& positions_description,
                                              const std::string& samples_description);

// [begin, end) as a vector of positions.
std::vector<int64_t> position_range(int64_t begin, int64_t end);

// Rows [positions.size(), dim]: additive -> PE(p); rotary -> R(p) u with u [dim] (query role,
// RotaryContext::seq_len = seq_len). All positions go to the encoder in one call, so schemes
// whose values depend on the call (learned "interpolate") see one sequence. Throws
// UnsupportedPosition as the encoder does; std::logic_error for a bias scheme.
RowMatrix position_encodings(const Encoder& enc, std::span<const int64_t> positions, int64_t dim,
                             std::span<const double> u, int64_t seq_len);

// Rows [q_positions.size(), heads * keys.size()]: row t = concat over h of b_h(q_t, keys).
RowMatrix bias_rows(const Encoder& enc, std::span<const int64_t> q_positions,
                    std::span<const int64_t> keys, int64_t heads);

// For each block of `block_rows` rows of A (a fixed partition, independent of the thread
// count), computes G = A[r0 : r0 + b] * B^T [b, B.rows()] and calls f(r0, G). Blocks run in
// parallel (OpenMP); Eigen's product is then single-threaded inside each block, so every
// value is bit-identical for any thread count. f must only write per-row output.
void for_each_dot_block(const RowMatrix& A, const RowMatrix& B, int64_t block_rows,
                        const std::function<void(int64_t, const RowMatrix&)>& f);

// A ridge probe y ~ X w + b fit on centred features with lambda = ridge * trace(Xc^T Xc) / d
// (ridge itself when the features are constant: any lambda > 0 then gives w = 0). Used by
// position_probe and embedding_interference. Sequential: inside an OpenMP region the numbers do
// not depend on the thread count.
struct RidgeFit {
  Eigen::VectorXd w;  // [d]
  double b = 0;
  Eigen::VectorXd predict(const RowMatrix& X) const { return (X * w).array() + b; }
};
RidgeFit ridge_fit(const RowMatrix& X, const Eigen::VectorXd& y, double ridge);

// R^2 (NaN for constant targets) and RMSE of predictions `pred` against targets y.
void r2_and_rmse(const Eigen::VectorXd& pred, const Eigen::VectorXd& y, double& r2, double& rmse);

// Round-to-nearest-even float32 -> bfloat16 (keep the top 16 bits), returned as float32.
// NaN stays NaN.
float round_to_bfloat16(float x);

}  // namespace posbench
