// length_extrapolation against a pretrained reference: every count, ratio and fraction is
// checked against a float64 loop over the closed-form frequencies written here from the papers'
// (and HuggingFace's) formulas, never against the experiment's own helpers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "harness/report/console.h"
#include "harness/run/runner.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;
constexpr double kTwoPi = 2 * std::numbers::pi;

// ---- closed forms -------------------------------------------------------------------------

// theta_i = base^(-2i/d), i in [0, d/2).
std::vector<double> rope_theta(double base, int d) {
  std::vector<double> t(d / 2);
  for (int i = 0; i < d / 2; ++i) t[i] = std::pow(base, -2.0 * i / d);
  return t;
}

std::vector<double> linear_theta(double base, int d, double factor) {
  std::vector<double> t = rope_theta(base, d);
  for (double& v : t) v /= factor;
  return t;
}

// YaRN (Peng et al. 2023, HuggingFace _compute_yarn_parameters): ramp over the pair index
// between floor(D(beta_fast)) and ceil(D(beta_slow)), D(r) = d ln(L / (2 pi r)) / (2 ln base).
std::vector<double> yarn_theta(double base, int d, double factor, double L) {
  auto D = [&](double r) { return d * std::log(L / (kTwoPi * r)) / (2 * std::log(base)); };
  double low = std::max(std::floor(D(32)), 0.0), high = std::min(std::ceil(D(1)), d - 1.0);
  if (low == high) high += 0.001;
  std::vector<double> t = rope_theta(base, d);
  for (int i = 0; i < d / 2; ++i) {
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    t[i] = t[i] * (1 - ramp) + t[i] / factor * ramp;
  }
  return t;
}

// Llama 3.1 (HuggingFace _compute_llama3_parameters), wavelength w = 2 pi / theta.
std::vector<double> llama3_theta(double base, int d, double factor, double lo, double hi,
                                 double L) {
  std::vector<double> t = rope_theta(base, d);
  for (double& v : t) {
    const double w = kTwoPi / v;
    if (w > L / lo) {
      v /= factor;
    } else if (w >= L / hi) {
      const double s = (L / w - lo) / (hi - lo);
      v = (1 - s) * v / factor + s * v;
    }
  }
  return t;
}

// Dynamic NTK (HuggingFace _compute_dynamic_ntk_parameters) at sequence length n.
std::vector<double> dynamic_theta(double base, int d, double factor, double L, double n) {
  if (n <= L) return rope_theta(base, d);
  return rope_theta(base * std::pow(factor * n / L - (factor - 1), double(d) / (d - 2)), d);
}

struct Expected {
  int short_of_turn = 0;  // reference pairs with L_ref theta_ref < 2 pi
  int unseen = 0;         // of those, (n-1) theta > (L_ref-1) theta_ref (1 + 1e-9)
  double max_ratio = NAN;
};

Expected closed_form(const std::vector<double>& theta_n, double n,
                     const std::vector<double>& theta_ref, double L_ref) {
  Expected e;
  for (size_t i = 0; i < theta_ref.size(); ++i) {
    if (L_ref * theta_ref[i] >= kTwoPi) continue;
    ++e.short_of_turn;
    const double ratio = (n - 1) * theta_n[i] / ((L_ref - 1) * theta_ref[i]);
    if (ratio > 1 + 1e-9) ++e.unseen;
    if (std::isnan(e.max_ratio) || ratio > e.max_ratio) e.max_ratio = ratio;
  }
  return e;
}

// ---- running -------------------------------------------------------------------------------

const std::vector<double> kStudyLengths = {4096, 8192, 16384, 32768};

json study_params() {
  return {{"dim", 128},
          {"train_length", 4096},
          {"eval_lengths", {4096, 8192, 16384, 32768}},
          {"samples", 1}};
}

json rope_spec(const json& params) { return {{"name", "rope"}, {"params", params}}; }

const json kYarn = {
    {"base", 10000},
    {"scaling",
     {{"rope_type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 4096}}}};
const json kLlama3 = {{"base", 500000},
                      {"scaling",
                       {{"rope_type", "llama3"},
                        {"factor", 8},
                        {"low_freq_factor", 1},
                        {"high_freq_factor", 4},
                        {"original_max_position_embeddings", 8192}}}};

EncoderOutcome run_one(const json& params, const json& spec) {
  return run_experiment("length_extrapolation", params, spec).outcomes.at(0);
}

// Every per-length value of a rotary outcome equals the closed form with theta_n(n).
template <class ThetaAt>
void expect_rotary(const EncoderOutcome& o, const std::vector<double>& lengths, ThetaAt theta_at,
                   const std::vector<double>& theta_ref, double L_ref) {
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "reference_length"), L_ref);
  const int pairs = int(theta_ref.size());
  EXPECT_EQ(metric(o, "rotary_pairs"), pairs);
  for (double n : lengths) {
    SCOPED_TRACE(o.label + " n = " + std::to_string(n));
    const Expected e = closed_form(theta_at(n), n, theta_ref, L_ref);
    EXPECT_EQ(metric(o, "full_turn_pairs"), pairs - e.short_of_turn);
    EXPECT_EQ(curve_at(o, "unseen_angle_pairs", n), e.unseen);
    EXPECT_DOUBLE_EQ(curve_at(o, "unseen_angle_fraction_of_pairs", n), double(e.unseen) / pairs);
    EXPECT_DOUBLE_EQ(curve_at(o, "unseen_angle_fraction", n), double(e.unseen) / e.short_of_turn);
    EXPECT_NEAR(curve_at(o, "max_angle_ratio", n), e.max_ratio, 1e-12 * e.max_ratio);
  }
}

// ---- closed forms against the issue's hand numbers ----------------------------------------

TEST(LengthExtrapolationReference, ClosedFormsReproduceTheIssueCounts) {
  // The issue: "18 of 64 rotary pairs of d = 128, base 1e4 do not complete a turn within 4096";
  // "pairs out of range at 4k/8k/16k/32k: rope-10k 0/18/18/18 of 18, linear x4 and YaRN
  // 0/0/18/18, llama3 0/0/2/32 of 32". The llama3 figures hold for base 500000 against the
  // unscaled model at 4096; against its own original length 8192 (the default reference) none
  // of its 29 pairs short of a turn is out of range up to 32768.
  auto counts = [](const std::vector<double>& theta, const std::vector<double>& ref, double L_ref) {
    std::vector<int> out;
    int short_of_turn = 0;
    for (double n : kStudyLengths) {
      const Expected e = closed_form(theta, n, ref, L_ref);
      out.push_back(e.unseen);
      short_of_turn = e.short_of_turn;
    }
    out.push_back(short_of_turn);
    return out;
  };
  const auto r10k = rope_theta(1e4, 128), r500k = rope_theta(5e5, 128);
  EXPECT_EQ(counts(r10k, r10k, 4096), (std::vector<int>{0, 18, 18, 18, 18}));
  EXPECT_EQ(counts(r500k, r500k, 4096), (std::vector<int>{0, 32, 32, 32, 32}));
  EXPECT_EQ(counts(linear_theta(1e4, 128, 4), r10k, 4096), (std::vector<int>{0, 0, 18, 18, 18}));
  EXPECT_EQ(counts(yarn_theta(1e4, 128, 4, 4096), r10k, 4096),
            (std::vector<int>{0, 0, 18, 18, 18}));
  const auto l3 = llama3_theta(5e5, 128, 8, 1, 4, 8192);
  EXPECT_EQ(counts(l3, r500k, 4096), (std::vector<int>{0, 0, 2, 32, 32}));
  EXPECT_EQ(counts(l3, r500k, 8192), (std::vector<int>{0, 0, 0, 0, 29}));
}

// ---- the experiment against the closed forms ----------------------------------------------

TEST(LengthExtrapolationReference, PlainRopeIsItsOwnReferenceAtTrainLength) {
  for (double base : {1e4, 5e5}) {
    const auto o = run_one(study_params(), rope_spec({{"base", base}}));
    const auto theta = rope_theta(base, 128);
    expect_rotary(
        o, kStudyLengths, [&](double) { return theta; }, theta, 4096);
    EXPECT_EQ(o.extra.at("reference").at("is_self"), true);
    EXPECT_EQ(o.extra.at("reference").at("length"), 4096);
    EXPECT_EQ(o.extra.at("reference").at("relative_tolerance"), 1e-9);
  }
}

TEST(LengthExtrapolationReference, LinearScalingIsComparedWithUnscaledRopeAtTrainLength) {
  // linear has no original length: L_ref = train_length; the reference has no scaling.
  const auto o =
      run_one(study_params(), rope_spec({{"scaling", {{"rope_type", "linear"}, {"factor", 4}}}}));
  const auto theta = linear_theta(1e4, 128, 4);
  expect_rotary(
      o, kStudyLengths, [&](double) { return theta; }, rope_theta(1e4, 128), 4096);
  const json& ref = o.extra.at("reference");
  EXPECT_EQ(ref.at("is_self"), false);
  EXPECT_EQ(ref.at("name"), "rope");
  EXPECT_TRUE(ref.at("params").at("scaling").is_null()) << ref;
  EXPECT_EQ(ref.at("params").at("base"), 10000.0);
  EXPECT_NE(ref.at("source").get<std::string>().find("train_length"), std::string::npos) << ref;
  // 16383 / 4 just exceeds 4095: every pair short of a turn is (barely) out of range.
  EXPECT_NEAR(curve_at(o, "max_angle_ratio", 16384), 16383.0 / 4 / 4095, 1e-12);
}

TEST(LengthExtrapolationReference, YarnReferenceIsUnscaledRopeAtOriginalLength) {
  const auto o = run_one(study_params(), rope_spec(kYarn));
  expect_rotary(
      o, kStudyLengths, [&](double) { return yarn_theta(1e4, 128, 4, 4096); }, rope_theta(1e4, 128),
      4096);
  // original 2048 with train_length 4096: L_ref is the scaling's original length, not L.
  json p = kYarn;
  p["scaling"]["original_max_position_embeddings"] = 2048;
  const auto o2 = run_one(study_params(), rope_spec(p));
  expect_rotary(
      o2, kStudyLengths, [&](double) { return yarn_theta(1e4, 128, 4, 2048); },
      rope_theta(1e4, 128), 2048);
  EXPECT_NE(o2.extra.at("reference")
                .at("source")
                .get<std::string>()
                .find("scaling.original_max_position_embeddings"),
            std::string::npos);
}

TEST(LengthExtrapolationReference, Llama3ReferenceIsUnscaledRopeAtOriginalLength) {
  const auto o = run_one(study_params(), rope_spec(kLlama3));
  const auto theta = llama3_theta(5e5, 128, 8, 1, 4, 8192);
  expect_rotary(
      o, kStudyLengths, [&](double) { return theta; }, rope_theta(5e5, 128), 8192);
  EXPECT_EQ(metric(o, "unseen_angle_pairs"), 0.0);
  EXPECT_EQ(o.extra.at("reference").at("params").at("base"), 500000.0);
}

TEST(LengthExtrapolationReference, ExplicitReferenceReplacesTheDefault) {
  // llama3 x8 against an unscaled base-500k model pretrained at 4096: the issue's 0/0/2/32.
  json spec = rope_spec(kLlama3);
  spec["reference"] = {{"name", "rope"}, {"params", {{"base", 500000}}}, {"length", 4096}};
  const auto o = run_one(study_params(), spec);
  const auto theta = llama3_theta(5e5, 128, 8, 1, 4, 8192);
  expect_rotary(
      o, kStudyLengths, [&](double) { return theta; }, rope_theta(5e5, 128), 4096);
  EXPECT_EQ(curve_at(o, "unseen_angle_pairs", 16384), 2.0);
  EXPECT_EQ(curve_at(o, "unseen_angle_pairs", 32768), 32.0);
  EXPECT_EQ(o.extra.at("reference").at("source").get<std::string>().rfind("explicit", 0), 0u);

  // Plain rope-10k against a base-500k reference at 2048 (another shape: d = 64).
  json p = {{"dim", 64}, {"train_length", 1024}, {"eval_lengths", {1024, 3000}}, {"samples", 1}};
  json spec2 = rope_spec({{"base", 10000}});
  spec2["reference"] = {{"name", "rope"}, {"params", {{"base", 500000}}}, {"length", 2048}};
  const auto o2 = run_one(p, spec2);
  const auto t10k = rope_theta(1e4, 64);
  expect_rotary(
      o2, {1024, 3000}, [&](double) { return t10k; }, rope_theta(5e5, 64), 2048);
}

TEST(LengthExtrapolationReference, DynamicReferenceIsAtMaxPositionEmbeddings) {
  // Dynamic NTK: theta(n) grows the base past L = max_position_embeddings (read by atan2).
  const json params = {{"base", 10000},
                       {"max_position_embeddings", 512},
                       {"scaling", {{"rope_type", "dynamic"}, {"factor", 2}}}};
  const json p = {{"dim", 32},
                  {"train_length", 256},
                  {"eval_lengths", {256, 512, 2048}},
                  {"samples", 1},
                  {"window", 8}};
  const auto o = run_one(p, rope_spec(params));
  expect_rotary(
      o, {256, 512, 2048}, [&](double n) { return dynamic_theta(1e4, 32, 2, 512, n); },
      rope_theta(1e4, 32), 512);
  EXPECT_EQ(o.extra.at("reference").at("source").get<std::string>().find("train_length"),
            std::string::npos);
}

TEST(LengthExtrapolationReference, AlibiBiasOutsideTheReferenceRange) {
  // b_h(n-1, j) = -m_h (n-1-j): values below -m_h (L_ref-1) are new, at keys j < n - L_ref.
  const json p = {{"dim", 16},          {"heads", 4},
                  {"train_length", 64}, {"eval_lengths", {64, 100, 256}},
                  {"samples", 1},       {"window", 8}};
  const auto o = run_one(p, {{"name", "alibi"}});
  for (double n : {64.0, 100.0, 256.0}) {
    EXPECT_DOUBLE_EQ(curve_at(o, "unseen_bias_fraction", n), (n - 64) / n) << n;
    EXPECT_DOUBLE_EQ(curve_at(o, "bias_range_ratio", n), (n - 1) / 63) << n;
  }
  // Explicit reference: ALiBi with slopes twice as steep, seen up to 40: its range per head is
  // [-2 m_h 39, 0], so the row at n has -m_h (n-1-j) < -2 m_h 39 at n-1-j > 78.
  json spec = {{"name", "alibi"}};
  std::vector<double> slopes;
  for (int h = 0; h < 4; ++h) slopes.push_back(2 * std::pow(2.0, -8.0 * (h + 1) / 4));
  spec["reference"] = {{"name", "alibi"}, {"params", {{"slopes", slopes}}}, {"length", 40}};
  const auto o2 = run_one(p, spec);
  EXPECT_EQ(metric(o2, "reference_length"), 40.0);
  for (double n : {64.0, 100.0, 256.0}) {
    EXPECT_DOUBLE_EQ(curve_at(o2, "unseen_bias_fraction", n), std::max(0.0, n - 79) / n) << n;
    EXPECT_DOUBLE_EQ(curve_at(o2, "bias_range_ratio", n), (n - 1) / (2 * 39)) << n;
  }
}

TEST(LengthExtrapolationReference, T5SaturatedBucketsProduceNothingNew) {
  // Past max_distance every distance shares the last bucket, which L_ref = 256 already reached.
  const json p = {{"dim", 16},    {"heads", 4}, {"train_length", 256}, {"eval_lengths", {1024}},
                  {"samples", 1}, {"window", 8}};
  const auto o = run_one(p, {{"name", "t5"}});
  EXPECT_EQ(curve_at(o, "unseen_bias_fraction", 1024), 0.0);
  EXPECT_DOUBLE_EQ(curve_at(o, "bias_range_ratio", 1024), 1.0);
}

TEST(LengthExtrapolationReference, SinusoidalAgainstAnotherBaseCoversEveryPosition) {
  // cos(PE(p), PE_ref(q)) = sum_i cos(p theta_i - q theta'_i) / (d / 2) for the interleaved
  // sin/cos table; another scheme's reference: every p in [0, n) is compared.
  const int d = 16;
  const int64_t L = 24, Lref = 40;
  json spec = {{"name", "sinusoidal"}};
  spec["reference"] = {{"name", "sinusoidal"}, {"params", {{"base", 100}}}, {"length", Lref}};
  const auto o = run_one(
      {{"dim", d}, {"train_length", L}, {"eval_lengths", {24, 64}}, {"samples", 1}, {"window", 4}},
      spec);
  EXPECT_EQ(o.extra.at("reference").at("is_self"), false);
  const auto t = rope_theta(1e4, d), tr = rope_theta(100, d);
  for (int64_t n : {24, 64}) {
    double mn = INFINITY, sum = 0;
    for (int64_t pos = 0; pos < n; ++pos) {
      double best = -INFINITY;
      for (int64_t q = 0; q < Lref; ++q) {
        double c = 0;
        for (int i = 0; i < d / 2; ++i) c += std::cos(pos * t[i] - q * tr[i]);
        best = std::max(best, c / (d / 2));
      }
      mn = std::min(mn, best), sum += best;
    }
    EXPECT_NEAR(curve_at(o, "min_max_cosine_unseen", double(n)), mn, 1e-12) << n;
    EXPECT_NEAR(curve_at(o, "mean_max_cosine_unseen", double(n)), sum / double(n), 1e-12) << n;
  }
}

TEST(LengthExtrapolationReference, PerLengthTableInExtra) {
  const auto o = run_one(study_params(), rope_spec(kYarn));
  const json& rows = o.extra.at("per_length");
  ASSERT_EQ(rows.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(rows[k].at("length"), kStudyLengths[k]);
    EXPECT_EQ(rows[k].at("unseen_angle_pairs"),
              curve_at(o, "unseen_angle_pairs", kStudyLengths[k]));
    EXPECT_TRUE(rows[k].contains("normalized_entropy"));
  }
}

// ---- config errors inside "reference" ------------------------------------------------------

std::vector<Problem> problems_with(const json& encoder,
                                   const std::string& type = "length_extrapolation",
                                   const json& params = json::object()) {
  json e = params;
  e["type"] = type;
  e["encoders"] = json::array({encoder});
  Diagnostics diag;
  build_plan({{"name", "t"}, {"seed", 0}, {"experiments", {e}}}, diag);
  return diag.problems();
}

json with_reference(const json& ref, const json& scheme = {{"name", "rope"}}) {
  json s = scheme;
  s["reference"] = ref;
  return s;
}

TEST(LengthExtrapolationReference, BadReferencesNameTheirJsonPath) {
  const std::string at = "experiments[0].encoders[0].reference";
  expect_problem(problems_with(with_reference(
                     {{"name", "rope"}, {"params", {{"bsae", 10}}}, {"length", 4096}})),
                 at + ".params.bsae", {"did you mean 'base'"});
  expect_problem(
      problems_with(with_reference({{"name", "rope"}, {"params", {{"base", -1}}}, {"length", 64}})),
      at + ".params.base", {"-1"});
  expect_problem(problems_with(with_reference({{"name", "rope"}})), at + ".length", {"missing"});
  expect_problem(problems_with(with_reference({{"name", "rope"}, {"length", 1}})), at + ".length",
                 {"integer >= 2"});
  expect_problem(problems_with(with_reference({{"name", "rope"}, {"lenght", 64}, {"length", 64}})),
                 at + ".lenght", {"did you mean 'length'"});
  expect_problem(problems_with(with_reference({{"name", "rop"}, {"length", 64}})), at + ".name",
                 {"did you mean 'rope'"});
  expect_problem(problems_with(with_reference({{"name", "alibi"}, {"length", 64}})), at + ".name",
                 {"bias", "rotary"});
  expect_problem(problems_with(with_reference(
                     {{"name", "rope"}, {"params", {{"rotary_fraction", 0.5}}}, {"length", 64}})),
                 at, {"32 pairs", "64"});
  expect_problem(problems_with(with_reference(
                     {{"name", "learned"}, {"params", {{"max_len", 100}}}, {"length", 512}},
                     {{"name", "learned"}, {"params", {{"max_len", 8192}}}})),
                 at + ".length", {"512", "position 511"});
  expect_problem(problems_with(with_reference(42)), at, {"42"});
  expect_problem(
      problems_with(with_reference({{"name", "rope"}, {"length", 64}}), "offset_linearity"), at,
      {"offset_linearity", "does not compare with a reference"});
  json typo = {{"name", "rope"}, {"refrence", {{"name", "rope"}, {"length", 64}}}};
  expect_problem(problems_with(typo), "experiments[0].encoders[0].refrence",
                 {"did you mean 'reference'"});
}

TEST(LengthExtrapolationReference, ResolvedConfigHoldsTheReference) {
  json e = study_params();
  e["type"] = "length_extrapolation";
  e["encoders"] = json::array(
      {with_reference({{"name", "rope"}, {"params", {{"base", 500000}}}, {"length", 4096}})});
  Diagnostics diag;
  const Plan plan = build_plan({{"name", "t"}, {"seed", 0}, {"experiments", {e}}}, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  const json& ref = plan.resolved["experiments"][0]["encoders"][0].at("reference");
  EXPECT_EQ(ref.at("length"), 4096);
  EXPECT_EQ(ref.at("params").at("base"), 500000.0);
  EXPECT_EQ(ref.at("params").at("layout"), "half");  // default filled in
}

// ---- the shipped study ----------------------------------------------------------------------

TEST(LengthExtrapolationReference, StudyConfigRanksVariantsByUnseenAngles) {
  const auto file =
      std::filesystem::path(POSBENCH_SOURCE_DIR) / "configs/studies/rope-scaling.json";
  Diagnostics diag;
  const Plan plan = build_plan(read_json_file(file), diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  RunOptions options;
  options.threads = 2;
  const RunOutput out = run_plan(plan, options);
  const ExperimentResult& r = out.experiments.at(0).result;

  // Expected ranking from the closed forms: fewest unseen pairs (of all 64) first, then the
  // smallest largest angle ratio.
  struct Variant {
    std::string label;
    std::vector<double> theta, ref;
    double L_ref;
  };
  const auto r10k = rope_theta(1e4, 128), r500k = rope_theta(5e5, 128);
  const auto l3 = llama3_theta(5e5, 128, 8, 1, 4, 8192);
  const std::vector<Variant> variants = {
      {"rope-10k", r10k, r10k, 4096},
      {"rope-500k", r500k, r500k, 4096},
      {"linear-x4", linear_theta(1e4, 128, 4), r10k, 4096},
      {"yarn-x4", yarn_theta(1e4, 128, 4, 4096), r10k, 4096},
      {"llama3-x8", l3, r500k, 8192},
      {"llama3-x8-vs-4k", l3, r500k, 4096},
  };
  const json& ranking = r.extra.at("ranking").at("lengths");
  const std::string console = format_summary(out);
  for (double n : {8192.0, 16384.0, 32768.0}) {
    SCOPED_TRACE(n);
    std::vector<std::pair<std::pair<int, double>, std::string>> expected;
    for (const auto& v : variants) {
      const Expected e = closed_form(v.theta, n, v.ref, v.L_ref);
      expected.push_back({{e.unseen, e.max_ratio}, v.label});
    }
    std::sort(expected.begin(), expected.end());
    const json* at = nullptr;
    for (const auto& entry : ranking)
      if (entry.at("length") == n) at = &entry;
    ASSERT_NE(at, nullptr);
    const json& order = at->at("order");
    ASSERT_EQ(order.size(), expected.size());  // alibi is not ranked with the rotary schemes
    for (size_t k = 0; k < expected.size(); ++k) {
      EXPECT_EQ(order[k].at("unseen_angle_pairs"), expected[k].first.first) << k;
      EXPECT_NEAR(order[k].at("max_angle_ratio").get<double>(), expected[k].first.second, 1e-9);
      // Ties (linear-x4 and yarn-x4 have the same frequencies on every pair short of a turn)
      // may come in either order; the rank says they are equal.
      if (k > 0 && expected[k].first == expected[k - 1].first)
        EXPECT_EQ(order[k].at("rank"), order[k - 1].at("rank"));
      else
        EXPECT_EQ(order[k].at("rank"), int(k) + 1);
    }
    EXPECT_NE(console.find("n=" + std::to_string(int64_t(n)) + ": "), std::string::npos);
  }
  // At 32768 the order is llama3-x8 < linear-x4 = yarn-x4 < rope-10k < llama3-x8-vs-4k <
  // rope-500k (32 of 64 pairs out of range; see the closed-form test for the counts).
  EXPECT_EQ(ranking.back().at("order")[0].at("label"), "llama3-x8");
  EXPECT_EQ(ranking.back().at("order")[5].at("label"), "rope-500k");
  EXPECT_NE(console.find("n=32768: llama3-x8 (0/29"), std::string::npos) << console;
  EXPECT_NE(console.find("n=16384"), std::string::npos);
  EXPECT_NE(console.find("(L_ref-1) theta_ref_i (1 + 1e-9)"), std::string::npos) << console;
  // ALiBi is there, with its bias novelty at 32768: keys beyond 4095, (32768 - 4096) / 32768.
  const EncoderOutcome& alibi = r.outcomes.back();
  EXPECT_EQ(alibi.label, "alibi");
  EXPECT_DOUBLE_EQ(curve_at(alibi, "unseen_bias_fraction", 32768), 28672.0 / 32768);
}

}  // namespace
}  // namespace posbench::test
