// monotonicity — does similarity fall as distance grows? (Wang et al., ICLR 2021, "On Position
// Embeddings in BERT", property "monotonicity".) phi as in harness/analysis/similarity.h (rotary:
// the `content` model, default seeded independent q, k, stream "monotonicity/content"; bias:
// per head).
// For each anchor x in [0, positions - max_offset): the Spearman rank correlation between m and
// phi(x, x + m) over m in [0, max_offset]; `spearman` is its mean over anchors (-1: phi falls
// strictly with distance). The curve mean_phi is phi(x, x + m) averaged over the same anchors,
// and `first_rise` the first offset m >= 1 where that mean rises again
// (mean_phi[m] > mean_phi[m - 1] + 1e-12 max|mean_phi|, so rounding noise on a flat phi is not a
// rise); null when it never rises within max_offset.
// Bias schemes, per head: `spearman` is the mean over heads, `spearman_max_head` the least
// monotone head, `first_rise` the earliest head; curves per head. Where phi(x, x + m) is
// constant in m (e.g. a causal bias for keys after the query), rho is undefined: NaN, written
// as null, and said in the note.
// Rotary with independent q, k: E[q_s . k_s] = 0 on every pair, so mean phi(x, x+m) is a
// sampled sum of A_i cos(m theta_i) + B_i sin(m theta_i) with zero-mean weights A_i, B_i that
// shrink like 1/sqrt(samples): its rho (scale-free) is a property of the draw, not a systematic
// decay.
// Expected: alibi exactly -1; sinusoidal d = 128, base 1e4: monotone up to m = 11, first rise at
// m = 12 (sum_i cos(m theta_i) goes 42.344 -> 42.381), then slowly oscillating down.
// Spearman's rho with average ranks for ties is written out here (a few lines): none of
// posbench's dependencies provides it. Debian 12's libgsl-dev (GSL 2.7) does have
// gsl_stats_spearman, but it is GPL-3 and would be a new dependency for twenty lines.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "harness/analysis/similarity.h"

namespace posbench {
namespace {

// Ranks 0..n-1 with tied values sharing the average of their ranks.
void average_ranks(const std::vector<double>& v, std::vector<size_t>& order,
                   std::vector<double>& rank) {
  const size_t n = v.size();
  order.resize(n);
  rank.resize(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = 0.5 * double(i + j);
    for (size_t t = i; t <= j; ++t) rank[order[t]] = r;
    i = j + 1;
  }
}

// Pearson correlation of the ranks of v with the ranks of 0, 1, ..., n-1 (which are themselves).
// NaN when v is constant (the correlation is undefined).
double spearman_with_index(const std::vector<double>& v, std::vector<size_t>& order,
                           std::vector<double>& rank) {
  average_ranks(v, order, rank);
  const size_t n = v.size();
  const double mean = 0.5 * double(n - 1);  // mean of 0..n-1, and of the average ranks
  double cov = 0, var_i = 0, var_r = 0;
  for (size_t i = 0; i < n; ++i) {
    const double a = double(i) - mean, b = rank[i] - mean;
    cov += a * b, var_i += a * a, var_r += b * b;
  }
  if (var_r == 0) return std::numeric_limits<double>::quiet_NaN();
  return cov / std::sqrt(var_i * var_r);
}

struct ViewTrend {
  double spearman = 0;
  std::vector<double> mean_phi;
  int64_t first_rise = -1;
};

class Monotonicity final : public Experiment {
 public:
  bool encoders_separable() const override { return true; }

  explicit Monotonicity(const Params& p) : shape_(p), max_offset_(p.integer("max_offset")) {
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
    const CheckedSize anchors = shape_.positions - max_offset_;  // >= 1 (constructor)
    return (Similarity::memory_bytes(*enc.encoder, options(0)) + anchors * 8 +
            (CheckedSize(max_offset_) + 1) * 8 * 8)
        .saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Similarity phi(*enc.encoder, options(ctx.seed));
    const char* unit = phi_unit(enc.family);
    const bool per_head = enc.family == Family::bias;
    EncoderOutcome out;
    double spearman = 0, spearman_max = -std::numeric_limits<double>::infinity();
    int64_t first_rise = -1;
    Curve per_head_rho{"spearman_per_head", "head", "index", "1", {}, {}};
    for (int64_t v = 0; v < phi.views(); ++v) {
      const ViewTrend r = measure(phi, v);
      spearman += r.spearman;
      // A head whose rho is undefined (NaN: phi constant in m) makes the worst head undefined.
      spearman_max = std::isnan(r.spearman) || std::isnan(spearman_max)
                         ? std::numeric_limits<double>::quiet_NaN()
                         : std::max(spearman_max, r.spearman);
      if (r.first_rise >= 0 && (first_rise < 0 || r.first_rise < first_rise))
        first_rise = r.first_rise;
      Curve c{per_head ? "mean_phi_head" + std::to_string(v) : "mean_phi",
              "offset",
              "positions",
              unit,
              {},
              {}};
      for (int64_t m = 0; m <= max_offset_; ++m) {
        c.x.push_back(double(m));
        c.y.push_back(r.mean_phi[size_t(m)]);
      }
      out.curves.push_back(std::move(c));
      per_head_rho.x.push_back(double(v));
      per_head_rho.y.push_back(r.spearman);
    }
    spearman /= double(phi.views());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out.metrics = {
        {"spearman", spearman, "1"},
        {"first_rise", first_rise >= 0 ? double(first_rise) : nan, "positions"},
    };
    if (first_rise < 0)
      out.note = "mean phi never rises within max_offset = " + std::to_string(max_offset_);
    if (std::isnan(spearman))
      out.note += std::string(out.note.empty() ? "" : "; ") +
                  "phi(x, x+m) does not vary with m for some anchor" +
                  (per_head ? " or head" : "") + ": Spearman's rho is undefined (null)";
    if (per_head) {
      out.metrics.push_back({"spearman_max_head", spearman_max, "1"});
      out.curves.push_back(std::move(per_head_rho));
    }
    if (enc.family == Family::rotary) out.extra["content"] = shape_.content->to_json();
    return out;
  }

 private:
  SimilarityOptions options(uint64_t seed) const {
    return similarity_options(shape_, seed, "monotonicity/content");
  }

  ViewTrend measure(const Similarity& phi, int64_t view) const {
    const int64_t M = max_offset_, anchors = shape_.positions - max_offset_;
    // Per anchor, in parallel: rho_x. Per offset, in parallel: mean over anchors of phi(x, x+m).
    // Both reduced serially in a fixed order, so the result does not depend on threads.
    std::vector<double> rho(static_cast<size_t>(anchors));
#pragma omp parallel
    {
      std::vector<double> v(size_t(M + 1)), rank;
      std::vector<size_t> order;
#pragma omp for schedule(static)
      for (int64_t x = 0; x < anchors; ++x) {
        for (int64_t m = 0; m <= M; ++m) v[size_t(m)] = phi(x, x + m, view);
        rho[size_t(x)] = spearman_with_index(v, order, rank);
      }
    }
    ViewTrend r;
    r.mean_phi.resize(size_t(M + 1));
#pragma omp parallel
    {
      std::vector<double> values(static_cast<size_t>(anchors));
#pragma omp for schedule(static)
      for (int64_t m = 0; m <= M; ++m) {
        phi.diagonal(m, 0, anchors, view, values.data());
        double s = 0;
        for (double y : values) s += y;
        r.mean_phi[size_t(m)] = s / double(anchors);
      }
    }
    for (double x : rho) r.spearman += x;
    r.spearman /= double(anchors);
    double scale = 0;
    for (double y : r.mean_phi) scale = std::max(scale, std::fabs(y));
    for (int64_t m = 1; m <= M && r.first_rise < 0; ++m)
      if (r.mean_phi[size_t(m)] > r.mean_phi[size_t(m - 1)] + 1e-12 * scale) r.first_rise = m;
    return r;
  }

  PropertyShape shape_;
  int64_t max_offset_;
};

const ExperimentRegistration kRegistration{{
    .name = "monotonicity",
    .description =
        "does phi(x, x+m) fall with m? Spearman rho(m, phi) over anchors; first offset where it "
        "rises",
    .params = with_common_property_params({
        ParamSpec::integer("max_offset", 64,
                           "offsets m in [0, max_offset] (< positions; >= 1 to rank anything)")
            .at_least(1),
    }),
    .metrics =
        {
            {"spearman", "1",
             "mean over anchors x of Spearman's rho between m and phi(x, x + m), m in [0, "
             "max_offset]; bias: mean over heads (-1: phi falls strictly with distance)",
             "alibi: -1"},
            {"first_rise", "positions",
             "the first offset m >= 1 where the mean phi(x, x + m) rises again (null: never within "
             "max_offset)",
             "sinusoidal d = 128, base 1e4: 12"},
            {"spearman_max_head", "1", "bias: the least monotone head's rho", "alibi: -1"},
        },
    .factory = [](const Params& p) { return std::make_unique<Monotonicity>(p); },
}};

}  // namespace
}  // namespace posbench
