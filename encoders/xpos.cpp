// xpos — Sun et al. 2022, "A Length-Extrapolatable Transformer" (xPos, §3.2):
//   RoPE with a per-pair exponential decay. With d' rotated channels, pair i in [0, d'/2) has
//     theta_i = base^(-2i/d'),   zeta_i = (2i + 0.4 d') / (1.4 d')   (in (0, 1))
//   and a query at position n / a key at position m are transformed as
//     q_n -> zeta_i^(+n/scale_base) R(n) q_n,      k_m -> zeta_i^(-m/scale_base) R(m) k_m,
//   so the logit carries zeta_i^((n - m)/scale_base) on pair i: it depends only on n - m, and
//   decays with distance for n > m (causal attention). The zeta power is the magnitude of the
//   rotary coefficients (cos_out = a cos(n theta_i), sin_out = a sin(n theta_i), see
//   Encoder::rotary_coefficients); RotaryContext::role says which side is being rotated.
//
// Reference implementation: microsoft/torchscale, torchscale/component/xpos_relative_position.py
// (interleaved pairing; `scale` = zeta; query upscaled, key `downscale=True`). torchscale centres
// the exponent: over a sequence of total length L it uses n - ceil(L/2) in place of n
// (`min_pos = -(length + offset) // 2`), while the angle n theta_i uses the raw position.
// Centring multiplies q_n . k_m by zeta_i^(-c/scale_base) * zeta_i^(+c/scale_base) = 1, so scores
// are the same; it only keeps the magnitudes near 1 for long sequences. posbench offers both:
//   centre = false (default): the paper's formula with raw positions. Coefficients depend only on
//     the position and the role, so a key rotated in one call and a query in another (a cache)
//     still give s(q, k, n, m) = f(n - m).
//   centre = true: torchscale's exponent (n - ceil(L/2))/scale_base, L = RotaryContext::seq_len
//     (0: largest position of the call + 1). Scores depend only on n - m when the query and the
//     key are rotated with the same L (as attention_logit and torchscale do).
// Range: zeta_0 = 2/7, so the magnitude is e^(±1.2528 p/scale_base); an exponent beyond ±708
// (p > ~289,000 with scale_base 512, uncentred) leaves float64, and such a position is refused
// with UnsupportedPosition rather than returning inf or 0. (float32 storage overflows earlier,
// at |exponent| > 88.)
// `layout` defaults to "interleaved" as in torchscale; "half" pairs (x_i, x_{i+d'/2}) as rope.
// `rotary_fraction` as in rope: d' = floor(fraction * head_dim) rounded down to even.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "encoders/registry.h"

namespace posbench {
namespace {

// Largest |ln a| allowed for a magnitude a: e^708 ~ 3e307 and e^-708 ~ 3e-308 are normal doubles.
constexpr double kMaxLogMagnitude = 708.0;

class Xpos final : public Encoder {
 public:
  explicit Xpos(const Params& p)
      : base_(p.number("base")),
        scale_base_(p.number("scale_base")),
        pairing_(p.string("layout") == "half" ? RotaryPairing::half : RotaryPairing::interleaved),
        fraction_(p.number("rotary_fraction")),
        centre_(p.boolean("centre")) {}

  Family family() const override { return Family::rotary; }

  void check_shape(int64_t head_dim, int64_t) const override {
    if (head_dim <= 0 || head_dim % 2 != 0)
      throw UserError("", "xpos needs an even, positive head_dim; got " + std::to_string(head_dim));
    if (rotary_dims(head_dim) < 2)
      throw UserError("rotary_fraction", "rotary_fraction " + std::to_string(fraction_) +
                                             " of head_dim " + std::to_string(head_dim) +
                                             " rotates no pair; expected at least 2 channels");
  }

  int64_t rotary_dims(int64_t head_dim) const override {
    return (static_cast<int64_t>(std::floor(fraction_ * double(head_dim))) / 2) * 2;
  }
  RotaryPairing rotary_pairing() const override { return pairing_; }

  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext& ctx, double* cos_out,
                           double* sin_out) const override {
    check_shape(head_dim, 1);
    if (positions.empty()) return;
    const int64_t rd = rotary_dims(head_dim), half = rd / 2;
    std::vector<double> theta(half), log_zeta(half);
    for (int64_t i = 0; i < half; ++i) {
      theta[i] = std::pow(base_, -2.0 * double(i) / double(rd));
      log_zeta[i] = std::log((2.0 * double(i) + 0.4 * double(rd)) / (1.4 * double(rd)));
    }
    int64_t centre = 0;
    if (centre_) {
      const int64_t len =
          ctx.seq_len > 0 ? ctx.seq_len : *std::max_element(positions.begin(), positions.end()) + 1;
      centre = len / 2 + len % 2;  // ceil(L/2): torchscale's -min_pos = -(-L // 2)
    }
    const double sign = ctx.role == Role::query ? 1.0 : -1.0;
    for (size_t t = 0; t < positions.size(); ++t) {
      const double exponent = sign * double(positions[t] - centre) / scale_base_;
      // |ln zeta_i| is largest at i = 0, so pair 0 bounds the whole row.
      if (std::abs(exponent * log_zeta[0]) > kMaxLogMagnitude)
        throw UnsupportedPosition(
            "xpos: position " + std::to_string(positions[t]) + " needs the scale zeta_0^(" +
            std::to_string(exponent) + ") = e^" + std::to_string(exponent * log_zeta[0]) +
            ", outside the float64 range (|exponent of e| <= 708); expected |position" +
            (centre_ ? " - ceil(seq_len/2)" : "") +
            "| <= " + std::to_string(int64_t(kMaxLogMagnitude / -log_zeta[0] * scale_base_)) +
            (centre_ ? "" : " (centre = true doubles the sequence length that fits)"));
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * theta[i];  // raw position, in double
        const double a = std::exp(exponent * log_zeta[i]);     // zeta_i^exponent
        cos_out[t * half + i] = a * std::cos(angle);
        sin_out[t * half + i] = a * std::sin(angle);
      }
    }
  }

  // The magnitude zeta_i^(±n/scale_base) depends on the position and the pair, so there is no
  // position-independent closed form for fast kernels.
  std::optional<AngularForm> angular_form(int64_t, const RotaryContext&) const override {
    return std::nullopt;
  }

 private:
  double base_;
  double scale_base_;
  RotaryPairing pairing_;
  double fraction_;
  bool centre_;
};

const EncoderRegistration kRegistration{{
    .name = "xpos",
    .family = Family::rotary,
    .description =
        "RoPE with per-pair decay zeta_i^((n-m)/scale_base), length-extrapolatable (Sun et al. "
        "2022)",
    .version = 1,
    .params =
        {
            ParamSpec::number("base", 10000.0, "frequency base: theta_i = base^(-2i/d')").above(1),
            ParamSpec::number("scale_base", 512.0,
                              "decay length: query scaled by zeta_i^(n/scale_base), key by "
                              "zeta_i^(-m/scale_base)")
                .above(0),
            ParamSpec::choice("layout", "interleaved", {"half", "interleaved"},
                              "interleaved: pairs (x_2i, x_2i+1) (torchscale, the reference); "
                              "half: pairs (x_i, x_{i+d'/2}) (NeoX/HF)"),
            ParamSpec::number("rotary_fraction", 1.0,
                              "fraction of head_dim that rotates (rounded down to even)")
                .above(0)
                .at_most(1),
            ParamSpec::boolean("centre", false,
                               "use torchscale's centred exponent (p - ceil(seq_len/2)) / "
                               "scale_base; scores are unchanged, magnitudes stay nearer 1"),
        },
    .factory = [](const Params& p) { return std::make_unique<Xpos>(p); },
}};

}  // namespace
}  // namespace posbench
