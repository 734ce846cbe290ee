// symmetry — is phi(x, y) = phi(y, x)? (Wang et al., ICLR 2021, "On Position Embeddings in
// BERT", property "symmetry".) phi as in harness/analysis/similarity.h (rotary: the `content`
// model, default seeded independent q, k, stream "symmetry/content", x the query's position and y
// the key's; bias: per head).
//   asymmetry = ||S - S^T||_F / ||S||_F,   S[x][y] = phi(x, y),  x, y in [0, positions)
// (0 when S = 0). Bias schemes: `asymmetry` is the worst head, with a curve per head.
// Expected: sinusoidal and alibi exactly 0 (inner products are symmetric; |i - j| too); rope with
// independent q != k is not symmetric: mean_s (R(x)q_s).(R(y)k_s) has a sin((y - x) theta_i)
// term weighted by the antisymmetric part of mean_s k_s q_s^T on each pair.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "harness/analysis/similarity.h"

namespace posbench {
namespace {

class Symmetry final : public Experiment {
 public:
  bool encoders_separable() const override { return true; }

  explicit Symmetry(const Params& p) : shape_(p) {}

  void check(const EncoderInstance& enc) const override {
    enc.encoder->check_shape(shape_.dim, shape_.heads);
  }

  void load() const override { shape_.content->load(); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    return (Similarity::memory_bytes(*enc.encoder, options(0)) + CheckedSize(shape_.positions) * 16)
        .saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Similarity phi(*enc.encoder, options(ctx.seed));
    EncoderOutcome out;
    Curve per_head{"asymmetry_per_head", "head", "index", "1", {}, {}};
    double worst = 0, norm_of_worst = 0;
    for (int64_t v = 0; v < phi.views(); ++v) {
      const auto [asym, norm] = measure(phi, v);
      if (v == 0 || asym > worst) worst = asym, norm_of_worst = norm;
      per_head.x.push_back(double(v));
      per_head.y.push_back(asym);
    }
    out.metrics = {
        {"asymmetry", worst, "1"},
        {"frobenius_norm", norm_of_worst, phi_unit(enc.family)},
    };
    if (enc.family == Family::bias) out.curves.push_back(std::move(per_head));
    if (enc.family == Family::rotary) out.extra["content"] = shape_.content->to_json();
    return out;
  }

 private:
  SimilarityOptions options(uint64_t seed) const {
    return similarity_options(shape_, seed, "symmetry/content");
  }

  // {||S - S^T||_F / ||S||_F, ||S||_F} for one view. Rows x in parallel over the upper triangle
  // y > x (each pair once); per-row sums reduced serially, so threads do not change the result.
  std::pair<double, double> measure(const Similarity& phi, int64_t view) const {
    const int64_t P = shape_.positions;
    std::vector<double> diff(static_cast<size_t>(P)), sq(static_cast<size_t>(P));
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t x = 0; x < P; ++x) {
      const double sxx = phi(x, x, view);
      double d = 0, s = sxx * sxx;
      for (int64_t y = x + 1; y < P; ++y) {
        const double a = phi(x, y, view), b = phi(y, x, view);
        d += (a - b) * (a - b);
        s += a * a + b * b;
      }
      diff[size_t(x)] = 2 * d;  // (x, y) and (y, x) both contribute (a - b)^2
      sq[size_t(x)] = s;
    }
    double d = 0, s = 0;
    for (int64_t x = 0; x < P; ++x) d += diff[size_t(x)], s += sq[size_t(x)];
    return {s > 0 ? std::sqrt(d) / std::sqrt(s) : 0.0, std::sqrt(s)};
  }

  PropertyShape shape_;
};

const ExperimentRegistration kRegistration{{
    .name = "symmetry",
    .description = "is phi(x, y) = phi(y, x)? ||S - S^T||_F / ||S||_F over [0, positions)^2",
    .params = with_common_property_params({}),
    .metrics =
        {
            {"asymmetry", "1",
             "||S - S^T||_F / ||S||_F with S[x][y] = phi(x, y); bias: the worst head (0: phi(x, y) "
             "= phi(y, x))",
             "sinusoidal, alibi: 0; rope with content shared or ones (q = k): ~0; rope with "
             "independent q, k: > 0"},
            {"frobenius_norm", "1 (additive) or logit", "||S||_F (of the worst head for bias)", ""},
        },
    .factory = [](const Params& p) { return std::make_unique<Symmetry>(p); },
}};

}  // namespace
}  // namespace posbench
