// position_probe — Wang & Chen 2020, "What Do Position Embeddings Learn? An Empirical Study of
// Pre-Trained Language Model Positional Encoding" (EMNLP): can the absolute position p be read
// back from the encoding of p by a linear map? Ridge regression with an intercept from
//   additive : PE(p)                      [dim]
//   rotary   : R(p) u, u a seeded unit vector [dim] (one fit per u, `samples` vectors u from the
//              stream "position_probe/u"; metrics are the mean over u)
// to the target p, fit on the training range [0, L) (L = `train_length`) and scored by R^2 on
// [0, L) and on the held-out range [L, 2L). All in float64 (Eigen, LDLT).
// Features of [0, L) come from one encoder call over [0, L) (seq_len L), features of [L, 2L)
// from one call over [0, 2L) (seq_len 2L): the held-out positions are seen as part of a
// sequence of length 2L, which matters only for length-dependent schemes.
// Ridge: the features are centred (the intercept is then ybar - xbar . w) and
//   w = (Xc^T Xc + lambda I)^-1 Xc^T (y - ybar),  lambda = ridge * trace(Xc^T Xc) / dim,
// i.e. `ridge` is RELATIVE to the mean eigenvalue of the centred Gram matrix, so it means the
// same for tables of any scale (learned std 0.02 or sinusoidal +-1).
// R^2 = 1 - SS_res / SS_tot with SS_tot about the mean of the range being scored (held-out R^2
// can be negative: worse than predicting that range's mean).
// Reference point: for features with no relation to p (a random learned table), the expected
// training R^2 of least squares is dim / (L - 1).
// Bias schemes: not applicable (b_h(i, j) belongs to a query-key pair; there is no vector for
// position p alone to regress from).
#include <omp.h>

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/position_features.h"

namespace posbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct FitResult {
  double r2_train = kNaN, r2_heldout = kNaN, rmse_train = kNaN, rmse_heldout = kNaN;
  std::vector<double> predictions;  // [0, L) then [L, 2L) when available
};

// Ridge fit on (Xtr, ytr), scored on the training range and on (Xho, yho) if Xho has rows.
// Must run inside an OpenMP parallel region (see for_each_dot_block): Eigen's products are then
// sequential and the numbers do not depend on the thread count.
FitResult ridge_probe(const RowMatrix& Xtr, const Eigen::VectorXd& ytr, const RowMatrix& Xho,
                      const Eigen::VectorXd& yho, double ridge) {
  const RidgeFit fit = ridge_fit(Xtr, ytr, ridge);
  FitResult r;
  const Eigen::VectorXd ptr = fit.predict(Xtr);
  r2_and_rmse(ptr, ytr, r.r2_train, r.rmse_train);
  r.predictions.assign(ptr.data(), ptr.data() + ptr.size());
  if (Xho.rows() > 0) {
    const Eigen::VectorXd pho = fit.predict(Xho);
    r2_and_rmse(pho, yho, r.r2_heldout, r.rmse_heldout);
    r.predictions.insert(r.predictions.end(), pho.data(), pho.data() + pho.size());
  }
  return r;
}

class PositionProbe final : public Experiment {
 public:
  explicit PositionProbe(const Params& p)
      : dim_(p.integer("dim")),
        heads_(p.integer("heads")),
        samples_(p.integer("samples")),
        train_(p.integer("train_length")),
        ridge_(p.number("ridge")) {}

  void check(const EncoderInstance& enc) const override { enc.encoder->check_shape(dim_, heads_); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    if (enc.family == Family::bias) return 0;
    const CheckedSize d = dim_, n = train_;
    // Features of [0, 2L) (+ the [0, L) call), and per fit: centred copy, Gram, predictions.
    const CheckedSize shared =
        n * d * 3 * 8 + (enc.family == Family::rotary ? n * d * 4 * 8 : CheckedSize(0));
    const CheckedSize per_fit = (n * d * 3 + d * d * 2 + n * 8) * 8;
    const int64_t threads = std::max(1, omp_get_max_threads());
    const int64_t fits = enc.family == Family::rotary ? samples_ : 1;
    return (shared + per_fit * std::min(threads, fits) + n * fits * 2 * 8).saturated();
  }

  // Per fit (rotary: `samples` of them, else 1): the Gram matrix of [L, dim] (L dim^2), its
  // LDLT (dim^3 / 3) and predictions on [0, 2L); plus the encodings of [0, L) and [0, 2L)
  // (~30 flops per value: trigonometry). At ~1 GFLOP/s of float64 Eigen on small matrices.
  double estimated_seconds(const EncoderInstance& enc) const override {
    if (enc.family == Family::bias) return 0;  // not applicable: nothing runs
    const double d = double(dim_), n = double(train_);
    const double fits = enc.family == Family::rotary ? double(samples_) : 1.0;
    const double flops = fits * (n * d * d + d * d * d / 3 + 4 * n * d) + 3 * n * d * 30;
    return flops * 1e-9;
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    EncoderOutcome out;
    if (enc.family == Family::bias) {
      out.status = Status::not_applicable;
      out.note =
          "bias schemes have no encoding of a position alone: b_h(i, j) belongs to a "
          "query-key pair, so there is no vector of p to regress p from";
      return out;
    }
    const Encoder& e = *enc.encoder;
    const std::vector<int64_t> train_pos = position_range(0, train_);
    const std::vector<int64_t> all_pos = position_range(0, 2 * train_);

    // Per-position inputs from the encoder (serial). Rotary: the rotation coefficients; the
    // features R(p) u are formed per u below.
    RowMatrix Xtr, Xho;                      // additive features
    std::vector<double> ctr, str, cho, sho;  // rotary coefficients
    std::string heldout_problem;
    const bool rotary = enc.family == Family::rotary;
    const int64_t half = rotary ? e.rotary_dims(dim_) / 2 : 0;
    try {
      if (rotary) {
        ctr.resize(size_t(train_) * half), str.resize(ctr.size());
        e.rotary_coefficients(train_pos, dim_, RotaryContext{Role::query, train_}, ctr.data(),
                              str.data());
      } else {
        Xtr = position_encodings(e, train_pos, dim_, {}, train_);
      }
    } catch (const UnsupportedPosition& ex) {
      out.status = Status::unsupported;
      out.note = std::string("training range [0, train_length) unsupported: ") + ex.what();
      out.metrics = empty_metrics();
      return out;
    }
    try {
      if (rotary) {
        std::vector<double> c(size_t(2 * train_) * half), s(c.size());
        e.rotary_coefficients(all_pos, dim_, RotaryContext{Role::query, 2 * train_}, c.data(),
                              s.data());
        cho.assign(c.begin() + train_ * half, c.end());
        sho.assign(s.begin() + train_ * half, s.end());
      } else {
        Xho = position_encodings(e, all_pos, dim_, {}, 2 * train_).bottomRows(train_);
      }
    } catch (const UnsupportedPosition& ex) {
      heldout_problem = ex.what();
    }
    const bool has_heldout = heldout_problem.empty();

    Eigen::VectorXd ytr(train_), yho(train_);
    for (int64_t p = 0; p < train_; ++p) ytr[p] = double(p), yho[p] = double(train_ + p);

    std::vector<std::vector<double>> us;
    if (rotary) {
      Rng rng(ctx.seed, "position_probe/u");
      for (int64_t s = 0; s < samples_; ++s) us.push_back(rng.unit_vector(dim_));
    }
    const int64_t fits = rotary ? samples_ : 1;
    std::vector<FitResult> results(fits);
    const RotaryPairing pairing = rotary ? e.rotary_pairing() : RotaryPairing::half;
    const int64_t rd = rotary ? e.rotary_dims(dim_) : 0;
    auto rotated = [&](const std::vector<double>& u, const std::vector<double>& c,
                       const std::vector<double>& s, int64_t rows) {
      RowMatrix X(rows, dim_);
      for (int64_t t = 0; t < rows; ++t) {
        std::copy(u.begin(), u.end(), X.row(t).data());
        rotate_vector(pairing, rd, &c[size_t(t) * half], &s[size_t(t) * half], X.row(t).data());
      }
      return X;
    };
    // Always a parallel region, even for one fit: Eigen then never splits a product across
    // threads, so the numbers are the same for any thread count.
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t f = 0; f < fits; ++f) {
      if (rotary) {
        const RowMatrix A = rotated(us[f], ctr, str, train_);
        const RowMatrix B = has_heldout ? rotated(us[f], cho, sho, train_) : RowMatrix(0, dim_);
        results[f] = ridge_probe(A, ytr, B, yho, ridge_);
      } else {
        results[f] = ridge_probe(Xtr, ytr, has_heldout ? Xho : RowMatrix(0, dim_), yho, ridge_);
      }
    }

    // Means over fits, in order.
    double r2t = 0, r2h = 0, et = 0, eh = 0;
    Curve r2t_by{"r_squared_train_by_sample", "sample", "index", "1", {}, {}};
    Curve r2h_by{"r_squared_heldout_by_sample", "sample", "index", "1", {}, {}};
    const size_t npred = results[0].predictions.size();
    Curve pred{"predicted_position", "position", "positions",
               "positions",          {},         std::vector<double>(npred, 0.0)};
    for (int64_t f = 0; f < fits; ++f) {
      const FitResult& r = results[f];
      r2t += r.r2_train, r2h += r.r2_heldout, et += r.rmse_train, eh += r.rmse_heldout;
      r2t_by.x.push_back(double(f)), r2t_by.y.push_back(r.r2_train);
      r2h_by.x.push_back(double(f)), r2h_by.y.push_back(r.r2_heldout);
      for (size_t i = 0; i < npred; ++i) pred.y[i] += r.predictions[i];
    }
    for (size_t i = 0; i < npred; ++i) {
      pred.x.push_back(double(i));
      pred.y[i] /= double(fits);
    }
    out.metrics = {
        {"r_squared_train", r2t / double(fits), "1"},
        {"r_squared_heldout", r2h / double(fits), "1"},
        {"rmse_train", et / double(fits), "positions"},
        {"rmse_heldout", eh / double(fits), "positions"},
    };
    out.curves = {pred};
    if (rotary) out.curves.insert(out.curves.end(), {r2t_by, r2h_by});
    out.extra["train_range"] = {0, train_};
    out.extra["heldout_range"] = {train_, 2 * train_};
    out.extra["fits"] = fits;
    out.extra["ridge_lambda"] = "ridge * trace(Xc^T Xc) / dim (relative)";
    if (!has_heldout) {
      out.status = Status::unsupported;
      out.note = "held-out range [train_length, 2 train_length) unsupported: " + heldout_problem;
    }
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>&, ExperimentResult& r) const override {
    r.summary_columns = {"r_squared_train", "r_squared_heldout", "rmse_train", "rmse_heldout"};
  }

 private:
  static std::vector<Metric> empty_metrics() {
    return {{"r_squared_train", kNaN, "1"},
            {"r_squared_heldout", kNaN, "1"},
            {"rmse_train", kNaN, "positions"},
            {"rmse_heldout", kNaN, "positions"}};
  }

  int64_t dim_, heads_, samples_, train_;
  double ridge_;
};

std::vector<ParamSpec> position_probe_params() {
  std::vector<ParamSpec> specs = property_common_params(
      "unused by this experiment (ranges come from train_length)",
      "rotary: number of seeded unit vectors u probed (metrics are the mean); additive: unused");
  specs.push_back(ParamSpec::integer("train_length", 512, "fit on [0, L), held out [L, 2L)")
                      .at_least(2)
                      .at_most(1 << 22));
  specs.push_back(ParamSpec::number("ridge", 1e-6,
                                    "ridge lambda relative to the mean eigenvalue of the centred "
                                    "Gram matrix (lambda = ridge * trace(Xc^T Xc) / dim)")
                      .above(0));
  return specs;
}

const ExperimentRegistration kRegistration{{
    .name = "position_probe",
    .description = "ridge probe from the encoding of p to p: R^2 on [0, L) and held-out [L, 2L) "
                   "(Wang & Chen 2020)",
    .params = position_probe_params(),
    .metrics =
        {
            {"r_squared_train", "1",
             "R^2 of the ridge probe from the encoding of p to p on the training range [0, L) "
             "(rotary: mean over u)",
             "a table unrelated to p (random learned): ~dim / (L - 1)"},
            {"r_squared_heldout", "1",
             "R^2 of the same probe on the held-out range [L, 2L) (< 0: worse than that range's "
             "mean)",
             ""},
            {"rmse_train", "positions",
             "root mean square error of the predicted position on [0, L)", ""},
            {"rmse_heldout", "positions", "root mean square error on [L, 2L)", ""},
        },
    .factory = [](const Params& p) { return std::make_unique<PositionProbe>(p); },
}};

}  // namespace
}  // namespace posbench
