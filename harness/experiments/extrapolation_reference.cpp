#include "harness/experiments/extrapolation_reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "harness/analysis/position_features.h"

namespace posbench::extrapolation {

using nlohmann::json;

json Reference::to_json() const {
  return {{"name", name},
          {"params", params},
          {"length", length},
          {"is_self", is_self},
          {"source", source}};
}

Reference resolve_reference(const EncoderInstance& enc, int64_t train_length) {
  Reference r;
  if (enc.reference) {
    const EncoderReference& given = *enc.reference;
    r.encoder = given.encoder.encoder;
    r.name = given.encoder.name;
    r.params = given.encoder.params;
    r.length = given.length;
    r.is_self = given.encoder.name == enc.name && given.encoder.params == enc.params;
    r.source = "explicit: the encoder entry's \"reference\"";
    return r;
  }
  if (const auto pre = enc.encoder->pretrained()) {
    const EncoderInfo& info = EncoderRegistry::instance().get(enc.name, "encoder");
    Diagnostics diag;
    r.params = resolve_params(info.params, pre->params, "pretrained()", diag);
    if (!diag.ok())
      throw std::logic_error(
          "scheme '" + enc.name +
          "': pretrained() gives params that do not resolve: " + diag.problems().front().str());
    r.encoder = info.build(Params(r.params));
    r.name = enc.name;
    r.length = pre->length.value_or(train_length);
    r.is_self = r.params == enc.params;
    r.source = "default: '" + enc.name + "' without its context extension (pretrained()), at " +
               (pre->length ? "L_ref = " + pre->length_from
                            : std::string("L_ref = train_length (the extension names no original "
                                          "length)"));
    return r;
  }
  r.encoder = enc.encoder;
  r.name = enc.name;
  r.params = enc.params;
  r.length = train_length;
  r.is_self = true;
  r.source = "default: the scheme itself at L_ref = train_length";
  return r;
}

int64_t reference_length(const EncoderInstance& enc, int64_t train_length) {
  if (enc.reference) return enc.reference->length;
  if (const auto pre = enc.encoder->pretrained()) return pre->length.value_or(train_length);
  return train_length;
}

std::vector<double> rotary_thetas(const Encoder& e, int64_t head_dim, int64_t seq_len) {
  const RotaryContext ctx{Role::query, seq_len};
  if (auto form = e.angular_form(head_dim, ctx)) return form->inv_freq;
  const int64_t half = e.rotary_dims(head_dim) / 2;
  std::vector<double> c(half), s(half), theta(half);
  const int64_t one[1] = {1};
  e.rotary_coefficients(one, head_dim, ctx, c.data(), s.data());
  for (int64_t i = 0; i < half; ++i) theta[i] = std::atan2(s[i], c[i]);
  return theta;
}

std::vector<bool> full_turn(const std::vector<double>& theta_ref, int64_t ref_length) {
  std::vector<bool> full(theta_ref.size());
  for (size_t i = 0; i < theta_ref.size(); ++i)
    full[i] = double(ref_length) * theta_ref[i] >= 2 * std::numbers::pi;
  return full;
}

RotaryNovelty rotary_novelty(const std::vector<double>& theta_n, int64_t n,
                             const std::vector<double>& theta_ref, int64_t ref_length,
                             const std::vector<bool>& full) {
  if (theta_n.size() != theta_ref.size() || full.size() != theta_ref.size())
    throw std::logic_error("rotary_novelty: pair counts differ");
  RotaryNovelty out;
  for (size_t i = 0; i < theta_n.size(); ++i) {
    if (full[i]) continue;
    const double range = double(n - 1) * theta_n[i];
    const double seen = double(ref_length - 1) * theta_ref[i];
    if (range > seen * (1 + kRelativeTolerance)) ++out.unseen;
    const double ratio = seen > 0 ? range / seen : (range > 0 ? INFINITY : 1.0);
    if (std::isnan(out.max_ratio) || ratio > out.max_ratio) out.max_ratio = ratio;
  }
  return out;
}

BiasRange bias_range(const Encoder& ref, int64_t heads, int64_t ref_length) {
  BiasRange r{std::vector<double>(heads, INFINITY), std::vector<double>(heads, -INFINITY)};
  const std::vector<int64_t> keys = position_range(0, ref_length);
  // A relative bias depends on i - j only: the last row holds every distance of the window.
  const bool relative = ref.bias_is_relative();
  const int64_t first = relative ? ref_length - 1 : 0, block = relative ? 1 : 64;
  std::vector<double> buf;
  for (int64_t i0 = first; i0 < ref_length; i0 += block) {
    const int64_t rows = std::min(block, ref_length - i0);
    const std::vector<int64_t> queries = position_range(i0, i0 + rows);
    buf.resize(size_t(heads * rows * ref_length));
    ref.bias(queries, keys, heads, buf.data());
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < rows; ++t) {
        const double* row = &buf[size_t((h * rows + t) * ref_length)];
        for (int64_t j = 0; j <= i0 + t; ++j)  // causal: keys j <= i
          r.lo[h] = std::min(r.lo[h], row[j]), r.hi[h] = std::max(r.hi[h], row[j]);
      }
  }
  return r;
}

BiasNovelty bias_novelty(const double* row, int64_t heads, int64_t n, const BiasRange& range) {
  BiasNovelty out;
  int64_t unseen = 0;
  for (int64_t h = 0; h < heads; ++h) {
    const double lo = range.lo[h], hi = range.hi[h];
    const double tol = kRelativeTolerance * std::max(std::fabs(lo), std::fabs(hi));
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      const double v = row[h * n + j];
      unseen += v < lo - tol || v > hi + tol;
      mn = std::min(mn, v), mx = std::max(mx, v);
    }
    if (hi > lo) {
      const double ratio = (mx - mn) / (hi - lo);
      if (std::isnan(out.range_ratio) || ratio > out.range_ratio) out.range_ratio = ratio;
    }
  }
  out.unseen_fraction = double(unseen) / double(heads * n);
  return out;
}

}  // namespace posbench::extrapolation

namespace posbench::extrapolation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double metric_of(const EncoderOutcome& o, const std::string& name) {
  for (const auto& m : o.metrics)
    if (m.name == name) return m.value;
  return kNaN;
}

double curve_of(const EncoderOutcome& o, const std::string& name, int64_t n) {
  for (const auto& c : o.curves)
    if (c.name == name)
      for (size_t k = 0; k < c.x.size(); ++k)
        if (c.x[k] == double(n)) return c.y[k];
  return kNaN;
}

std::string short_number(double v) { return fmt::format("{:.5g}", v); }

// "rope {"base":10000,...} at L_ref = 4096 (default: ...)" from extra.reference.
std::string describe_reference(const json& ref) {
  if (!ref.is_object()) return "?";
  const json given = ref.value("params", json::object());  // items() must not outlive it
  json params = json::object();
  for (const auto& [k, v] : given.items())
    if (!v.is_null()) params[k] = v;
  return ref.value("name", "?") + " " + params.dump() + " at L_ref " +
         std::to_string(ref.value("length", int64_t(0))) + " (" + ref.value("source", "") + ")";
}

// One row per outcome in `rows`, columns `lead` metrics then `curve` at every length.
ConsoleTable per_length(const std::string& title, const std::vector<const EncoderOutcome*>& rows,
                        const std::vector<std::pair<std::string, std::string>>& lead,
                        const std::string& curve, const std::vector<int64_t>& lengths) {
  ConsoleTable t;
  t.title = title;
  for (const auto& [header, metric] : lead) t.columns.push_back(header);
  for (int64_t n : lengths) t.columns.push_back("n=" + std::to_string(n));
  for (const EncoderOutcome* o : rows) {
    t.rows.push_back(o->label);
    std::vector<double> cells;
    for (const auto& [header, metric] : lead)
      cells.push_back(header == "short_of_turn"
                          ? metric_of(*o, "rotary_pairs") - metric_of(*o, "full_turn_pairs")
                          : metric_of(*o, metric));
    for (int64_t n : lengths) cells.push_back(curve_of(*o, curve, n));
    t.cells.push_back(cells);
  }
  return t;
}

}  // namespace

void add_reference_tables(const std::vector<EncoderInstance>& encoders,
                          const std::vector<int64_t>& lengths, ExperimentResult& r) {
  std::vector<const EncoderOutcome*> rotary, additive, bias;
  for (size_t k = 0; k < encoders.size() && k < r.outcomes.size(); ++k)
    (encoders[k].family == Family::rotary     ? rotary
     : encoders[k].family == Family::additive ? additive
                                              : bias)
        .push_back(&r.outcomes[k]);
  const std::string tol = kRelativeToleranceText;

  if (!rotary.empty()) {
    ConsoleTable unseen = per_length(
        "unseen rotary angle pairs against the reference [pairs], per length n", rotary,
        {{"L_ref", "reference_length"}, {"pairs", "rotary_pairs"}, {"short_of_turn", ""}},
        "unseen_angle_pairs", lengths);
    unseen.notes.push_back(
        "unseen: a pair short of a full turn within L_ref in the reference (L_ref theta_ref_i < "
        "2 pi) whose angle range at n exceeds the reference's: (n-1) theta_i(n) > (L_ref-1) "
        "theta_ref_i (1 + " +
        tol + ")");
    for (const EncoderOutcome* o : rotary)
      unseen.notes.push_back("reference of " + o->label + ": " +
                             describe_reference(o->extra.value("reference", json())));
    r.tables.push_back(std::move(unseen));
    ConsoleTable ratio = per_length(
        "largest angle ratio (n-1) theta_i(n) / ((L_ref-1) theta_ref_i) over the "
        "pairs short of a full turn [1] (> 1 + " +
            tol + ": unseen)",
        rotary, {}, "max_angle_ratio", lengths);
    ratio.significant_digits = 6;
    r.tables.push_back(std::move(ratio));

    // Rank at every length: fewest unseen pairs (as a fraction of all pairs) first, then the
    // smallest largest ratio; equal on both (ratio within the tolerance): equal rank.
    ConsoleTable rank = per_length(
        "rank by unseen angles against the reference (1 = fewest unseen pairs as a fraction of "
        "all pairs; ties broken by the largest angle ratio; equal: same rank)",
        rotary, {}, "", lengths);
    json ranking = json::array();
    for (size_t li = 0; li < lengths.size(); ++li) {
      const int64_t n = lengths[li];
      struct Entry {
        size_t row;
        double fraction, ratio, unseen, short_of_turn;
      };
      std::vector<Entry> entries;
      for (size_t k = 0; k < rotary.size(); ++k) {
        const EncoderOutcome& o = *rotary[k];
        rank.cells[k][li] = kNaN;
        const double f = curve_of(o, "unseen_angle_fraction_of_pairs", n);
        if (std::isnan(f)) continue;
        const double ratio = curve_of(o, "max_angle_ratio", n);
        entries.push_back({k, f, std::isnan(ratio) ? -INFINITY : ratio,
                           curve_of(o, "unseen_angle_pairs", n),
                           metric_of(o, "rotary_pairs") - metric_of(o, "full_turn_pairs")});
      }
      std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.fraction != b.fraction ? a.fraction < b.fraction : a.ratio < b.ratio;
      });
      auto tied = [](const Entry& a, const Entry& b) {
        return a.fraction == b.fraction &&
               (a.ratio == b.ratio ||
                std::fabs(a.ratio - b.ratio) <= kRelativeTolerance * std::fabs(b.ratio));
      };
      json order = json::array();
      std::string line = "n=" + std::to_string(n) + ":";
      int64_t place = 0;
      for (size_t e = 0; e < entries.size(); ++e) {
        if (e == 0 || !tied(entries[e - 1], entries[e])) place = int64_t(e) + 1;
        const Entry& en = entries[e];
        const EncoderOutcome& o = *rotary[en.row];
        rank.cells[en.row][li] = double(place);
        const double ratio = std::isinf(en.ratio) ? kNaN : en.ratio;
        line += (e == 0                     ? " "
                 : tied(entries[e - 1], en) ? " = "
                                            : " < ") +
                o.label + " (" + short_number(en.unseen) + "/" + short_number(en.short_of_turn) +
                ", " + short_number(ratio) + ")";
        order.push_back({{"label", o.label},
                         {"rank", place},
                         {"unseen_angle_pairs", en.unseen},
                         {"unseen_angle_fraction_of_pairs", en.fraction},
                         {"max_angle_ratio", std::isnan(ratio) ? json(nullptr) : json(ratio)}});
      }
      rank.notes.push_back(line);
      ranking.push_back({{"length", n}, {"order", order}});
    }
    rank.notes.insert(rank.notes.begin(),
                      "per length, best first: label (unseen pairs/pairs short of a turn, "
                      "largest angle ratio)");
    r.tables.push_back(std::move(rank));
    r.extra["ranking"] = {
        {"by",
         "rotary schemes at each length: unseen_angle_fraction_of_pairs ascending, then "
         "max_angle_ratio ascending; equal (ratio within relative " +
             tol + "): equal rank"},
        {"lengths", ranking}};
  }
  if (!additive.empty()) {
    ConsoleTable t =
        per_length("additive novelty against the reference [1], per length n", additive,
                   {{"L_ref", "reference_length"}}, "mean_max_cosine_unseen", lengths);
    t.notes.push_back(
        "mean, over the positions p < n the reference never encoded (p >= L_ref if it is the "
        "scheme itself, else all), of the largest cosine of PE(p) to any PE_ref(q), q < L_ref "
        "(1: looks seen; '-': no such position)");
    for (const EncoderOutcome* o : additive)
      t.notes.push_back("reference of " + o->label + ": " +
                        describe_reference(o->extra.value("reference", json())));
    r.tables.push_back(std::move(t));
  }
  if (!bias.empty()) {
    ConsoleTable t = per_length("bias values unseen by the reference [1], per length n", bias,
                                {{"L_ref", "reference_length"}}, "unseen_bias_fraction", lengths);
    t.notes.push_back(
        "fraction of the last query's biases b_h(n-1, j) (all heads h, keys j < n) outside the "
        "range head h took in the reference's causal window, with relative tolerance " +
        tol);
    for (const EncoderOutcome* o : bias)
      t.notes.push_back("reference of " + o->label + ": " +
                        describe_reference(o->extra.value("reference", json())));
    r.tables.push_back(std::move(t));
    r.tables.push_back(per_length(
        "bias range ratio [1]: largest over heads of (range of the last query's biases at n) / "
        "(range the reference produced)",
        bias, {}, "bias_range_ratio", lengths));
  }
}

void mark_lengths(const std::vector<int64_t>& lengths, ExperimentResult& r) {
  // Per-length values are taken at the largest length; the drift compares it with the first.
  const std::string n_max = "n=" + std::to_string(lengths.back());
  for (EncoderOutcome& o : r.outcomes)
    for (Metric& m : o.metrics)
      if (m.name == "normalized_entropy_drift")
        m.at = n_max + " vs " + std::to_string(lengths.front());
      else if (m.name != "max_supported_length" && m.name != "reference_length" &&
               m.name != "full_turn_pairs" && m.name != "rotary_pairs")
        m.at = n_max;
}

// The metrics length_extrapolation reports (kept here, beside the formulas of the novelty
// metrics, so length_extrapolation.cpp stays within the file-size limit).
std::vector<MetricSpec> length_extrapolation_metrics() {
  return {
      {"normalized_entropy", "1",
       "attention entropy of the last query over keys [0, n), divided by ln n, mean over "
       "content draws (bias: and heads)",
       "uniform attention: 1"},
      {"max_attention_weight", "1",
       "the largest attention weight of the last query, mean over draws", ""},
      {"window_mass", "1", "attention mass on the last `window` keys, mean over draws",
       "uniform attention: window / n"},
      {"normalized_entropy_drift", "1",
       "normalized_entropy at the largest length minus at train_length", ""},
      {"max_supported_length", "positions",
       "the largest length the scheme could produce (null: none)", ""},
      {"reference_length", "positions",
       "L_ref, the reference's original length novelty is measured against", ""},
      {"full_turn_pairs", "pairs",
       "rotary: reference pairs whose angle completes a turn within L_ref (L_ref theta_i >= "
       "2 pi)",
       "rope d = 128, base 1e4, L_ref = 4096: 46"},
      {"rotary_pairs", "pairs", "rotary: rotated pairs d'/2", "rope d = 128: 64"},
      {"unseen_angle_pairs", "pairs",
       "rotary: pairs short of a turn whose angle range (n - 1) theta_i(n) exceeds the "
       "reference's (L_ref - 1) theta_ref_i (relative tolerance 1e-9)",
       "rope base 1e4 d = 128 against itself at 4096: 18 of 64 at n > 4096"},
      {"unseen_angle_fraction", "1", "rotary: unseen_angle_pairs over the pairs short of a turn",
       ""},
      {"unseen_angle_fraction_of_pairs", "1", "rotary: unseen_angle_pairs over all rotated pairs",
       ""},
      {"max_angle_ratio", "1",
       "rotary: the largest (n - 1) theta_i(n) / ((L_ref - 1) theta_ref_i) over pairs short "
       "of a turn (> 1: unseen)",
       "scheme against itself: (n - 1) / (L_ref - 1)"},
      {"min_max_cosine_unseen", "1",
       "additive: over positions the reference never encoded, the smallest best cosine with "
       "a reference encoding",
       "1: every new position looks like a seen one; random 128-d vectors: ~0.3"},
      {"mean_max_cosine_unseen", "1", "additive: the mean of those best cosines", ""},
      {"logit_gap_head0", "logit",
       "bias: b_0(n-1, n-1) - b_0(n-1, 0), the nearest-farthest key gap of head 0",
       "alibi: m_0 (n - 1)"},
      {"logit_gap_min_head", "logit", "bias: the smallest gap over heads", ""},
      {"logit_gap_max_head", "logit", "bias: the largest gap over heads", ""},
      {"unseen_bias_fraction", "1",
       "bias: fraction of the last query's bias values (all heads and keys) outside the "
       "reference's range",
       "alibi against itself: (n - L_ref) / n"},
      {"bias_range_ratio", "1",
       "bias: the largest over heads of the row's range over the reference's range",
       "alibi: (n - 1) / (L_ref - 1)"},
  };
}

}  // namespace posbench::extrapolation
