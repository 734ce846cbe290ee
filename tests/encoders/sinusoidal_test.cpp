// Sinusoidal encoding (Vaswani et al. 2017, §3.5) against an independent long-double
// reference of the paper's formula:
//   PE(p, 2i) = sin(p * base^(-2i/d)),  PE(p, 2i+1) = cos(p * base^(-2i/d)).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/registry.h"
#include "harness/analysis/apply.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_sinusoidal(const json& given) {
  return test::make_scheme("sinusoidal", given);
}

// Reference value of column c of PE(p), computed in long double from the paper's formula.
long double sinusoid_reference(int64_t p, int64_t c, int64_t d, long double base, bool concat) {
  const int64_t half = d / 2;
  int64_t i;
  bool is_sin;
  if (concat) {
    is_sin = c < half;
    i = is_sin ? c : c - half;
  } else {
    is_sin = c % 2 == 0;
    i = c / 2;
  }
  const long double angle =
      (long double)p * std::exp(-(2.0L * (long double)i / (long double)d) * std::log(base));
  return is_sin ? std::sin(angle) : std::cos(angle);
}

std::vector<double> sinusoidal_table(const Encoder& enc, const std::vector<int64_t>& pos,
                                     int64_t dim) {
  std::vector<double> out(pos.size() * dim, std::nan(""));
  positional_table<double>(enc, pos, dim, out.data());
  return out;
}

// The encoder forms the angle p * base^(-2i/d) in double: its relative error is a few ulp, so
// the absolute error of sin/cos grows like p * 1e-16.
double tolerance(int64_t p) { return 1e-15 + 1e-15 * double(p); }

const std::vector<int64_t> kPositions = {0, 1, 7, 1000, 1000000};

void check_against_reference(const json& params, int64_t dim, long double base, bool concat) {
  auto enc = make_sinusoidal(params);
  const auto out = sinusoidal_table(*enc, kPositions, dim);
  for (size_t t = 0; t < kPositions.size(); ++t)
    for (int64_t c = 0; c < dim; ++c)
      EXPECT_NEAR(out[t * dim + c], double(sinusoid_reference(kPositions[t], c, dim, base, concat)),
                  tolerance(kPositions[t]))
          << "p=" << kPositions[t] << " c=" << c << " dim=" << dim;
}

TEST(Sinusoidal, InterleavedMatchesPaperFormula) {
  check_against_reference(json::object(), 64, 10000.0L, false);
  check_against_reference({{"layout", "interleaved"}}, 6, 10000.0L, false);
}

TEST(Sinusoidal, ConcatMatchesPaperFormula) {
  check_against_reference({{"layout", "concat"}}, 64, 10000.0L, true);
  check_against_reference({{"layout", "concat"}}, 6, 10000.0L, true);
}

TEST(Sinusoidal, BaseParameterIsUsed) {
  check_against_reference({{"base", 100.0}}, 16, 100.0L, false);
  check_against_reference({{"base", 500000.0}, {"layout", "concat"}}, 16, 500000.0L, true);
}

TEST(Sinusoidal, ClosedFormValues) {
  // d = 4, base 10000: frequencies 1 and 10000^(-1/2) = 0.01.
  auto enc = make_sinusoidal(json::object());
  const auto out = sinusoidal_table(*enc, {0, 1, 7}, 4);
  const double expected[3][4] = {
      {0.0, 1.0, 0.0, 1.0},
      {std::sin(1.0), std::cos(1.0), std::sin(0.01), std::cos(0.01)},
      {std::sin(7.0), std::cos(7.0), std::sin(0.07), std::cos(0.07)},
  };
  for (int t = 0; t < 3; ++t)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(out[t * 4 + c], expected[t][c], 1e-15) << t << "," << c;

  auto concat = make_sinusoidal({{"layout", "concat"}});
  const auto oc = sinusoidal_table(*concat, {7}, 4);
  EXPECT_NEAR(oc[0], std::sin(7.0), 1e-15);
  EXPECT_NEAR(oc[1], std::sin(0.07), 1e-15);
  EXPECT_NEAR(oc[2], std::cos(7.0), 1e-15);
  EXPECT_NEAR(oc[3], std::cos(0.07), 1e-15);
}

TEST(Sinusoidal, PinsExponentTwoIOverD) {
  // d = 64, pair i = 16: the paper's frequency is 10000^(-32/64) = 0.01; the widely copied
  // exponent 2*(2i)/d would give 10000^(-1) = 1e-4. At p = 100 that is sin(1) vs sin(0.01).
  const int64_t d = 64, i = 16, p = 100;
  const double correct_sin = std::sin(1.0), correct_cos = std::cos(1.0);
  const double wrong_sin = std::sin(0.01), wrong_cos = std::cos(0.01);
  ASSERT_GT(std::abs(correct_sin - wrong_sin), 0.8);  // the test discriminates
  ASSERT_GT(std::abs(correct_cos - wrong_cos), 0.4);

  auto enc = make_sinusoidal(json::object());
  const auto out = sinusoidal_table(*enc, {p}, d);
  EXPECT_NEAR(out[2 * i], correct_sin, 1e-14);
  EXPECT_NEAR(out[2 * i + 1], correct_cos, 1e-14);

  auto concat = make_sinusoidal({{"layout", "concat"}});
  const auto oc = sinusoidal_table(*concat, {p}, d);
  EXPECT_NEAR(oc[i], correct_sin, 1e-14);
  EXPECT_NEAR(oc[i + d / 2], correct_cos, 1e-14);

  // The lowest frequency (last pair) is base^(-(d-2)/d), not base^(-2(d-2)/d).
  const double last = std::pow(10000.0, -62.0 / 64.0);
  EXPECT_NEAR(out[62], std::sin(100.0 * last), 1e-14);
}

TEST(Sinusoidal, Float32AtLargePositionIsRoundedOnce) {
  // The angle is formed in double, so a float32 entry is the true value rounded once:
  // within half an ulp of 1 (2^-24 ~ 6e-8) of the float64 reference, even at p = 1e6.
  auto enc = make_sinusoidal(json::object());
  const int64_t dim = 64;
  const std::vector<int64_t> pos = {999999, 1000000, 1000001};
  std::vector<float> out(pos.size() * dim);
  positional_table<float>(*enc, pos, dim, out.data());
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t c = 0; c < dim; ++c)
      EXPECT_NEAR(double(out[t * dim + c]),
                  double(sinusoid_reference(pos[t], c, dim, 10000.0L, false)), 6e-8)
          << "p=" << pos[t] << " c=" << c;
}

TEST(Sinusoidal, AddPositionalAddsTheTable) {
  auto enc = make_sinusoidal(json::object());
  const int64_t dim = 8;
  const std::vector<int64_t> pos = {3, 1000};
  std::vector<double> x(pos.size() * dim);
  for (size_t k = 0; k < x.size(); ++k) x[k] = 0.25 * double(k) - 1.0;
  const std::vector<double> x0 = x;
  add_positional<double>(*enc, pos, dim, x.data());
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t c = 0; c < dim; ++c)
      EXPECT_NEAR(x[t * dim + c],
                  x0[t * dim + c] + double(sinusoid_reference(pos[t], c, dim, 10000.0L, false)),
                  1e-12);
}

TEST(Sinusoidal, OddOrNonPositiveDimIsParamError) {
  auto enc = make_sinusoidal(json::object());
  EXPECT_THROW(enc->check_shape(127, 1), UserError);
  EXPECT_THROW(enc->check_shape(0, 1), UserError);
  EXPECT_NO_THROW(enc->check_shape(128, 1));
  std::vector<double> out(7);
  const std::vector<int64_t> pos = {1};
  EXPECT_THROW(positional_table<double>(*enc, pos, 7, out.data()), UserError);
  try {
    enc->check_shape(7, 1);
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("7"), std::string::npos) << e.what();
  }
}

TEST(Sinusoidal, DeclaredParamsAndDefaults) {
  const EncoderInfo& info = EncoderRegistry::instance().get("sinusoidal", "encoder");
  EXPECT_EQ(info.family, Family::additive);
  Diagnostics diag;
  json resolved = resolve_params(info.params, json::object(), "p", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(resolved, json({{"base", 10000.0}, {"layout", "interleaved"}}));
  EXPECT_EQ(make_sinusoidal(json::object())->family(), Family::additive);

  // base must be > 1; layout is a choice.
  Diagnostics bad;
  resolve_params(info.params, {{"base", 1.0}, {"layout", "concatenated"}}, "p", bad);
  ASSERT_EQ(bad.problems().size(), 2u);
  EXPECT_EQ(bad.problems()[0].path, "p.base");
  EXPECT_EQ(bad.problems()[1].path, "p.layout");
}

}  // namespace
}  // namespace posbench
