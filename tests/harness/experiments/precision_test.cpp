// precision: float32 / bfloat16 / naive-float32-angle errors, checked on the experiment's
// output against rounding bounds and references computed here (bfloat16 rounding written
// independently with frexp/nearbyint).
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/analysis/position_features.h"
#include "property_test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

ExperimentResult run_result(const json& params, const json& spec) {
  return run_experiment("precision", params, spec);
}

EncoderOutcome run_precision(const json& params, const json& spec) {
  return run_result(params, spec).outcomes.at(0);
}

// bfloat16 round-to-nearest-even of a float32 value: 8 significant bits.
double bf16_reference(float x) {
  if (x == 0) return 0;
  int e;
  std::frexp(double(x), &e);  // |x| in [2^(e-1), 2^e)
  const double quantum = std::ldexp(1.0, e - 8);
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  return std::nearbyint(double(x) / quantum) * quantum;  // ties to even
}

TEST(Precision, Bfloat16RoundingKeepsEightSignificantBits) {
  // Integers are exact only up to 256; 257 is a tie and goes to the even 256, 259 to 260.
  for (float v : {1.0f, 255.0f, 256.0f, 257.0f, 259.0f, 1e6f, -3.14159f, 5e5f, 1e-3f})
    EXPECT_EQ(double(round_to_bfloat16(v)), bf16_reference(v)) << v;
  EXPECT_EQ(round_to_bfloat16(257.0f), 256.0f);
  EXPECT_EQ(round_to_bfloat16(259.0f), 260.0f);
  EXPECT_EQ(round_to_bfloat16(1e6f), 999424.0f);  // 244 * 4096
}

TEST(Precision, SinusoidalFloat32IsExactToRoundingNaiveAngleIsNot) {
  const auto o = run_precision({}, {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  // Values in [-1, 1], computed in float64 and rounded once: error <= 2^-25 (half an ulp).
  EXPECT_LE(metric(o, "max_abs_error_float32"), std::ldexp(1.0, -25));
  EXPECT_LE(metric(o, "max_abs_error_float32"), 1e-6);
  EXPECT_GT(metric(o, "max_abs_error_float32"), 0.0);
  // float32 then bfloat16: at most half a bfloat16 ulp (2^-9 below 1) plus the float32 step.
  EXPECT_LE(metric(o, "max_abs_error_bfloat16"), std::ldexp(1.0, -9) + std::ldexp(1.0, -25));
  EXPECT_EQ(curve_at(o, "abs_error_bfloat16", 0), 0.0);  // sin 0 = 0, cos 0 = 1: exact

  // The naive angle float32(p) * float32(theta_i) at p = 10^6, referenced here in float64.
  const double p = 1e6;
  double angle_err = 0, value_err = 0;
  for (int i = 0; i < 64; ++i) {
    const double theta = std::pow(1e4, -2.0 * i / 128.0);
    const float af = float(p) * float(theta);
    angle_err = std::max(angle_err, std::fabs(double(af) - p * theta));
    value_err = std::max({value_err, std::fabs(std::sin(double(af)) - std::sin(p * theta)),
                          std::fabs(std::cos(double(af)) - std::cos(p * theta))});
  }
  EXPECT_DOUBLE_EQ(curve_at(o, "angle_error_naive_float32", p), angle_err);
  EXPECT_GT(angle_err, 1e-2);
  // float32 sin/cos add at most a few float32 ulps to the reference.
  EXPECT_NEAR(curve_at(o, "abs_error_naive_float32", p), value_err, 1e-6);
  EXPECT_GT(curve_at(o, "abs_error_naive_float32", p), 1e-2);
  EXPECT_GT(metric(o, "max_abs_error_naive_float32"), 1e-2);
  // At p = 1 the naive angle is fine.
  EXPECT_LT(curve_at(o, "abs_error_naive_float32", 1), 1e-6);
}

TEST(Precision, RopeFloat32RotationIsAccurateNaiveIsNot) {
  const auto o = run_precision({}, {{"name", "rope"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_LE(metric(o, "max_abs_error_float32"), 1e-6);
  // p = 0: the identity rotation; only storing u in float32 (|u_c| < 1) errs.
  EXPECT_LE(curve_at(o, "abs_error_float32", 0), std::ldexp(1.0, -25));
  // bfloat16 of entries below 1 (u and the result): a few 2^-9.
  EXPECT_LE(metric(o, "max_abs_error_bfloat16"), 3 * std::ldexp(1.0, -9));
  // RoPE's theta_i are sinusoidal's: the same naive angle error at 10^6 (> 1e-2 rad).
  double angle_err = 0;
  for (int i = 0; i < 64; ++i) {
    const double theta = std::pow(1e4, -2.0 * i / 128.0);
    angle_err = std::max(angle_err, std::fabs(double(float(1e6) * float(theta)) - 1e6 * theta));
  }
  EXPECT_DOUBLE_EQ(curve_at(o, "angle_error_naive_float32", 1e6), angle_err);
  EXPECT_GT(metric(o, "max_angle_error_naive_float32"), 1e-2);
  // A pair of norm r moved by an angle error delta moves by <= r delta <= delta; far above
  // the float32 path's error.
  const double naive = curve_at(o, "abs_error_naive_float32", 1e6);
  EXPECT_LE(naive, angle_err + 1e-6);
  EXPECT_GT(naive, 1000 * metric(o, "max_abs_error_float32"));
}

TEST(Precision, AlibiFloat32IsExactBfloat16IsNot) {
  // m_h = 2^-(h+1) and integer distances < 2^24: every bias is exact in float32. bfloat16
  // keeps 8 significant bits; reference max over the evaluated (p, k <= p, h).
  const auto o = run_precision({}, {{"name", "alibi"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "max_abs_error_float32"), 0.0);
  const std::vector<int64_t> pos = o.extra.at("positions").get<std::vector<int64_t>>();
  double worst = 0;
  for (int64_t p : pos)
    for (int64_t k : pos)
      if (k <= p)
        for (int h = 0; h < 8; ++h) {
          const double b = -std::ldexp(double(p - k), -(h + 1));
          worst = std::max(worst, std::fabs(bf16_reference(float(b)) - b));
        }
  EXPECT_EQ(metric(o, "max_abs_error_bfloat16"), worst);
  EXPECT_GT(worst, 256.0);  // values ~5e5 have a bfloat16 quantum of 2048
  EXPECT_EQ(metric(o, "max_abs_value"), 5e5);
  EXPECT_TRUE(std::isnan(metric(o, "max_abs_error_naive_float32")));
  EXPECT_TRUE(std::isnan(metric(o, "max_angle_error_naive_float32")));
}

TEST(Precision, LearnedErrorPastMaxLenIsUnsupported) {
  const auto o = run_precision({{"dim", 16}, {"samples", 16}},
                               {{"name", "learned"}, {"params", {{"max_len", 1000}}}});
  EXPECT_EQ(o.status, Status::unsupported);
  const std::vector<int64_t> pos = o.extra.at("positions").get<std::vector<int64_t>>();
  int64_t last_ok = -1;
  for (int64_t p : pos) {
    const double e = curve_at(o, "abs_error_float32", double(p));
    if (p < 1000) {
      EXPECT_TRUE(std::isfinite(e)) << p;
      last_ok = p;
    } else {
      EXPECT_TRUE(std::isnan(e)) << p;
    }
  }
  EXPECT_EQ(metric(o, "max_supported_position"), double(last_ok));
  // Rounding float64 draws once: half a float32 ulp of the largest value.
  EXPECT_LE(metric(o, "max_abs_error_float32"), std::ldexp(metric(o, "max_abs_value"), -24));
}

TEST(Precision, ResultRecordsBfloat16PositionRounding) {
  const auto r = run_result({{"samples", 1}, {"dim", 8}}, {{"name", "sinusoidal"}});
  EXPECT_EQ(r.extra.at("bfloat16_exact_integer_limit"), 256);
  EXPECT_EQ(r.extra.at("max_position_in_bfloat16").get<double>(), 999424.0);
}

TEST(Precision, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("precision", {{"max_position", -10}}),
                 "experiments[0].max_position", {"-10"});
  expect_problem(config_problems("precision", {{"max_position", 0}}), "experiments[0].max_position",
                 {">= 1"});
  expect_problem(config_problems("precision", {{"max_position", 1e9}}),
                 "experiments[0].max_position", {"100000000"});
  expect_problem(config_problems("precision", {{"samples", -1}}), "experiments[0].samples", {"-1"});
  expect_problem(config_problems("precision", {{"max_pos", 10}}), "experiments[0].max_pos",
                 {"max_position"});
}

}  // namespace
}  // namespace posbench::test
