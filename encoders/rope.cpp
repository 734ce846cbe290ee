// rope — Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding":
//   pair i in [0, d'/2) has frequency theta_i = base^(-2i/d'), d' = rotated channels
//   (rotary_fraction * head_dim, rounded down to even); pair (a, b) at position p becomes
//   (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)).
// `layout` "half" pairs (x_i, x_{i+d'/2}) (GPT-NeoX / HuggingFace), "interleaved" pairs
// (x_{2i}, x_{2i+1}) (GPT-J / Meta). Channels past d' pass through unchanged.
//
// Context extension: `scaling` takes the `rope_scaling` dict of a HuggingFace config.json as it
// is ("rope_type", or the older key "type"; transformers v5's `rope_parameters` dict too, whose
// "rope_theta" and "partial_rotary_factor" are read as `base` and `rotary_fraction`) and gives
// the inverse frequencies f_i and the attention factor a of transformers' ROPE_INIT_FUNCTIONS
// (src/transformers/modeling_rope_utils.py), computed in float64. The factor multiplies cos and
// sin, as HuggingFace does: pair i at position p gets a cos(p f_i), a sin(p f_i). With d' the
// rotated channels and theta_i = base^(-2i/d'):
//   default  : f_i = theta_i, a = 1.
//   linear   : f_i = theta_i / factor (position interpolation, Chen et al. 2023).
//   ntk      : static NTK-aware scaling (bloc97): base' = base factor^(d'/(d'-2)). "ntk" is
//              posbench's name: transformers' ROPE_INIT_FUNCTIONS has no such rope_type (only
//              some forks add one), so Hub configs do not use it.
//   dynamic  : dynamic NTK (bloc97, emozilla): with n the sequence length and L the original
//              context, base' = base (factor n / L - (factor - 1))^(d'/(d'-2)) when n > L, else
//              theta_i unchanged. L is `max_position_embeddings`, which is what HuggingFace's
//              _compute_dynamic_ntk_parameters reads (it ignores the optional
//              scaling.original_max_position_embeddings); that key is L only when
//              max_position_embeddings is not given.
//   yarn     : Peng et al. 2023. L = scaling.original_max_position_embeddings, else
//              max_position_embeddings. Correction range from the inverse dimension formula
//              D(r) = d' ln(L / (2 pi r)) / (2 ln base): low = D(beta_fast), high = D(beta_slow)
//              (floor / ceil when `truncate`, default true), clamped to [0, d' - 1], high += 0.001
//              if equal; ramp_i = clamp((i - low) / (high - low), 0, 1);
//              f_i = theta_i (1 - ramp_i) + (theta_i / factor) ramp_i.
//              a = attention_factor, else mscale(factor, mscale) / mscale(factor, mscale_all_dim)
//              when both are given and non-zero, else mscale(factor, 1), where
//              mscale(s, m) = 0.1 m ln(s) + 1 (1 for s <= 1). Without `factor`, factor =
//              max_position_embeddings / original_max_position_embeddings (transformers v5).
//              An explicit factor that differs from that ratio is used as given, not refused:
//              Qwen's published configs do exactly that.
//   longrope : Ding et al. 2024 (Phi-3). L = scaling.original_max_position_embeddings, else
//              max_position_embeddings (Phi-3 keeps this value at the top level of config.json;
//              put it inside `scaling`). f_i = theta_i / e_i with e = long_factor when n > L, else
//              short_factor (both of length d'/2). a = attention_factor, else
//              sqrt(1 + ln(factor) / ln(L)) (1 for factor <= 1), factor = scaling.factor, else
//              max_position_embeddings / L.
//   llama3   : Llama 3.1. With L = original_max_position_embeddings and w_i = 2 pi / theta_i:
//              w_i > L / low_freq_factor: f_i = theta_i / factor; w_i < L / high_freq_factor:
//              f_i = theta_i; otherwise, s = (L / w_i - low_freq_factor) / (high_freq_factor -
//              low_freq_factor), f_i = (1 - s) theta_i / factor + s theta_i.
//
// The sequence length n (dynamic, longrope) is an input of the rotation: RotaryContext::seq_len,
// or the largest position of the call + 1 when it is 0 (HuggingFace uses max(position_ids) + 1).
// So with these two variants the rotation of a position depends on the length of the sequence it
// is part of: a key rotated and cached at length 2048 and a query rotated at length 16384 use
// different frequencies, and their logit is no longer a function of the offset alone
// (HuggingFace's KV cache has the same mismatch). The other variants are length-independent and
// describe themselves through angular_form(); dynamic and longrope do not.
//
// pretrained(): a scaled RoPE names the RoPE it extends (same base, layout and rotary fraction,
// no scaling) and that model's original context L: the L its rope_type reads above (dynamic:
// max_position_embeddings first; yarn, longrope: scaling.original_max_position_embeddings
// first; llama3: scaling.original_max_position_embeddings); linear and ntk have no L. That is
// length_extrapolation's default reference.
//
// Where HuggingFace only logs a warning, posbench refuses, naming the key (a factor below 1,
// beta_fast < beta_slow, a longrope list whose length is not d'/2, low_freq_factor >=
// high_freq_factor, an unknown key, a missing required key, llama3's
// original_max_position_embeddings >= max_position_embeddings).
// HuggingFace's names are aliases (ParamSpec::alias): `rope_theta` of base, `partial_rotary_factor`
// of rotary_fraction, `rope_scaling` and `rope_parameters` of scaling; a value given under two
// names must be the same. Rotary dims are floor(fraction * head_dim) rounded down to even
// (HuggingFace uses int(head_dim * partial_rotary_factor), the same whenever that is even).
// Inside `scaling` (transformers v5's rope_parameters), rope_theta and partial_rotary_factor
// override the defaults (base 10000, fraction 1, which cannot be told apart from given values
// here) and must equal any other base / rotary_fraction.
// `head_dim` (optional; an encoder entry's hf_config sets it from the model's config.json) makes
// check_shape refuse any other head_dim: the frequencies and longrope's per-pair factors belong
// to the model's head_dim, so a study at another dim would silently be a different model.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "encoders/registry.h"

namespace posbench {
namespace {

using nlohmann::json;

enum class Kind { none, linear, ntk, dynamic, yarn, longrope, llama3 };

struct KindInfo {
  const char* name;
  Kind kind;
};

// The rope_types; the keys each takes are declared in scaling_spec() below (HuggingFace's
// _validate_*_parameters, with "factor" optional for yarn because transformers v5 derives it).
const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> table = {
      {"default", Kind::none},    {"linear", Kind::linear}, {"ntk", Kind::ntk},
      {"dynamic", Kind::dynamic}, {"yarn", Kind::yarn},     {"longrope", Kind::longrope},
      {"llama3", Kind::llama3},
  };
  return table;
}

// Shortest round-trip text of a number: 1, 0.5, 500000.
std::string num_text(double v) { return fmt::format("{}", v); }

// HuggingFace's get_mscale (YaRN's attention temperature): 0.1 m ln(s) + 1, 1 for s <= 1.
double yarn_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * std::log(s) + 1.0; }

// Reads the scaling dict; every error is a UserError naming "scaling.<key>".
class ScalingReader {
 public:
  explicit ScalingReader(const json& dict) : d_(dict) {}

  bool has(const std::string& key) const { return d_.contains(key) && !d_[key].is_null(); }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw UserError("scaling." + key, message);
  }

  // Values were checked by scaling_spec(); these read them.
  double number(const std::string& key) const { return d_[key].get<double>(); }
  bool boolean(const std::string& key) const { return d_[key].get<bool>(); }
  std::vector<double> list(const std::string& key) const {
    return d_[key].get<std::vector<double>>();
  }
  // An integer >= 1 by the spec; `lo` is a stricter bound of one use (L >= 2 for longrope).
  int64_t integer(const std::string& key, int64_t lo) const {
    const int64_t v = d_[key].get<int64_t>();
    if (v < lo) fail(key, got_expected(d_[key], "an integer >= " + std::to_string(lo)));
    return v;
  }

  // A scaling factor >= 1: HuggingFace only warns about factors below 1, which shrink the
  // context instead of extending it.
  double factor() const { return number("factor"); }

 private:
  const json& d_;
};

struct Scaling {
  Kind kind = Kind::none;
  std::string name = "default";
  double factor = 1.0;
  int64_t original = 0;       // L, the original (pre-extension) context length (0: none)
  std::string original_from;  // the parameter L was read from
  double attention = 1.0;
  double beta_fast = 32.0, beta_slow = 1.0;
  bool truncate = true;
  std::vector<double> short_factor, long_factor;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
};

// The scaling dict as a declared tagged object: rope_type (or HuggingFace's older "type")
// picks the keys, each with its type and range; the cross-field rules (yarn's factor from
// max_position_embeddings, beta_fast >= beta_slow, ...) stay in read_scaling below.
ParamSpec scaling_spec() {
  const std::string factor_note =
      "(a factor below 1 shrinks the context instead of extending it; HuggingFace only warns "
      "about it)";
  auto factor = [&](bool required) {
    ParamSpec f = ParamSpec::number("factor", nullptr, "context extension factor s")
                      .at_least(1)
                      .note(factor_note);
    return required ? f.mandatory() : f;
  };
  auto original = [](bool required) {
    ParamSpec o = ParamSpec::integer("original_max_position_embeddings", nullptr,
                                     "L, the original (pre-extension) context length")
                      .at_least(1);
    return required ? o.mandatory() : o;
  };
  auto positive = [](const char* name, const char* what) {
    return ParamSpec::number(name, nullptr, what).above(0);
  };
  auto optional = [](ParamSpec b) {  // given or absent, no default written into the dict
    b.default_value = nullptr;
    return b;
  };
  auto factors = [](const char* name) {
    return ParamSpec::list_of(name, ParamSpec::number("", nullptr, "").above(0), nullptr,
                              "one factor per rotated pair (d'/2 of them)")
        .non_empty()
        .mandatory();
  };
  std::vector<ParamVariant> variants = {
      {"default", {}, "no scaling"},
      {"linear", {factor(true)}, "positions divided by factor (position interpolation)"},
      {"ntk", {factor(true)}, "base raised to base * factor^(d'/(d'-2)) (NTK-aware)"},
      {"dynamic", {factor(true), original(false)}, "NTK with the base grown past L"},
      {"yarn",
       {factor(false), original(false), positive("attention_factor", "attention temperature"),
        positive("beta_fast", "ramp end (rotations), default 32"),
        positive("beta_slow", "ramp start (rotations), default 1"),
        ParamSpec::number("mscale", nullptr, "DeepSeek mscale").at_least(0),
        ParamSpec::number("mscale_all_dim", nullptr, "DeepSeek mscale_all_dim").at_least(0),
        optional(ParamSpec::boolean("truncate", true, "round the ramp bounds (default true)"))},
       "YaRN: NTK-by-parts ramp and attention temperature"},
      {"longrope",
       {factors("short_factor"), factors("long_factor"), factor(false), original(false),
        positive("attention_factor", "attention temperature")},
       "LongRoPE: per-pair rescale factors, short/long by sequence length"},
      {"llama3",
       {factor(true),
        positive("low_freq_factor", "wavelengths above L / low_freq_factor are scaled").mandatory(),
        positive("high_freq_factor", "wavelengths below L / high_freq_factor are kept").mandatory(),
        original(true)},
       "Llama 3.1: wavelength-dependent interpolation"},
  };
  std::vector<ParamSpec> common = {
      ParamSpec::number("rope_theta", nullptr, "HuggingFace's name for base").above(1),
      ParamSpec::number("partial_rotary_factor", nullptr, "HuggingFace's name for rotary_fraction")
          .above(0)
          .at_most(1)};
  return ParamSpec::tagged("scaling", "rope_type", std::move(variants), std::move(common),
                           "HuggingFace rope_scaling dict, verbatim: rope_type (or type) and "
                           "its keys (factor, original_max_position_embeddings, ...)")
      .tag_alias("type");
}

class Rope final : public Encoder {
 public:
  explicit Rope(const Params& p)
      : base_(p.number("base")),
        pairing_(p.string("layout") == "half" ? RotaryPairing::half : RotaryPairing::interleaved),
        fraction_(p.number("rotary_fraction")) {
    if (base_ != 10000.0) base_from_ = "base";
    if (fraction_ != 1.0) fraction_from_ = "rotary_fraction";
    std::optional<int64_t> max_pos;
    if (p.has("max_position_embeddings")) max_pos = p.integer("max_position_embeddings");
    if (p.has("head_dim")) {
      model_head_dim_ = p.integer("head_dim");
      if (model_head_dim_ % 2 != 0)
        throw UserError("head_dim", got_expected(model_head_dim_,
                                                 "an even integer >= 2 (rope "
                                                 "rotates pairs of channels)"));
    }
    if (p.has("scaling")) read_scaling(p.json("scaling"), max_pos);
  }

  Family family() const override { return Family::rotary; }

  void check_shape(int64_t head_dim, int64_t) const override {
    if (model_head_dim_ != 0 && head_dim != model_head_dim_)
      throw UserError("head_dim",
                      "the model's head_dim is " + std::to_string(model_head_dim_) +
                          ", but rope is asked for head_dim " + std::to_string(head_dim) +
                          " (the experiment's dim, or the last axis of apply's array); the "
                          "frequencies base^(-2i/d') and any per-pair factors depend on it: "
                          "expected head_dim " +
                          std::to_string(model_head_dim_) +
                          ", or give \"head_dim\": null in params to use these settings at "
                          "another head_dim");
    if (head_dim <= 0 || head_dim % 2 != 0)
      throw UserError("", "rope needs an even, positive head_dim; got " + std::to_string(head_dim));
    const int64_t rd = rotary_dims(head_dim);
    const std::string fraction_param = fraction_from_.empty() ? "rotary_fraction" : fraction_from_;
    if (rd < 2)
      throw UserError(fraction_param, fraction_param + " " + num_text(fraction_) + " of head_dim " +
                                          std::to_string(head_dim) +
                                          " rotates no pair; expected at least 2 channels");
    if ((s_.kind == Kind::ntk || s_.kind == Kind::dynamic) && rd < 4)
      throw UserError("scaling.rope_type",
                      "\"" + s_.name + "\" scaling raises the base to the power d'/(d'-2), so it " +
                          "needs at least 4 rotated channels; got d' = " + std::to_string(rd) +
                          " (head_dim " + std::to_string(head_dim) + ", " + fraction_param + " " +
                          num_text(fraction_) + ")");
    if (s_.kind == Kind::longrope)
      for (const auto* list : {&s_.short_factor, &s_.long_factor})
        if (int64_t(list->size()) != rd / 2)
          throw UserError(
              list == &s_.short_factor ? "scaling.short_factor" : "scaling.long_factor",
              "has " + std::to_string(list->size()) +
                  " entries, expected one per rotated pair: " + "d'/2 = " + std::to_string(rd / 2) +
                  " (head_dim " + std::to_string(head_dim) + ", " + fraction_param + " " +
                  num_text(fraction_) + "; HuggingFace only warns about it)");
  }

  int64_t rotary_dims(int64_t head_dim) const override {
    // Round down to even, as HuggingFace's partial_rotary_factor does.
    return (static_cast<int64_t>(std::floor(fraction_ * double(head_dim))) / 2) * 2;
  }
  RotaryPairing rotary_pairing() const override { return pairing_; }

  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext& ctx, double* cos_out,
                           double* sin_out) const override {
    check_shape(head_dim, 1);
    if (positions.empty()) return;
    const int64_t rd = rotary_dims(head_dim), half = rd / 2;
    const int64_t n =
        ctx.seq_len > 0 ? ctx.seq_len : *std::max_element(positions.begin(), positions.end()) + 1;
    const std::vector<double> f = inv_freq(rd, n);
    const double a = s_.attention;
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * f[i];  // in double: see encoder.h
        cos_out[t * half + i] = a * std::cos(angle);
        sin_out[t * half + i] = a * std::sin(angle);
      }
  }

  std::optional<AngularForm> angular_form(int64_t head_dim, const RotaryContext&) const override {
    // dynamic and longrope frequencies depend on the sequence length: no closed form.
    if (s_.kind == Kind::dynamic || s_.kind == Kind::longrope) return std::nullopt;
    check_shape(head_dim, 1);
    // Coefficients are per pair, so no column layout (`columns` unset); the channel pairing
    // is rotary_pairing().
    return AngularForm{inv_freq(rotary_dims(head_dim), 0), s_.attention, std::nullopt};
  }

  // With scaling: the same RoPE (base, layout, rotary fraction as resolved, rope_theta and
  // partial_rotary_factor included) without it, at the L the rope_type reads (none for linear
  // and ntk, which have no original length).
  std::optional<Pretrained> pretrained() const override {
    if (s_.kind == Kind::none) return std::nullopt;
    Pretrained p;
    p.params = {{"base", base_},
                {"layout", pairing_ == RotaryPairing::half ? "half" : "interleaved"},
                {"rotary_fraction", fraction_}};
    if (s_.original > 0) p.length = s_.original, p.length_from = s_.original_from;
    return p;
  }

 private:
  void adopt_fraction(double value, const std::string& param) {
    if (!fraction_from_.empty() && value != fraction_)
      throw UserError(param, "got " + num_text(value) + ", but " + fraction_from_ + " is " +
                                 num_text(fraction_) +
                                 "; partial_rotary_factor is HuggingFace's name for "
                                 "rotary_fraction: give one of them, or equal values");
    fraction_ = value;
    fraction_from_ = param;
  }

  void read_scaling(const json& dict, std::optional<int64_t> max_pos) {
    // The dict was checked against scaling_spec(): rope_type is canonical (an older "type" is
    // folded into it), every key belongs to that type, required keys are there and every value
    // has its declared type and range. What is left here are the rules across keys.
    ScalingReader r(dict);
    const std::string name = dict.at("rope_type").get<std::string>();
    const KindInfo* info = nullptr;
    for (const auto& k : kinds())
      if (name == k.name) info = &k;
    if (!info) throw std::logic_error("rope: scaling_spec() admits rope_type \"" + name + "\"");
    s_.kind = info->kind;
    s_.name = info->name;

    // transformers v5's rope_parameters carry base and rotary fraction.
    if (r.has("rope_theta")) {
      const double theta = r.number("rope_theta");
      if (!base_from_.empty() && theta != base_)
        r.fail("rope_theta", "got " + num_text(theta) + ", but base is " + num_text(base_) +
                                 "; rope_theta is HuggingFace's name for base: give one of them, "
                                 "or equal values");
      base_ = theta;
      base_from_ = "scaling.rope_theta";
    }
    if (r.has("partial_rotary_factor"))
      adopt_fraction(r.number("partial_rotary_factor"), "scaling.partial_rotary_factor");

    switch (s_.kind) {
      case Kind::none:
        break;
      case Kind::linear:
      case Kind::ntk:
        s_.factor = r.factor();
        break;
      case Kind::dynamic:
        s_.factor = r.factor();
        if (r.has("original_max_position_embeddings")) {
          const int64_t orig = r.integer("original_max_position_embeddings", 1);
          s_.original = max_pos ? *max_pos : orig;
          s_.original_from =
              max_pos ? "max_position_embeddings" : "scaling.original_max_position_embeddings";
        } else if (max_pos) {
          s_.original = *max_pos;
          s_.original_from = "max_position_embeddings";
        } else {
          throw UserError("max_position_embeddings",
                          "missing: dynamic scaling needs the original context length L; give "
                          "max_position_embeddings (what HuggingFace reads) or "
                          "scaling.original_max_position_embeddings");
        }
        break;
      case Kind::yarn:
        read_yarn(r, max_pos);
        break;
      case Kind::longrope:
        read_longrope(r, max_pos);
        break;
      case Kind::llama3:
        s_.factor = r.factor();
        s_.low_freq_factor = r.number("low_freq_factor");
        s_.high_freq_factor = r.number("high_freq_factor");
        if (s_.low_freq_factor >= s_.high_freq_factor)
          r.fail("high_freq_factor",
                 "got " + num_text(s_.high_freq_factor) + ", expected more than low_freq_factor " +
                     num_text(s_.low_freq_factor) + " (HuggingFace only warns about it)");
        s_.original = r.integer("original_max_position_embeddings", 1);
        s_.original_from = "scaling.original_max_position_embeddings";
        if (max_pos && s_.original >= *max_pos)
          r.fail("original_max_position_embeddings",
                 "got " + std::to_string(s_.original) +
                     ", expected less than max_position_embeddings " + std::to_string(*max_pos) +
                     " (HuggingFace only warns about it)");
        break;
    }
  }

  // L = scaling.original_max_position_embeddings, else max_position_embeddings (named in
  // s_.original_from).
  int64_t original_or_max(ScalingReader& r, std::optional<int64_t> max_pos, int64_t lo) {
    if (r.has("original_max_position_embeddings")) {
      s_.original_from = "scaling.original_max_position_embeddings";
      return r.integer("original_max_position_embeddings", lo);
    }
    if (max_pos && *max_pos >= lo) {
      s_.original_from = "max_position_embeddings";
      return *max_pos;
    }
    r.fail("original_max_position_embeddings",
           max_pos ? "missing, and max_position_embeddings " + std::to_string(*max_pos) +
                         " is below " + std::to_string(lo) + "; give the original context length"
                   : "missing: \"" + s_.name +
                         "\" needs the original context length; give "
                         "scaling.original_max_position_embeddings or max_position_embeddings "
                         "(HuggingFace's fallback)");
  }

  void read_yarn(ScalingReader& r, std::optional<int64_t> max_pos) {
    s_.original = original_or_max(r, max_pos, 1);
    if (r.has("factor")) {
      s_.factor = r.factor();
    } else if (max_pos && r.has("original_max_position_embeddings")) {
      s_.factor = double(*max_pos) / double(s_.original);  // transformers v5
      if (s_.factor < 1.0)
        r.fail("factor",
               "missing, and max_position_embeddings / original_max_position_embeddings "
               "= " +
                   num_text(s_.factor) + " is below 1; give factor >= 1");
    } else {
      r.fail("factor",
             "missing: yarn requires factor (or both max_position_embeddings and "
             "scaling.original_max_position_embeddings, whose ratio transformers v5 uses instead)");
    }
    if (r.has("beta_fast")) s_.beta_fast = r.number("beta_fast");
    if (r.has("beta_slow")) s_.beta_slow = r.number("beta_slow");
    if (s_.beta_fast < s_.beta_slow)
      r.fail(r.has("beta_fast") ? "beta_fast" : "beta_slow",
             "beta_fast " + num_text(s_.beta_fast) + " is below beta_slow " +
                 num_text(s_.beta_slow) +
                 "; expected beta_fast >= beta_slow (defaults 32 and 1; HuggingFace only warns)");
    if (r.has("truncate")) s_.truncate = r.boolean("truncate");
    const double mscale = r.has("mscale") ? r.number("mscale") : 0.0;
    const double mscale_all_dim = r.has("mscale_all_dim") ? r.number("mscale_all_dim") : 0.0;
    if (r.has("attention_factor"))
      s_.attention = r.number("attention_factor");
    else if (mscale != 0.0 && mscale_all_dim != 0.0)
      s_.attention = yarn_mscale(s_.factor, mscale) / yarn_mscale(s_.factor, mscale_all_dim);
    else
      s_.attention = yarn_mscale(s_.factor, 1.0);
  }

  void read_longrope(ScalingReader& r, std::optional<int64_t> max_pos) {
    s_.short_factor = r.list("short_factor");
    s_.long_factor = r.list("long_factor");
    // L >= 2: the default attention factor divides by ln(L).
    s_.original = original_or_max(r, max_pos, 2);
    std::optional<double> factor;
    if (r.has("factor"))
      factor = r.factor();
    else if (max_pos)
      factor = double(*max_pos) / double(s_.original);
    if (factor) s_.factor = *factor;
    if (r.has("attention_factor")) {
      s_.attention = r.number("attention_factor");
    } else if (!factor) {
      r.fail("factor",
             "missing: longrope's default attention factor sqrt(1 + ln(factor) / ln(L)) needs "
             "factor, or max_position_embeddings (factor = max_position_embeddings / "
             "original_max_position_embeddings), or an explicit attention_factor");
    } else {
      s_.attention =
          *factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(*factor) / std::log(double(s_.original)));
    }
  }

  // Inverse frequencies f_i, i in [0, rd/2), at sequence length n (read by dynamic and
  // longrope only).
  std::vector<double> inv_freq(int64_t rd, int64_t n) const {
    const int64_t half = rd / 2;
    const double d = double(rd);
    auto plain = [&](double base) {
      std::vector<double> f(half);
      for (int64_t i = 0; i < half; ++i) f[i] = std::pow(base, -2.0 * double(i) / d);
      return f;
    };
    std::vector<double> f = plain(base_);
    switch (s_.kind) {
      case Kind::none:
        break;
      case Kind::linear:
        for (auto& v : f) v /= s_.factor;
        break;
      case Kind::ntk:
        f = plain(base_ * std::pow(s_.factor, d / (d - 2.0)));
        break;
      case Kind::dynamic:
        if (n > s_.original)
          f = plain(base_ *
                    std::pow(s_.factor * double(n) / double(s_.original) - (s_.factor - 1.0),
                             d / (d - 2.0)));
        break;
      case Kind::yarn: {
        const double L = double(s_.original);
        auto correction_dim = [&](double rotations) {
          return d * std::log(L / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base_));
        };
        double low = correction_dim(s_.beta_fast), high = correction_dim(s_.beta_slow);
        if (s_.truncate) low = std::floor(low), high = std::ceil(high);
        low = std::max(low, 0.0);
        high = std::min(high, d - 1.0);
        if (low == high) high += 0.001;  // as HuggingFace: avoid a zero-width ramp
        for (int64_t i = 0; i < half; ++i) {
          const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
          const double extrapolation = 1.0 - ramp;  // weight of the unscaled frequency
          f[i] = (f[i] / s_.factor) * (1.0 - extrapolation) + f[i] * extrapolation;
        }
        break;
      }
      case Kind::longrope: {
        const std::vector<double>& e = n > s_.original ? s_.long_factor : s_.short_factor;
        for (int64_t i = 0; i < half; ++i) f[i] /= e[i];
        break;
      }
      case Kind::llama3: {
        const double L = double(s_.original);
        const double low_wavelen = L / s_.low_freq_factor, high_wavelen = L / s_.high_freq_factor;
        for (auto& v : f) {
          const double wavelen = 2.0 * std::numbers::pi / v;
          if (wavelen > low_wavelen) {
            v /= s_.factor;
          } else if (!(wavelen < high_wavelen)) {
            const double smooth =
                (L / wavelen - s_.low_freq_factor) / (s_.high_freq_factor - s_.low_freq_factor);
            v = (1.0 - smooth) * v / s_.factor + smooth * v;
          }
        }
        break;
      }
    }
    return f;
  }

  double base_;
  RotaryPairing pairing_;
  double fraction_;
  std::string base_from_, fraction_from_;  // which param set base / fraction ("" = default)
  int64_t model_head_dim_ = 0;             // params.head_dim (0: any head_dim)
  Scaling s_;
};

const EncoderRegistration kRegistration{{
    .name = "rope",
    .family = Family::rotary,
    .description = "rotary position embedding: rotate query/key pairs (Su et al. 2021)",
    // Still 1: every configuration valid before `scaling` existed gives the same numbers.
    .version = 1,
    .params =
        {
            ParamSpec::number("base", 10000.0, "frequency base: theta_i = base^(-2i/d')")
                .above(1)
                .alias("rope_theta"),
            ParamSpec::choice("layout", "half", {"half", "interleaved"},
                              "half: pairs (x_i, x_{i+d'/2}) (NeoX/HF); interleaved: pairs "
                              "(x_2i, x_2i+1) (GPT-J/Meta)"),
            ParamSpec::number("rotary_fraction", 1.0,
                              "fraction of head_dim that rotates (rounded down to even)")
                .above(0)
                .at_most(1)
                .alias("partial_rotary_factor"),
            scaling_spec().alias("rope_scaling").alias("rope_parameters"),
            ParamSpec::integer("max_position_embeddings", nullptr,
                               "HuggingFace's max_position_embeddings: L of dynamic scaling; "
                               "fallback L and factor source of yarn and longrope")
                .at_least(1),
            ParamSpec::integer("head_dim", nullptr,
                               "the model's head dimension (an hf_config sets it): rope then "
                               "refuses any other head_dim, since the frequencies depend on it")
                .at_least(2)
                .note("(even)"),
        },
    .factory = [](const Params& p) { return std::make_unique<Rope>(p); },
}};

}  // namespace
}  // namespace posbench
