// linear_decay — an out-of-tree example scheme (a bias, like ALiBi, with a power):
//   b_h(i, j) = -s_h * |i - j|^p,   s_h = slope * ratio^h   (h = 0 .. heads-1)
// p = 1, ratio = 1/2 is ALiBi-like; p < 1 decays sub-linearly (cf. Kerple's power variant).
// Everything a scheme needs is here: the class, its declared params, one registration object,
// and POSBENCH_PLUGIN(); (once per plugin) so posbench can check the interface version.
#include <cmath>
#include <string>

#include "encoders/registry.h"

namespace {

using namespace posbench;

class LinearDecay final : public Encoder {
 public:
  explicit LinearDecay(const Params& p)
      : slope_(p.number("slope")), ratio_(p.number("ratio")), power_(p.number("power")) {}

  Family family() const override { return Family::bias; }

  void check_shape(int64_t, int64_t heads) const override {
    if (heads < 1)
      throw UserError("", "linear_decay needs heads >= 1; got " + std::to_string(heads));
  }

  // b_h depends on i - j only: fast kernels may reuse one row per head.
  bool bias_is_relative() const override { return true; }

  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    check_shape(0, heads);
    const size_t nq = q_positions.size(), nk = k_positions.size();
    for (int64_t h = 0; h < heads; ++h) {
      const double s = slope_ * std::pow(ratio_, double(h));
      for (size_t i = 0; i < nq; ++i)
        for (size_t j = 0; j < nk; ++j) {
          const double distance = std::abs(double(q_positions[i]) - double(k_positions[j]));
          out[(h * nq + i) * nk + j] = -s * std::pow(distance, power_);
        }
    }
  }

 private:
  double slope_, ratio_, power_;
};

const EncoderRegistration kRegistration{{
    .name = "linear_decay",
    .family = Family::bias,
    .description = "example plugin: bias -slope*ratio^h |i - j|^power",
    .version = 1,
    .params =
        {
            ParamSpec::number("slope", 0.5, "slope s_0 of head 0").above(0),
            ParamSpec::number("ratio", 0.5, "s_h = slope * ratio^h").above(0).at_most(1),
            ParamSpec::number("power", 1.0, "exponent p of the distance").above(0).at_most(2),
        },
    .factory = [](const Params& p) { return std::make_unique<LinearDecay>(p); },
}};

}  // namespace

POSBENCH_PLUGIN();
