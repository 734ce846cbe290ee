// precision — numerical error of each scheme stored in float32 and in bfloat16, against its
// float64 values, at positions up to `max_position` (default 10^6). Positions: 0, 1, 10, 100,
// ..., the powers of ten up to max_position, max_position itself, and `samples` uniform random
// positions in [0, max_position] (stream "precision/positions"). Each position is its own
// encoder call (seq_len p + 1); the error at p is the max abs error over
//   additive : the table row PE(p)                                   [dim]
//   rotary   : R(p) u, u a seeded unit vector (stream "precision/u")  [dim]
//   bias     : b_h(p, k) for every head h and every sampled k <= p    [heads, K]
// Variants:
//   float32        : posbench's path (harness/analysis/apply.h): float64 math, rounded once to
//   float32
//                    (rotary: u stored in float32 too).
//   bfloat16       : the float32 result rounded to bfloat16 (round to nearest even, keep the top
//                    16 bits; rotary: u also stored in bfloat16). bfloat16 has 8 significant
//                    bits: integers are exact only up to 256, and a value of size 2^e carries an
//                    error up to 2^(e-8).
//   naive_float32  : what an implementation computing the angle in float32 gets:
//                    angle = float32(p) * float32(theta_i) in float32, then float32 sin/cos (and,
//                    rotary, the rotation in float32). Only for schemes with a closed-form
//                    angle (Encoder::angular_form: sinusoidal, plain RoPE); NaN otherwise. Its
//                    reference is the float64 closed form magnitude * sin/cos(p * theta_i).
//                    At p = 10^6 the float32 product alone is off by up to ulp(p theta)/2 ~ 0.03
//                    rad (max_angle_error_naive_float32), which is why posbench computes angles
//                    in double. (A rotated unit vector's entries are ~ 1/sqrt(dim), so its error
//                    is that much smaller than the angle's.)
// Positions a scheme cannot produce (learned with out_of_range "error") are NaN in the curves,
// listed in extra.unsupported_positions, and make the status "unsupported".
#include <algorithm>
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

struct Errors {
  double f32 = kNaN, bf16 = kNaN, naive = kNaN, max_abs = kNaN;
  double angle = kNaN;  // naive: max_i |float32(p) * float32(theta_i) - p theta_i|  [rad]
};

// The naive float32 angle of pair i and its error against the float64 angle p * theta.
float naive_angle(int64_t p, double theta) { return float(p) * float(theta); }
double naive_angle_error(int64_t p, const std::vector<double>& inv_freq) {
  double m = 0;
  for (double theta : inv_freq)
    m = std::max(m, std::fabs(double(naive_angle(p, theta)) - double(p) * theta));
  return m;
}

class Precision final : public Experiment {
 public:
  explicit Precision(const Params& p)
      : dim_(p.integer("dim")),
        heads_(p.integer("heads")),
        samples_(p.integer("samples")),
        max_position_(p.integer("max_position")) {}

  void check(const EncoderInstance& enc) const override { enc.encoder->check_shape(dim_, heads_); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    const CheckedSize npos = CheckedSize(samples_) + 32;
    const CheckedSize row = enc.family == Family::bias ? npos * heads_ : CheckedSize(dim_);
    // Reference, float32 and bfloat16 copies of one row, the curves. (A learned table of
    // max_len rows is the encoder's own memory.)
    return (row * (8 + 4 + 4 + 8) + npos * 4 * 8).saturated();
  }

  std::vector<int64_t> sample_positions(uint64_t seed) const {
    std::vector<int64_t> pos = {0, 1};
    for (int64_t p = 10; p <= max_position_; p *= 10) pos.push_back(p);
    pos.push_back(max_position_);
    Rng rng(seed, "precision/positions");
    for (int64_t s = 0; s < samples_; ++s)
      pos.push_back(std::min(max_position_, int64_t(rng.uniform() * double(max_position_ + 1))));
    std::sort(pos.begin(), pos.end());
    pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
    return pos;
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Encoder& e = *enc.encoder;
    const std::vector<int64_t> pos = sample_positions(ctx.seed);
    std::vector<double> u;
    if (enc.family == Family::rotary) u = Rng(ctx.seed, "precision/u").unit_vector(dim_);

    Curve cf{"abs_error_float32", "position", "positions", "", {}, {}};
    Curve cb{"abs_error_bfloat16", "position", "positions", "", {}, {}};
    Curve cn{"abs_error_naive_float32", "position", "positions", "", {}, {}};
    Curve ca{"angle_error_naive_float32", "position", "positions", "rad", {}, {}};
    std::vector<int64_t> unsupported;
    std::string first_problem;
    Errors worst{0, 0, 0, 0, 0};
    int64_t max_supported = -1;
    bool has_naive = false;
    for (int64_t p : pos) {
      Errors err;
      try {
        switch (enc.family) {
          case Family::additive:
            err = additive_errors(e, p);
            break;
          case Family::rotary:
            err = rotary_errors(e, p, u);
            break;
          case Family::bias:
            err = bias_errors(e, p, pos);
            break;
        }
        max_supported = p;
      } catch (const UnsupportedPosition& ex) {
        if (unsupported.empty()) first_problem = ex.what();
        unsupported.push_back(p);
      }
      cf.x.push_back(double(p)), cb.x.push_back(double(p)), cn.x.push_back(double(p));
      ca.x.push_back(double(p));
      cf.y.push_back(err.f32), cb.y.push_back(err.bf16), cn.y.push_back(err.naive);
      ca.y.push_back(err.angle);
      // NaN-skipping maxima (std::max(x, NaN) keeps x).
      if (!std::isnan(err.f32)) worst.f32 = std::max(worst.f32, err.f32);
      if (!std::isnan(err.bf16)) worst.bf16 = std::max(worst.bf16, err.bf16);
      if (!std::isnan(err.max_abs)) worst.max_abs = std::max(worst.max_abs, err.max_abs);
      if (!std::isnan(err.naive)) {
        has_naive = true;
        worst.naive = std::max(worst.naive, err.naive);
        worst.angle = std::max(worst.angle, err.angle);
      }
    }
    // Values are table entries, rotated-vector entries or logits: dimensionless ("1").
    const std::string unit = "1";
    cf.y_unit = cb.y_unit = cn.y_unit = unit;
    const bool any = max_supported >= 0;
    EncoderOutcome out;
    out.metrics = {
        {"max_abs_error_float32", any ? worst.f32 : kNaN, unit},
        {"max_abs_error_bfloat16", any ? worst.bf16 : kNaN, unit},
        {"max_abs_error_naive_float32", has_naive ? worst.naive : kNaN, unit},
        {"max_angle_error_naive_float32", has_naive ? worst.angle : kNaN, "rad"},
        {"max_abs_value", any ? worst.max_abs : kNaN, unit},
        {"max_supported_position", any ? double(max_supported) : kNaN, "positions"},
    };
    out.curves = {cf, cb, cn, ca};
    out.extra["positions"] = pos;
    out.extra["naive_float32"] =
        has_naive ? "float32 angle p * theta, float32 sin/cos"
                  : "not applicable: the scheme has no closed-form angle (Encoder::angular_form)";
    if (!unsupported.empty()) {
      out.status = Status::unsupported;
      out.note = std::to_string(unsupported.size()) + " of " + std::to_string(pos.size()) +
                 " positions unsupported (first: " + first_problem + ")";
      out.extra["unsupported_positions"] = unsupported;
    }
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>&, ExperimentResult& r) const override {
    r.summary_columns = {"max_abs_error_float32", "max_abs_error_bfloat16",
                         "max_abs_error_naive_float32", "max_angle_error_naive_float32",
                         "max_abs_value"};
    const float mp = float(max_position_);
    r.extra["bfloat16_exact_integer_limit"] = 256;
    r.extra["max_position_in_bfloat16"] = double(round_to_bfloat16(mp));
    r.extra["max_position_in_float32"] = double(mp);
  }

 private:
  static double max_abs_diff(const double* ref, const float* x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(x[i]) - ref[i]));
    return m;
  }
  static double max_abs(const double* x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
    return m;
  }

  Errors additive_errors(const Encoder& e, int64_t p) const {
    const int64_t one[1] = {p};
    std::vector<double> ref(dim_);
    std::vector<float> f(dim_);
    positional_table<double>(e, one, dim_, ref.data());
    positional_table<float>(e, one, dim_, f.data());
    Errors err;
    err.max_abs = max_abs(ref.data(), ref.size());
    err.f32 = max_abs_diff(ref.data(), f.data(), f.size());
    for (float& v : f) v = round_to_bfloat16(v);
    err.bf16 = max_abs_diff(ref.data(), f.data(), f.size());
    if (auto form = e.angular_form(dim_, RotaryContext{Role::query, p + 1})) {
      const float mag = float(form->magnitude);
      double m = 0;
      for (double theta : form->inv_freq) {
        const float angle = naive_angle(p, theta);
        const double exact = double(p) * theta;
        m = std::max(m,
                     std::fabs(double(mag * std::sin(angle)) - form->magnitude * std::sin(exact)));
        m = std::max(m,
                     std::fabs(double(mag * std::cos(angle)) - form->magnitude * std::cos(exact)));
      }
      err.naive = m;
      err.angle = naive_angle_error(p, form->inv_freq);
    }
    return err;
  }

  Errors rotary_errors(const Encoder& e, int64_t p, const std::vector<double>& u) const {
    const int64_t one[1] = {p};
    const RotaryContext ctx{Role::query, p + 1};
    std::vector<double> ref = u;
    rotate<double>(e, one, 1, dim_, ctx, ref.data());
    std::vector<float> f(dim_), b(dim_);
    for (int64_t c = 0; c < dim_; ++c) f[c] = float(u[c]), b[c] = round_to_bfloat16(float(u[c]));
    rotate<float>(e, one, 1, dim_, ctx, f.data());
    rotate<float>(e, one, 1, dim_, ctx, b.data());
    for (float& v : b) v = round_to_bfloat16(v);
    Errors err;
    err.max_abs = max_abs(ref.data(), ref.size());
    err.f32 = max_abs_diff(ref.data(), f.data(), f.size());
    err.bf16 = max_abs_diff(ref.data(), b.data(), b.size());
    if (auto form = e.angular_form(dim_, ctx)) {
      // Everything in float32: angle, sin/cos, and the rotation itself.
      const int64_t rd = e.rotary_dims(dim_), half = rd / 2;
      const RotaryPairing pairing = e.rotary_pairing();
      const float mag = float(form->magnitude);
      std::vector<float> x(dim_);
      for (int64_t c = 0; c < dim_; ++c) x[c] = float(u[c]);
      for (int64_t i = 0; i < half && i < int64_t(form->inv_freq.size()); ++i) {
        const float angle = naive_angle(p, form->inv_freq[i]);
        const float cs = mag * std::cos(angle), sn = mag * std::sin(angle);
        const int64_t ia = pairing == RotaryPairing::half ? i : 2 * i;
        const int64_t ib = pairing == RotaryPairing::half ? i + half : 2 * i + 1;
        const float a = x[ia], bb = x[ib];
        x[ia] = a * cs - bb * sn;
        x[ib] = a * sn + bb * cs;
      }
      err.naive = max_abs_diff(ref.data(), x.data(), x.size());
      err.angle = naive_angle_error(p, form->inv_freq);
    }
    return err;
  }

  Errors bias_errors(const Encoder& e, int64_t p, const std::vector<int64_t>& pos) const {
    const int64_t one[1] = {p};
    std::vector<int64_t> keys;
    for (int64_t k : pos)
      if (k <= p) keys.push_back(k);
    const size_t n = size_t(heads_) * keys.size();
    std::vector<double> ref(n);
    std::vector<float> f(n, 0.0f);
    e.bias(one, keys, heads_, ref.data());
    add_bias<float>(e, one, keys, heads_, f.data());
    Errors err;
    err.max_abs = max_abs(ref.data(), n);
    err.f32 = max_abs_diff(ref.data(), f.data(), n);
    for (float& v : f) v = round_to_bfloat16(v);
    err.bf16 = max_abs_diff(ref.data(), f.data(), n);
    return err;
  }

  int64_t dim_, heads_, samples_, max_position_;
};

std::vector<ParamSpec> precision_params() {
  std::vector<ParamSpec> specs =
      property_common_params("unused by this experiment (positions come from max_position)",
                             "random positions in [0, max_position] besides 0, 1, 10, ...");
  specs.push_back(ParamSpec::integer("max_position", 1000000,
                                     "largest position evaluated (the float64 reference is "
                                     "accurate to ~1e-8 at 1e8)")
                      .at_least(1)
                      .at_most(1e8));
  return specs;
}

const ExperimentRegistration kRegistration{{
    .name = "precision",
    .description = "float32 / bfloat16 error vs float64 up to max_position, and the error of a "
                   "naive float32-angle implementation",
    .params = precision_params(),
    .metrics =
        {
            {"max_abs_error_float32", "1",
             "the largest |float32 value - float64 value| over the positions tried (posbench's "
             "path: float64 math rounded once)",
             "<= max_abs_value * 2^-24 (one rounding)"},
            {"max_abs_error_bfloat16", "1", "the same with the float32 result rounded to bfloat16",
             "<= max_abs_value * 2^-8"},
            {"max_abs_error_naive_float32", "1",
             "sinusoidal, plain rope: the error of computing the angle p * theta in float32 (null: "
             "no closed-form angle)",
             "grows with p: ~ulp(p theta) at large p"},
            {"max_angle_error_naive_float32", "rad",
             "the largest error of the float32 angle p * theta", "~0.03 rad at p = 10^6"},
            {"max_abs_value", "1",
             "the largest |value| compared (errors are relative to this scale)",
             "sinusoidal, rope (unit u): <= 1"},
            {"max_supported_position", "positions",
             "the largest position the scheme produced (null: none)", ""},
        },
    .factory = [](const Params& p) { return std::make_unique<Precision>(p); },
}};

}  // namespace
}  // namespace posbench
