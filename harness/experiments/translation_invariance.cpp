// translation_invariance — does phi(x, x + m) depend only on the offset m? (Wang et al.,
// ICLR 2021, "On Position Embeddings in BERT", property "translation invariance".)
// phi is the similarity of harness/analysis/similarity.h: <PE(x), PE(y)> (additive), the logit of
// the `content` model's pairs averaged (rotary; default independent q, k, `samples` draws, stream
// "translation_invariance/content"), or b_h(x, y) per head (bias).
// For offsets m in [0, max_offset] and anchors x in [0, positions - m):
//   std_m       = standard deviation over x of phi(x, x + m)   (population std, divisor n)
//   error       = (mean over m of std_m) / std(all phi values considered)   (0 = invariant)
//   worst_offset = argmax_m std_m (the first one on ties)
// If every value considered is equal, the error is 0. Bias schemes are measured per head:
// `invariance_error` is the worst head, `invariance_error_mean_head` the mean over heads, and
// the curve std_m is given per head. Expected: sinusoidal, rope, alibi ~0 (rounding only);
// a random learned table is not invariant.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "harness/analysis/similarity.h"

namespace posbench {
namespace {

struct ViewSpread {
  std::vector<double> std_per_offset;
  double error = 0;
  int64_t worst_offset = 0;
};

class TranslationInvariance final : public Experiment {
 public:
  bool encoders_separable() const override { return true; }

  explicit TranslationInvariance(const Params& p)
      : shape_(p), max_offset_(p.integer("max_offset")) {
    if (max_offset_ >= shape_.positions)
      throw UserError("max_offset", "max_offset " + std::to_string(max_offset_) +
                                        " leaves no anchor inside positions = " +
                                        std::to_string(shape_.positions) +
                                        "; expected max_offset < positions");
  }

  void check(const EncoderInstance& enc) const override {
    enc.encoder->check_shape(shape_.dim, shape_.heads);
  }

  void load() const override { shape_.content->load(); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    return (Similarity::memory_bytes(*enc.encoder, options(0)) +
            (CheckedSize(max_offset_) + 1) * 8 * 4)
        .saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Similarity phi(*enc.encoder, options(ctx.seed));
    const char* unit = phi_unit(enc.family);
    EncoderOutcome out;
    std::vector<ViewSpread> views;
    for (int64_t v = 0; v < phi.views(); ++v) views.push_back(measure(phi, v));
    const bool per_head = enc.family == Family::bias;
    size_t worst = 0;
    double mean_error = 0;
    for (size_t v = 0; v < views.size(); ++v) {
      mean_error += views[v].error;
      if (views[v].error > views[worst].error) worst = v;
      Curve c{per_head ? "std_per_offset_head" + std::to_string(v) : "std_per_offset",
              "offset",
              "positions",
              unit,
              {},
              {}};
      for (int64_t m = 0; m <= max_offset_; ++m) {
        c.x.push_back(double(m));
        c.y.push_back(views[v].std_per_offset[size_t(m)]);
      }
      out.curves.push_back(std::move(c));
    }
    mean_error /= double(views.size());
    const ViewSpread& w = views[worst];
    out.metrics = {
        {"invariance_error", w.error, "1"},
        {"worst_offset", double(w.worst_offset), "positions"},
        {"worst_offset_std", w.std_per_offset[size_t(w.worst_offset)], unit},
    };
    if (per_head) {
      out.metrics.push_back({"invariance_error_mean_head", mean_error, "1"});
      out.metrics.push_back({"worst_head", double(worst), "index"});
    }
    if (enc.family == Family::rotary) out.extra["content"] = shape_.content->to_json();
    return out;
  }

 private:
  SimilarityOptions options(uint64_t seed) const {
    return similarity_options(shape_, seed, "translation_invariance/content");
  }

  ViewSpread measure(const Similarity& phi, int64_t view) const {
    const int64_t P = shape_.positions, M = max_offset_;
    // Per offset, in parallel: count, mean and sum of squared deviations (two passes over the
    // n = P - m anchors). Reduced serially below, so the result does not depend on threads.
    std::vector<double> mean(size_t(M + 1)), ssd(size_t(M + 1));
#pragma omp parallel
    {
      std::vector<double> values(static_cast<size_t>(P));
#pragma omp for schedule(dynamic)
      for (int64_t m = 0; m <= M; ++m) {
        const int64_t n = P - m;
        phi.diagonal(m, 0, n, view, values.data());
        double s = 0;
        for (int64_t x = 0; x < n; ++x) s += values[size_t(x)];
        const double mu = s / double(n);
        double q = 0;
        for (int64_t x = 0; x < n; ++x) q += (values[size_t(x)] - mu) * (values[size_t(x)] - mu);
        mean[size_t(m)] = mu;
        ssd[size_t(m)] = q;
      }
    }
    // Pooled mean and variance of all values: ssd_total = sum_m ssd_m + n_m (mean_m - mean)^2.
    double total = 0, count = 0;
    for (int64_t m = 0; m <= M; ++m) {
      total += mean[size_t(m)] * double(P - m);
      count += double(P - m);
    }
    const double grand = total / count;
    double ssd_total = 0;
    ViewSpread r;
    r.std_per_offset.resize(size_t(M + 1));
    double mean_std = 0;
    for (int64_t m = 0; m <= M; ++m) {
      const double n = double(P - m), dm = mean[size_t(m)] - grand;
      ssd_total += ssd[size_t(m)] + n * dm * dm;
      r.std_per_offset[size_t(m)] = std::sqrt(ssd[size_t(m)] / n);
      mean_std += r.std_per_offset[size_t(m)];
      if (r.std_per_offset[size_t(m)] > r.std_per_offset[size_t(r.worst_offset)])
        r.worst_offset = m;
    }
    mean_std /= double(M + 1);
    const double std_all = std::sqrt(ssd_total / count);
    r.error = std_all > 0 ? mean_std / std_all : 0.0;
    return r;
  }

  PropertyShape shape_;
  int64_t max_offset_;
};

const ExperimentRegistration kRegistration{{
    .name = "translation_invariance",
    .description = "does phi(x, x+m) depend only on m? mean_m std_x phi(x, x+m) / std(phi)",
    .params = with_common_property_params({
        ParamSpec::integer("max_offset", 64, "offsets m in [0, max_offset] (< positions)")
            .at_least(0),
    }),
    .metrics =
        {
            {"invariance_error", "1",
             "(mean over offsets m of the std over x of phi(x, x + m)) / std of all phi "
             "considered; bias: the worst head (0: phi depends on the offset only)",
             "sinusoidal, rope, alibi: ~0 (rounding); a random learned table: > 0"},
            {"worst_offset", "positions", "the offset m whose phi(x, x + m) varies most over x",
             ""},
            {"worst_offset_std", "1 (additive) or logit",
             "the std over x of phi(x, x + worst_offset)", ""},
            {"invariance_error_mean_head", "1", "bias: invariance_error averaged over heads",
             "alibi: ~0"},
            {"worst_head", "index", "bias: the head with the largest invariance_error", ""},
        },
    .factory = [](const Params& p) { return std::make_unique<TranslationInvariance>(p); },
}};

}  // namespace
}  // namespace posbench
