// rope — Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding":
//   pair i in [0, d'/2) has frequency theta_i = base^(-2i/d'), d' = rotated channels
//   (rotary_fraction * head_dim, rounded down to even); pair (a, b) at position p becomes
//   (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)).
// `layout` "half" pairs (x_i, x_{i+d'/2}) (GPT-NeoX / HuggingFace), "interleaved" pairs
// (x_{2i}, x_{2i+1}) (GPT-J / Meta). Channels past d' pass through unchanged.
#include <cmath>
#include <vector>

#include "encoders/registry.h"

namespace posbench {
namespace {

class Rope final : public Encoder {
 public:
  explicit Rope(const Params& p)
      : base_(p.number("base")),
        pairing_(p.string("layout") == "half" ? RotaryPairing::half : RotaryPairing::interleaved),
        fraction_(p.number("rotary_fraction")) {}

  Family family() const override { return Family::rotary; }

  void check_shape(int64_t head_dim, int64_t) const override {
    if (head_dim <= 0 || head_dim % 2 != 0)
      throw ParamError("",
                       "rope needs an even, positive head_dim; got " + std::to_string(head_dim));
    if (rotary_dims(head_dim) < 2)
      throw ParamError("rotary_fraction", "rotary_fraction " + std::to_string(fraction_) +
                                              " of head_dim " + std::to_string(head_dim) +
                                              " rotates no pair; expected at least 2 channels");
  }

  int64_t rotary_dims(int64_t head_dim) const override {
    // Round down to even, as HuggingFace's partial_rotary_factor does.
    return (static_cast<int64_t>(std::floor(fraction_ * double(head_dim))) / 2) * 2;
  }
  RotaryPairing rotary_pairing() const override { return pairing_; }

  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext&, double* cos_out, double* sin_out) const override {
    check_shape(head_dim, 1);
    const int64_t rd = rotary_dims(head_dim), half = rd / 2;
    std::vector<double> theta(half);
    for (int64_t i = 0; i < half; ++i) theta[i] = std::pow(base_, -2.0 * double(i) / double(rd));
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * theta[i];  // in double: see encoder.h
        cos_out[t * half + i] = std::cos(angle);
        sin_out[t * half + i] = std::sin(angle);
      }
  }

 private:
  double base_;
  RotaryPairing pairing_;
  double fraction_;
};

const EncoderRegistration kRegistration{{
    .name = "rope",
    .family = Family::rotary,
    .description = "rotary position embedding: rotate query/key pairs (Su et al. 2021)",
    .version = 1,
    .params =
        {
            ParamSpec::number("base", 10000.0, "frequency base: theta_i = base^(-2i/d')").above(1),
            ParamSpec::choice("layout", "half", {"half", "interleaved"},
                              "half: pairs (x_i, x_{i+d'/2}) (NeoX/HF); interleaved: pairs "
                              "(x_2i, x_2i+1) (GPT-J/Meta)"),
            ParamSpec::number("rotary_fraction", 1.0,
                              "fraction of head_dim that rotates (rounded down to even)")
                .above(0)
                .at_most(1),
        },
    .factory = [](const Params& p) { return std::make_unique<Rope>(p); },
}};

}  // namespace
}  // namespace posbench
