// sinusoidal — Vaswani et al. 2017, "Attention Is All You Need", §3.5:
//   PE(p, 2i) = sin(p * base^(-2i/d)),  PE(p, 2i+1) = cos(p * base^(-2i/d)),  i in [0, d/2).
// (A widely copied implementation uses the exponent 2*(2i)/d; that is wrong, and the tests
// pin the formula above.) `layout` "concat" puts all sines in columns [0, d/2) and all
// cosines in [d/2, d) instead of interleaving them.
#include <cmath>
#include <vector>

#include "encoders/registry.h"

namespace posbench {
namespace {

class Sinusoidal final : public Encoder {
 public:
  explicit Sinusoidal(const Params& p)
      : base_(p.number("base")), concat_(p.string("layout") == "concat") {}

  Family family() const override { return Family::additive; }

  void check_shape(int64_t dim, int64_t) const override {
    if (dim <= 0 || dim % 2 != 0)
      throw UserError("", "sinusoidal needs an even, positive dim; got " + std::to_string(dim));
  }

  void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const override {
    check_shape(dim, 1);
    const int64_t half = dim / 2;
    std::vector<double> inv_freq(half);
    for (int64_t i = 0; i < half; ++i)
      inv_freq[i] = std::pow(base_, -2.0 * double(i) / double(dim));
    for (size_t t = 0; t < positions.size(); ++t) {
      double* row = out + t * dim;
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * inv_freq[i];
        row[concat_ ? i : 2 * i] = std::sin(angle);
        row[concat_ ? i + half : 2 * i + 1] = std::cos(angle);
      }
    }
  }

  // Columns of pair i are sin/cos(p * base^(-2i/d)): at 2i/2i+1 ("interleaved") or at
  // i/i+d/2 ("concat").
  std::optional<AngularForm> angular_form(int64_t dim, const RotaryContext&) const override {
    check_shape(dim, 1);
    AngularForm form;
    form.columns = concat_ ? SinCosLayout::sin_then_cos : SinCosLayout::sin_cos_interleaved;
    for (int64_t i = 0; i < dim / 2; ++i)
      form.inv_freq.push_back(std::pow(base_, -2.0 * double(i) / double(dim)));
    return form;
  }

 private:
  double base_;
  bool concat_;
};

const EncoderRegistration kRegistration{{
    .name = "sinusoidal",
    .family = Family::additive,
    .description = "fixed sin/cos table added to embeddings (Vaswani et al. 2017)",
    .version = 1,
    .params =
        {
            ParamSpec::number("base", 10000.0, "wavelength base: frequency i is base^(-2i/d)")
                .above(1),
            ParamSpec::choice("layout", "interleaved", {"interleaved", "concat"},
                              "interleaved: sin/cos in columns 2i/2i+1; concat: all sin, then "
                              "all cos"),
        },
    .factory = [](const Params& p) { return std::make_unique<Sinusoidal>(p); },
}};

}  // namespace
}  // namespace posbench
