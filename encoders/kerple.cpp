// kerple — Chi et al. 2022, "KERPLE: Kernelized Relative Positional Embedding for Length
// Extrapolation" (§4, the two conditionally positive definite kernels used in the experiments):
//   variant "log"   : b_h(i, j) = -r1_h * ln(1 + r2_h * |i - j|),   r1_h, r2_h > 0
//   variant "power" : b_h(i, j) = -r1_h * |i - j|^r2_h,              r1_h > 0, 0 < r2_h <= 2
// (The paper uses the causal form, j <= i; |i - j| extends it symmetrically, as alibi does.)
// In the paper r1, r2 are learned per head. Here they are given (`r1`, `r2`: one value per
// head) or drawn as the reference code (chijames/KERPLE, ParallelKerpleLog and the power
// variant) initialises them, with seeded uniform draws u of posbench::Rng(seed, "kerple/r1") and
// Rng(seed, "kerple/r2"), head h taking the h-th draw of each stream (so head h's values do not
// depend on the number of heads):
//   init "uniform" (default): log   : r1_h = 2 u  (bias_p ~ U(0, 2)),  r2_h = u  (bias_a ~ U(0, 1))
//                             power : r1_h = u    (bias_a ~ U(0, 1)),  r2_h = 2 u (bias_p ~ U(0,
//                             2)) each then clamped to >= 0.01 (the reference's eps), r2 <= 2.
//   init "ones"             : r1_h = r2_h = 1 for every head.
// A list given for r1 or r2 replaces that parameter for every head; its length must equal heads.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"

namespace posbench {
namespace {

constexpr double kEps = 0.01;  // the reference code's clamp

class Kerple final : public Encoder {
 public:
  explicit Kerple(const Params& p)
      : power_(p.string("variant") == "power"),
        ones_(p.string("init") == "ones"),
        seed_(uint64_t(p.integer("seed"))) {
    if (p.has("r1")) r1_ = p.numbers("r1");
    if (p.has("r2")) r2_ = p.numbers("r2");
    if (power_)
      for (double v : r2_)
        if (v > 2.0)
          throw UserError("r2", "has " + std::to_string(v) +
                                    "; the power variant needs 0 < r2 <= 2 (for |i-j|^r2 to be "
                                    "a conditionally positive definite kernel)");
  }

  Family family() const override { return Family::bias; }

  void check_shape(int64_t, int64_t heads) const override {
    if (heads <= 0) throw UserError("", "kerple needs heads >= 1; got " + std::to_string(heads));
    check_list("r1", r1_, heads);
    check_list("r2", r2_, heads);
  }

  bool bias_is_relative() const override { return true; }

  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    check_shape(0, heads);
    std::vector<double> r1 = r1_, r2 = r2_;
    if (r1.empty()) r1 = defaults(heads, "kerple/r1", power_ ? 1.0 : 2.0);
    if (r2.empty()) r2 = defaults(heads, "kerple/r2", power_ ? 2.0 : 1.0);
    const size_t nq = q_positions.size(), nk = k_positions.size();
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < nq; ++i)
        for (size_t j = 0; j < nk; ++j) {
          const double d = std::abs(double(q_positions[i]) - double(k_positions[j]));
          out[(h * nq + i) * nk + j] =
              power_ ? -r1[h] * std::pow(d, r2[h]) : -r1[h] * std::log1p(r2[h] * d);
        }
  }

 private:
  static void check_list(const char* name, const std::vector<double>& v, int64_t heads) {
    if (!v.empty() && int64_t(v.size()) != heads)
      throw UserError(name, "has " + count_of((long long)v.size(), "value") +
                                ", expected one per head (" + std::to_string(heads) + ")");
  }

  // Per-head defaults: 1, or scale * u_h clamped to [eps, 2] (see the header).
  std::vector<double> defaults(int64_t heads, const char* stream, double scale) const {
    if (ones_) return std::vector<double>(heads, 1.0);
    Rng rng(seed_, stream);
    std::vector<double> v(heads);
    for (auto& x : v) x = std::clamp(scale * rng.uniform(), kEps, 2.0);
    return v;
  }

  bool power_, ones_;
  uint64_t seed_;
  std::vector<double> r1_, r2_;
};

const EncoderRegistration kRegistration{{
    .name = "kerple",
    .family = Family::bias,
    .description =
        "kernelized relative bias: -r1 ln(1 + r2|i-j|) or -r1 |i-j|^r2 (Chi et al. 2022)",
    .version = 1,
    .params =
        {
            ParamSpec::choice("variant", "log", {"log", "power"},
                              "log: -r1 ln(1 + r2|i-j|); power: -r1 |i-j|^r2 (0 < r2 <= 2)"),
            ParamSpec::number_list("r1", nullptr,
                                   "per-head r1 (length must equal heads); default from init")
                .above(0),
            ParamSpec::number_list("r2", nullptr,
                                   "per-head r2 (length must equal heads; power: <= 2); default "
                                   "from init")
                .above(0),
            ParamSpec::choice("init", "uniform", {"uniform", "ones"},
                              "defaults for r1/r2 not given: uniform = the reference code's "
                              "random init (seeded); ones = 1 for every head"),
            ParamSpec::integer("seed", 0,
                               "seed of the uniform init (streams \"kerple/r1\", \"kerple/r2\")")
                .at_least(0),
        },
    .factory = [](const Params& p) { return std::make_unique<Kerple>(p); },
}};

}  // namespace
}  // namespace posbench
