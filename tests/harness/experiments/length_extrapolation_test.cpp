// length_extrapolation: every expectation is checked on the experiment's output against a
// closed form or a float64 reference loop written here from the definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

EncoderOutcome run_extrapolation(const json& params, const json& spec) {
  return run_experiment("length_extrapolation", params, spec).outcomes.at(0);
}

struct Stats {
  double entropy, max_weight, window_mass;
};

// Reference softmax statistics of logits x[0..n) (direct definitions).
Stats softmax_stats(const std::vector<double>& x, int64_t window) {
  const int64_t n = int64_t(x.size());
  double m = -INFINITY;
  for (double v : x) m = std::max(m, v);
  std::vector<double> w(n);
  double z = 0;
  for (int64_t j = 0; j < n; ++j) z += (w[j] = std::exp(x[j] - m));
  Stats s{0, 0, 0};
  for (int64_t j = 0; j < n; ++j) {
    w[j] /= z;
    if (w[j] > 0) s.entropy -= w[j] * std::log(w[j]);
    s.max_weight = std::max(s.max_weight, w[j]);
    if (j >= n - window) s.window_mass += w[j];
  }
  s.entropy /= std::log(double(n));
  return s;
}

TEST(LengthExtrapolation, RopeFullTurnPairsMatchYarnClosedForm) {
  // d = 128, base 1e4, L = 512: pairs i with 512 * 10000^(-2i/128) >= 2 pi.
  int64_t expected = 0;
  for (int i = 0; i < 64; ++i)
    expected += 512.0 * std::pow(10000.0, -2.0 * i / 128.0) >= 2 * std::numbers::pi;
  EXPECT_EQ(expected, 31);
  const auto o = run_extrapolation(
      {{"train_length", 512}, {"eval_lengths", {512, 1024, 4096}}, {"samples", 1}},
      {{"name", "rope"}});
  EXPECT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "full_turn_pairs"), double(expected));
  EXPECT_EQ(metric(o, "rotary_pairs"), 64.0);
  // Plain RoPE: every pair short of a full turn meets new angles at any n > L, none at n = L.
  EXPECT_EQ(curve_at(o, "unseen_angle_fraction", 512), 0.0);
  EXPECT_EQ(curve_at(o, "unseen_angle_fraction", 1024), 1.0);
  EXPECT_EQ(metric(o, "unseen_angle_fraction"), 1.0);

  // Another shape: d = 64, base 500, L = 100.
  const auto o2 = run_extrapolation(
      {{"dim", 64}, {"train_length", 100}, {"eval_lengths", {200}}, {"samples", 1}, {"window", 10}},
      {{"name", "rope"}, {"params", {{"base", 500}}}});
  int64_t e2 = 0;
  for (int i = 0; i < 32; ++i)
    e2 += 100.0 * std::pow(500.0, -2.0 * i / 64.0) >= 2 * std::numbers::pi;
  EXPECT_EQ(metric(o2, "full_turn_pairs"), double(e2));
}

TEST(LengthExtrapolation, AlibiLogitGapIsSlopeTimesDistance) {
  const auto o = run_extrapolation({{"dim", 16},
                                    {"train_length", 64},
                                    {"eval_lengths", {64, 100, 256}},
                                    {"samples", 2},
                                    {"window", 8}},
                                   {{"name", "alibi"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  for (int h = 0; h < 8; ++h) {
    const double m = std::pow(2.0, -(h + 1.0));  // 2^(-8(h+1)/8)
    for (double n : {64.0, 100.0, 256.0})
      EXPECT_DOUBLE_EQ(curve_at(o, "logit_gap_head" + std::to_string(h), n), m * (n - 1))
          << h << " " << n;
  }
  EXPECT_DOUBLE_EQ(metric(o, "logit_gap_head0"), 0.5 * 255);
  EXPECT_DOUBLE_EQ(metric(o, "logit_gap_max_head"), 0.5 * 255);
  EXPECT_DOUBLE_EQ(metric(o, "logit_gap_min_head"), std::pow(2.0, -8) * 255);
}

TEST(LengthExtrapolation, AlibiPositionOnlyAttentionIsGeometric) {
  // content_std 0: logits are b_h(n-1, j) = -m_h (n-1-j); softmax is geometric in t = n-1-j.
  const int64_t W = 8;
  const auto o = run_extrapolation({{"dim", 16},
                                    {"heads", 4},
                                    {"train_length", 32},
                                    {"eval_lengths", {32, 80}},
                                    {"samples", 1},
                                    {"window", W},
                                    {"content_std", 0.0}},
                                   {{"name", "alibi"}});
  for (int64_t n : {32, 80}) {
    Stats mean{0, 0, 0};
    for (int h = 0; h < 4; ++h) {
      const double m = std::pow(2.0, -8.0 * (h + 1) / 4);
      std::vector<double> x(n);
      for (int64_t j = 0; j < n; ++j) x[j] = -m * double(n - 1 - j);
      const Stats s = softmax_stats(x, W);
      // Closed forms of the geometric distribution truncated to n terms.
      const double r = std::exp(-m);
      EXPECT_NEAR(s.max_weight, (1 - r) / (1 - std::pow(r, n)), 1e-12);
      EXPECT_NEAR(s.window_mass, (1 - std::pow(r, W)) / (1 - std::pow(r, n)), 1e-12);
      mean.entropy += s.entropy / 4, mean.max_weight += s.max_weight / 4;
      mean.window_mass += s.window_mass / 4;
      if (n == 80) {
        EXPECT_NEAR(curve_at(o, "normalized_entropy_by_head", h), s.entropy, 1e-12);
        EXPECT_NEAR(curve_at(o, "window_mass_by_head", h), s.window_mass, 1e-12);
      }
    }
    EXPECT_NEAR(curve_at(o, "normalized_entropy", double(n)), mean.entropy, 1e-12);
    EXPECT_NEAR(curve_at(o, "max_attention_weight", double(n)), mean.max_weight, 1e-12);
    EXPECT_NEAR(curve_at(o, "window_mass", double(n)), mean.window_mass, 1e-12);
  }
}

TEST(LengthExtrapolation, AlibiKeepsMassInWindowWithRandomContent) {
  // Head 0 (m = 1/2) with N(0, 1)-sized content logits: the mass beyond the last 64 keys is
  // below e^{-32 + O(10)}, whatever the length.
  const auto o = run_extrapolation(
      {{"dim", 32}, {"train_length", 128}, {"eval_lengths", {1024}}, {"samples", 8}},
      {{"name", "alibi"}});
  EXPECT_GT(curve_at(o, "window_mass_by_head", 0), 1 - 1e-6);
  // Head 7 (m = 1/256) spreads far beyond the window at n = 1024.
  EXPECT_LT(curve_at(o, "window_mass_by_head", 7), 0.5);
}

TEST(LengthExtrapolation, SinusoidalPositionOnlyAttentionMatchesReference) {
  // content_std 0: logit_j = PE(n-1) . PE(j) / sqrt(d) = sum_i cos((n-1-j) theta_i) / sqrt(d).
  const int64_t d = 32, W = 4;
  const auto o = run_extrapolation({{"dim", d},
                                    {"train_length", 24},
                                    {"eval_lengths", {24, 50, 96}},
                                    {"samples", 1},
                                    {"window", W},
                                    {"content_std", 0.0}},
                                   {{"name", "sinusoidal"}});
  for (int64_t n : {24, 50, 96}) {
    std::vector<double> x(n);
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int i = 0; i < d / 2; ++i)
        s += std::cos(double(n - 1 - j) * std::pow(1e4, -2.0 * i / d));
      x[j] = s / std::sqrt(double(d));
    }
    const Stats s = softmax_stats(x, W);
    EXPECT_NEAR(curve_at(o, "normalized_entropy", double(n)), s.entropy, 1e-12) << n;
    EXPECT_NEAR(curve_at(o, "max_attention_weight", double(n)), s.max_weight, 1e-12) << n;
    EXPECT_NEAR(curve_at(o, "window_mass", double(n)), s.window_mass, 1e-12) << n;
  }
  EXPECT_NEAR(metric(o, "normalized_entropy_drift"),
              curve_at(o, "normalized_entropy", 96) - curve_at(o, "normalized_entropy", 24), 1e-15);
}

TEST(LengthExtrapolation, RopePositionOnlyAttentionIsUniform) {
  // content_std 0: every logit is 0, so attention is uniform: H/ln n = 1, max 1/n, window W/n.
  const auto o = run_extrapolation({{"dim", 16},
                                    {"train_length", 40},
                                    {"eval_lengths", {40, 160}},
                                    {"samples", 2},
                                    {"window", 10},
                                    {"content_std", 0.0}},
                                   {{"name", "rope"}});
  for (double n : {40.0, 160.0}) {
    EXPECT_NEAR(curve_at(o, "normalized_entropy", n), 1.0, 1e-12);
    EXPECT_NEAR(curve_at(o, "max_attention_weight", n), 1.0 / n, 1e-15);
    EXPECT_NEAR(curve_at(o, "window_mass", n), 10.0 / n, 1e-12);
  }
}

TEST(LengthExtrapolation, RopeWithIndependentKeysIgnoresPosition) {
  // Documented consequence: for a norm-preserving rotation, g_j . k_j ~ N(0, |q|^2) for every
  // j, so the statistics do not depend on the frequencies at all.
  const json params = {{"dim", 32},
                       {"train_length", 64},
                       {"eval_lengths", {64, 256}},
                       {"samples", 4},
                       {"window", 8}};
  const auto a = run_extrapolation(params, {{"name", "rope"}, {"params", {{"base", 10000}}}});
  const auto b = run_extrapolation(params, {{"name", "rope"}, {"params", {{"base", 3}}}});
  for (const char* name : {"normalized_entropy", "max_attention_weight", "window_mass"})
    for (double n : {64.0, 256.0})
      EXPECT_NEAR(curve_at(a, name, n), curve_at(b, name, n), 1e-12) << name;
}

TEST(LengthExtrapolation, SinusoidalNoveltyMatchesCosineReference) {
  // cos(PE(p), PE(q)) = sum_i cos((p - q) theta_i) / (d / 2).
  const int64_t d = 16, L = 32;
  const auto o = run_extrapolation(
      {{"dim", d}, {"train_length", L}, {"eval_lengths", {48, 96}}, {"samples", 1}, {"window", 4}},
      {{"name", "sinusoidal"}});
  for (int64_t n : {48, 96}) {
    double mn = INFINITY, sum = 0;
    for (int64_t p = L; p < n; ++p) {
      double best = -INFINITY;
      for (int64_t q = 0; q < L; ++q) {
        double c = 0;
        for (int i = 0; i < d / 2; ++i) c += std::cos(double(p - q) * std::pow(1e4, -2.0 * i / d));
        best = std::max(best, c / double(d / 2));
      }
      mn = std::min(mn, best), sum += best;
    }
    EXPECT_NEAR(curve_at(o, "min_max_cosine_unseen", double(n)), mn, 1e-12);
    EXPECT_NEAR(curve_at(o, "mean_max_cosine_unseen", double(n)), sum / double(n - L), 1e-12);
  }
  EXPECT_EQ(curve(o, "max_cosine_to_seen").x.size(), size_t(96 - L));
}

TEST(LengthExtrapolation, LearnedClampRepeatsASeenRow) {
  // max_len = L: every unseen position returns row L - 1, which was seen: max cosine 1.
  const auto o = run_extrapolation(
      {{"dim", 8}, {"train_length", 16}, {"eval_lengths", {64}}, {"samples", 1}, {"window", 4}},
      {{"name", "learned"}, {"params", {{"max_len", 16}, {"out_of_range", "clamp"}}}});
  EXPECT_EQ(o.status, Status::ok);
  EXPECT_NEAR(metric(o, "min_max_cosine_unseen"), 1.0, 1e-12);
  EXPECT_NEAR(metric(o, "mean_max_cosine_unseen"), 1.0, 1e-12);
}

TEST(LengthExtrapolation, LearnedErrorPastMaxLenIsUnsupportedNotACrash) {
  const auto o =
      run_extrapolation({{"dim", 16}, {"train_length", 64}, {"samples", 2}, {"window", 8}},
                        {{"name", "learned"}, {"params", {{"max_len", 128}}}});
  EXPECT_EQ(o.status, Status::unsupported);
  EXPECT_NE(o.note.find("256"), std::string::npos) << o.note;
  EXPECT_EQ(o.extra.at("unsupported_lengths"), json({256, 512, 1024}));
  EXPECT_EQ(metric(o, "max_supported_length"), 128.0);
  EXPECT_TRUE(std::isfinite(curve_at(o, "normalized_entropy", 128)));
  EXPECT_TRUE(std::isnan(curve_at(o, "normalized_entropy", 1024)));
  EXPECT_TRUE(std::isnan(metric(o, "normalized_entropy")));
  EXPECT_TRUE(std::isfinite(curve_at(o, "mean_max_cosine_unseen", 128)));
  EXPECT_TRUE(std::isnan(curve_at(o, "mean_max_cosine_unseen", 256)));
  // Random rows in 16 dimensions are far from collinear.
  EXPECT_LT(curve_at(o, "mean_max_cosine_unseen", 128), 0.95);
}

TEST(LengthExtrapolation, IdenticalForAnyThreadCount) {
  const json params = {{"dim", 32},
                       {"train_length", 64},
                       {"eval_lengths", {64, 256}},
                       {"samples", 7},
                       {"window", 8}};
  for (const json& spec :
       {json{{"name", "sinusoidal"}}, json{{"name", "rope"}}, json{{"name", "alibi"}},
        json{{"name", "learned"}, {"params", {{"max_len", 64}}}}}) {
    for (const char* content : {"independent", "shared"}) {
      json p = params;
      p["content"] = content;
      expect_same_values_for_1_and_2_omp_threads("length_extrapolation", p, spec, 7);
    }
  }
}

TEST(LengthExtrapolation, MemoryModelSaturatesInsteadOfWrapping) {
  // 3 * 2^20 distinct eval lengths up to 2^24 sum to about 4.8e13 positions; their float64
  // tables at dim 65536 would be about 2.5e19 bytes, more than 2^64. The model must say so (the
  // largest uint64, which the memory guard refuses), not wrap to a number the guard accepts.
  const int64_t top = int64_t(1) << 24, count = int64_t(3) << 20;
  json lengths = json::array();
  for (int64_t n = top - count + 1; n <= top; ++n) lengths.push_back(n);
  const auto huge =
      make_experiment("length_extrapolation", {{"dim", 65536}, {"eval_lengths", lengths}});
  for (const char* scheme : {"sinusoidal", "rope"})
    EXPECT_EQ(huge->memory_bytes(make_encoder({{"name", scheme}})),
              std::numeric_limits<uint64_t>::max())
        << scheme;
  // A count that fits is exact: bias tables of every length, [sum of lengths, heads] float64.
  const auto small = make_experiment(
      "length_extrapolation",
      {{"heads", 2}, {"samples", 1}, {"train_length", 64}, {"eval_lengths", {64, 128}}});
  const uint64_t bias = small->memory_bytes(make_encoder({{"name", "alibi"}}));
  EXPECT_GE(bias, uint64_t(64 + 128) * 2 * 8);
  EXPECT_LT(bias, uint64_t(1) << 30);
}

// Problems of a config with one length_extrapolation experiment (and rope) given `params`.
std::vector<Problem> problems(const json& params) {
  return config_problems("length_extrapolation", params, "rope");
}

TEST(LengthExtrapolation, BadParamsNameTheirJsonPath) {
  expect_problem(problems({{"train_length", -5}}), "experiments[0].train_length",
                 {"-5", "integer >= 2"});
  expect_problem(problems({{"eval_lengths", {1024, -3}}}), "experiments[0].eval_lengths", {"-3"});
  expect_problem(problems({{"train_length", 512}, {"eval_lengths", {256, 1024}}}),
                 "experiments[0].eval_lengths", {"256", "train_length = 512"});
  expect_problem(problems({{"eval_lengths", {1000.5}}}), "experiments[0].eval_lengths",
                 {"integer"});
  expect_problem(problems({{"eval_lengths", json::array()}}), "experiments[0].eval_lengths",
                 {"empty"});
  expect_problem(problems({{"train_length", 32}, {"window", 64}}), "experiments[0].window",
                 {"64", "train_length = 32"});
  expect_problem(problems({{"train_lenght", 512}}), "experiments[0].train_lenght",
                 {"train_length"});
  expect_problem(problems({{"content", "shard"}}), "experiments[0].content", {"shared"});
}

TEST(LengthExtrapolation, CliValidateExitsTwoWithPaths) {
  // One bad param in each of the four experiments: `validate` reports every one, exit 2.
  const TempDir dir("posbench-lenx-test");
  const json enc = json::array({{{"name", "rope"}}});
  const json config = {{"name", "bad"},
                       {"seed", 0},
                       {"experiments",
                        {{{"type", "length_extrapolation"},
                          {"train_length", 512},
                          {"eval_lengths", {100}},
                          {"encoders", enc}},
                         {{"type", "position_probe"}, {"train_length", -1}, {"encoders", enc}},
                         {{"type", "resolution"}, {"positons", 10}, {"encoders", enc}},
                         {{"type", "precision"}, {"max_position", 0}, {"encoders", enc}}}}};
  std::ofstream(dir / "bad.json") << config.dump();
  const BinaryResult r = run_posbench("validate " + quoted(dir / "bad.json"), dir.path());
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.code, 2);
  for (const char* path : {"experiments[0].eval_lengths", "experiments[1].train_length",
                           "experiments[2].positons", "experiments[3].max_position"})
    EXPECT_NE(r.err.find(path), std::string::npos) << path << "\n" << r.err;
}

}  // namespace
}  // namespace posbench::test
