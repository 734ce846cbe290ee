// offset_linearity — Vaswani et al. 2017 claim PE(p + k) is a linear function of PE(p) for
// every fixed offset k. For each k in `offsets`, over positions [0, positions):
//   additive : P = PE table [positions, dim]
//   rotary   : P[p] = R(p) u for a fixed seeded unit vector u [dim]
// fit M_k [dim, dim] by least squares minimising ||P[k:] - P[:-k] M_k||_F (Eigen, float64) and
// report the relative residual ||P[k:] - P[:-k] M_k||_F / ||P[k:]||_F and the distance from
// orthogonal ||M_k^T M_k - I||_F / sqrt(dim) (for rank-deficient P, on the subspace the data
// determine; see run_matrix), and the numerical rank of P[:-k].
//   bias     : per head h, fit b_h(i, i + k) over all i and all k as a + slope * k; report R^2
//              and the slope (ALiBi: R^2 = 1, slope = -m_h).
#include <fmt/format.h>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/svd.h"

namespace posbench {
namespace {

class OffsetLinearity final : public Experiment {
 public:
  bool encoders_separable() const override { return true; }

  explicit OffsetLinearity(const Params& p)
      : dim_(p.integer("dim")), heads_(p.integer("heads")), positions_(p.integer("positions")) {
    for (double k : p.numbers("offsets")) {
      if (k != std::floor(k) || k < 1)
        throw UserError("offsets", "offset " + std::to_string(k) + " is not a positive integer");
      if (k >= double(positions_))  // compared as double: int64_t(1e20) would be undefined
        throw UserError("offsets",
                        "offset " + fmt::format("{:g}", k) + " leaves no pair inside positions = " +
                            std::to_string(positions_) + "; expected offsets < positions");
      offsets_.push_back(int64_t(k));
    }
    if (offsets_.empty()) throw UserError("offsets", "is empty; expected at least one offset");
  }

  void check(const EncoderInstance& enc) const override { enc.encoder->check_shape(dim_, heads_); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    if (enc.family == Family::bias)
      return (CheckedSize(heads_) * positions_ * positions_ * 8).saturated();
    // P, A, B, QR workspace: a few copies of [positions, dim] plus [dim, dim] matrices.
    return (CheckedSize(positions_) * dim_ * 8 * 6 + CheckedSize(dim_) * dim_ * 8 * 4).saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    return enc.family == Family::bias ? run_bias(*enc.encoder) : run_matrix(enc, ctx);
  }

 private:
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // P [positions, dim] for additive and rotary schemes.
  Matrix position_matrix(const EncoderInstance& enc, const RunContext& ctx) const {
    std::vector<int64_t> pos(positions_);
    std::iota(pos.begin(), pos.end(), 0);
    Matrix P(positions_, dim_);
    if (enc.family == Family::additive) {
      enc.encoder->additive_table(pos, dim_, P.data());
    } else {
      Rng rng(ctx.seed, "offset_linearity/u");
      std::vector<double> u = rng.unit_vector(dim_);
      for (int64_t t = 0; t < positions_; ++t) std::copy(u.begin(), u.end(), P.row(t).data());
      rotate<double>(*enc.encoder, pos, 1, dim_, RotaryContext{Role::query, positions_}, P.data());
    }
    return P;
  }

  EncoderOutcome run_matrix(const EncoderInstance& enc, const RunContext& ctx) const {
    const Matrix P = position_matrix(enc, ctx);
    EncoderOutcome out;
    Curve residual{"relative_residual", "offset", "positions", "1", {}, {}};
    Curve orth{"orthogonality_error", "offset", "positions", "1", {}, {}};
    int64_t min_rank = dim_;
    for (int64_t k : offsets_) {
      const int64_t rows = positions_ - k;
      const Matrix A = P.topRows(rows), B = P.bottomRows(rows);
      // A is numerically rank deficient for sinusoidal/rope (low-frequency columns are
      // nearly collinear over [0, positions)), so the data determine the map x -> M_k^T x only
      // on A's row space span(V_r). The residual uses the minimum-norm least-squares solution
      // M_ls. Orthogonality asks whether M_k is an isometry there:
      //   || V_r^T M_ls M_ls^T V_r - I_r ||_F / sqrt(r),
      // which is zero exactly when some orthogonal M_k fits as well as M_ls (an isometry on a
      // subspace extends to an orthogonal map). For a full-rank table (r = dim) it equals
      // ||M^T M - I||_F / sqrt(dim).
      RowMajorSvd svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);  // svd.h
      const double rel = (B - A * svd.solve(B)).norm() / B.norm();
      // Directions with singular value below 1e-9 of the largest count as undetermined: their
      // least-squares coefficients would be rounding noise amplified by up to 1e9.
      svd.setThreshold(1e-9);
      const int64_t rank = svd.rank();
      const Matrix M_ls = svd.solve(B);
      const Matrix V_r = svd.matrixV().leftCols(rank);
      const Matrix G = V_r.transpose() * M_ls * M_ls.transpose() * V_r;
      const double o = (G - Matrix::Identity(rank, rank)).norm() / std::sqrt(double(rank));
      min_rank = std::min(min_rank, rank);
      residual.x.push_back(double(k));
      residual.y.push_back(rel);
      orth.x.push_back(double(k));
      orth.y.push_back(o);
    }
    out.metrics = {
        {"max_relative_residual", *std::max_element(residual.y.begin(), residual.y.end()), "1"},
        {"max_orthogonality_error", *std::max_element(orth.y.begin(), orth.y.end()), "1"},
        {"min_numerical_rank", double(min_rank), "columns"},
    };
    out.curves = {residual, orth};
    return out;
  }

  EncoderOutcome run_bias(const Encoder& enc) const {
    std::vector<int64_t> pos(positions_);
    std::iota(pos.begin(), pos.end(), 0);
    std::vector<double> b(size_t(heads_) * positions_ * positions_);
    enc.bias(pos, pos, heads_, b.data());
    EncoderOutcome out;
    Curve r2{"r_squared", "head", "index", "1", {}, {}};
    Curve slope{"slope", "head", "index", "logit/position", {}, {}};
    for (int64_t h = 0; h < heads_; ++h) {
      // Simple linear regression of y = b_h(i, i + k) on x = k over all (i, k) pairs.
      double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
      for (int64_t k : offsets_)
        for (int64_t i = 0; i + k < positions_; ++i) {
          const double x = double(k), y = b[(size_t(h) * positions_ + i) * positions_ + i + k];
          n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y, syy += y * y;
        }
      const double vx = sxx - sx * sx / n, vy = syy - sy * sy / n, cxy = sxy - sx * sy / n;
      const double s = vx > 0 ? cxy / vx : 0.0;
      // R^2 = 1 when the fit is exact (including a constant bias, vy = 0).
      const double rsq = vy > 1e-300 * std::max(1.0, syy) ? cxy * cxy / (vx * vy) : 1.0;
      r2.x.push_back(double(h));
      r2.y.push_back(rsq);
      slope.x.push_back(double(h));
      slope.y.push_back(s);
    }
    out.metrics = {
        {"min_r_squared", *std::min_element(r2.y.begin(), r2.y.end()), "1"},
        {"slope_head0", slope.y.front(), "logit/position"},
    };
    out.curves = {r2, slope};
    return out;
  }

  int64_t dim_, heads_, positions_;
  std::vector<int64_t> offsets_;
};

const ExperimentRegistration kRegistration{{
    .name = "offset_linearity",
    .description =
        "is PE(p+k) a linear (orthogonal) function of PE(p)? bias: is b(i,i+k) affine in k?",
    .params =
        {
            ParamSpec::integer("dim", 128, "embedding / head width").at_least(2).at_most(65536),
            ParamSpec::integer("heads", 8, "attention heads (bias schemes)")
                .at_least(1)
                .at_most(4096),
            ParamSpec::integer("positions", 1024, "positions [0, positions) used in the fit")
                .at_least(2)
                .at_most(1 << 22),
            ParamSpec::number_list("offsets", {1, 2, 4, 8, 16, 64, 256}, "offsets k to fit")
                .at_least(1),
        },
    .metrics =
        {
            {"max_relative_residual", "1",
             "additive, rotary: the largest over offsets k of ||P[k:] - P[:-k] M_k||_F / "
             "||P[k:]||_F (0: PE(p + k) is a linear function of PE(p))",
             "sinusoidal, rope: ~0 (rounding, < 1e-10); a random learned table: > 0"},
            {"max_orthogonality_error", "1",
             "additive, rotary: the largest ||M_k^T M_k - I||_F / sqrt(rank) (0: the map is a "
             "rotation)",
             "sinusoidal, rope: ~0 (rounding)"},
            {"min_numerical_rank", "columns",
             "additive, rotary: the smallest numerical rank of P[:-k] over offsets", ""},
            {"min_r_squared", "1",
             "bias: the smallest R^2 over heads of the fit b_h(i, i + k) = a + slope * k (1: the "
             "bias is linear in the offset)",
             "alibi: 1"},
            {"slope_head0", "logit/position", "bias: the fitted slope of head 0",
             "alibi: -m_0 (-0.5 with 8 heads)"},
        },
    .factory = [](const Params& p) { return std::make_unique<OffsetLinearity>(p); },
}};

}  // namespace
}  // namespace posbench
