// position_probe: R^2 of the ridge probe, checked on the experiment's output against closed
// forms (an exactly linear table, the relative-ridge shrinkage, random-feature R^2 = d/(N-1)).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

EncoderOutcome run_probe(const json& params, const json& spec) {
  return run_experiment("position_probe", params, spec).outcomes.at(0);
}

// A learned table read from a .npy file whose column 0 is a * p + c and the rest zero.
class LinearTable : public ::testing::Test {
 protected:
  std::string write(int64_t rows, int64_t d, double a, double c) {
    NpyArray arr;
    arr.dtype = NpyDtype::float64;
    arr.shape = {rows, d};
    arr.f64.assign(size_t(rows * d), 0.0);
    for (int64_t p = 0; p < rows; ++p) arr.f64[size_t(p * d)] = a * double(p) + c;
    // (fmt::format: "t" + std::to_string(...) trips a GCC 12 -Wrestrict false positive)
    const auto file = dir_ / fmt::format("t{}.npy", counter_++);
    write_npy(file, arr);
    return file.string();
  }
  TempDir dir_{"posbench-probe-test"};
  int counter_ = 0;
};

TEST_F(LinearTable, ExactlyLinearFeaturesGiveRSquaredOne) {
  // PE(p)[0] = 0.01 p + 3: p is an affine function of the features. lambda = 1e-6 * trace / d
  // shrinks the slope by 1 / (1 + 1e-6 / d), so 1 - R^2 is of order 1e-14 on both ranges.
  const auto o = run_probe(
      {{"dim", 4}, {"train_length", 100}},
      {{"name", "learned"},
       {"params", {{"max_len", 200}, {"init", "file"}, {"path", write(200, 4, 0.01, 3)}}}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_GT(metric(o, "r_squared_train"), 1 - 1e-9);
  EXPECT_GT(metric(o, "r_squared_heldout"), 1 - 1e-9);
  EXPECT_LT(metric(o, "rmse_heldout"), 1e-3);
}

TEST_F(LinearTable, RidgeIsRelativeToTheMeanGramEigenvalue) {
  // One informative column of variance v over N rows, d columns: trace = N v, lambda = ridge N v
  // / d, so the fitted slope is shrunk by s = 1 / (1 + ridge / d) (for any scale a):
  //   train residual = (1 - s)(y - ybar)             -> R^2 = 1 - (1 - s)^2
  //   held-out residual = (1 - s)(y - ybar_train)
  const int64_t d = 4, L = 50;
  const double ridge = 1.0, s = 1.0 / (1.0 + ridge / double(d));
  for (double a : {1e-3, 7.0}) {
    const auto o = run_probe(
        {{"dim", d}, {"train_length", L}, {"ridge", ridge}},
        {{"name", "learned"},
         {"params", {{"max_len", 2 * L}, {"init", "file"}, {"path", write(2 * L, d, a, -1)}}}});
    EXPECT_NEAR(metric(o, "r_squared_train"), 1 - (1 - s) * (1 - s), 1e-12) << a;
    const double ybar_train = (L - 1) / 2.0, ybar_ho = L + (L - 1) / 2.0;
    double res = 0, tot = 0;
    for (int64_t p = L; p < 2 * L; ++p) {
      res += std::pow((1 - s) * (double(p) - ybar_train), 2);
      tot += std::pow(double(p) - ybar_ho, 2);
    }
    EXPECT_NEAR(metric(o, "r_squared_heldout"), 1 - res / tot, 1e-10) << a;
    EXPECT_NEAR(metric(o, "rmse_heldout"), std::sqrt(res / double(L)), 1e-9) << a;
  }
}

TEST(PositionProbe, SinusoidalIsLinearlyDecodableOnTheTrainingRange) {
  // Wang & Chen 2020: absolute position is (almost) linearly recoverable from sinusoidal PE
  // (d = 128, base 1e4, L = 512: the slowest pairs are nearly linear, sin x ~ x, over [0, L)).
  const auto o = run_probe({}, {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_GT(metric(o, "r_squared_train"), 0.999);
  EXPECT_LE(metric(o, "r_squared_train"), 1.0);
  EXPECT_LT(metric(o, "r_squared_heldout"), metric(o, "r_squared_train"));
}

TEST(PositionProbe, RandomLearnedTableMatchesChanceRSquared) {
  // Features independent of p: least-squares R^2 ~ Beta(d/2, (N-d-1)/2), mean d / (N - 1)
  // = 32 / 255, sd ~0.03; and no generalisation to [L, 2L).
  const auto o = run_probe({{"dim", 32}, {"train_length", 256}},
                           {{"name", "learned"}, {"params", {{"max_len", 512}}}});
  EXPECT_NEAR(metric(o, "r_squared_train"), 32.0 / 255.0, 0.1);
  EXPECT_LT(metric(o, "r_squared_heldout"), 0.0);
}

TEST(PositionProbe, BiasSchemesAreNotApplicable) {
  const auto o = run_probe({{"dim", 8}, {"train_length", 16}}, {{"name", "alibi"}});
  EXPECT_EQ(o.status, Status::not_applicable);
  EXPECT_NE(o.note.find("query-key pair"), std::string::npos) << o.note;
  EXPECT_TRUE(o.metrics.empty());
}

TEST(PositionProbe, HeldOutPastMaxLenIsUnsupported) {
  const auto o = run_probe({{"dim", 8}, {"train_length", 64}},
                           {{"name", "learned"}, {"params", {{"max_len", 100}}}});
  EXPECT_EQ(o.status, Status::unsupported);
  EXPECT_NE(o.note.find("held-out"), std::string::npos) << o.note;
  EXPECT_TRUE(std::isfinite(metric(o, "r_squared_train")));
  EXPECT_TRUE(std::isnan(metric(o, "r_squared_heldout")));

  const auto o2 = run_probe({{"dim", 8}, {"train_length", 64}},
                            {{"name", "learned"}, {"params", {{"max_len", 32}}}});
  EXPECT_EQ(o2.status, Status::unsupported);
  EXPECT_TRUE(std::isnan(metric(o2, "r_squared_train")));
}

TEST(PositionProbe, RotaryAveragesOverSamples) {
  const auto o =
      run_probe({{"dim", 32}, {"train_length", 128}, {"samples", 5}}, {{"name", "rope"}});
  ASSERT_EQ(o.status, Status::ok);
  double mean = 0;
  for (const auto& c : o.curves)
    if (c.name == "r_squared_train_by_sample") {
      ASSERT_EQ(c.y.size(), 5u);
      for (double v : c.y) mean += v / 5;
    }
  EXPECT_NEAR(metric(o, "r_squared_train"), mean, 1e-15);
  EXPECT_GT(mean, 0.0);
  EXPECT_LE(mean, 1.0);
}

TEST(PositionProbe, IdenticalForAnyThreadCount) {
  for (const json& spec : {json{{"name", "sinusoidal"}}, json{{"name", "rope"}}}) {
    const json params = {{"dim", 64}, {"train_length", 256}, {"samples", 6}};
    expect_same_values_for_1_and_2_omp_threads("position_probe", params, spec, 3);
  }
}

TEST(PositionProbe, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("position_probe", {{"train_length", -512}}),
                 "experiments[0].train_length", {"-512"});
  expect_problem(config_problems("position_probe", {{"ridge", 0}}), "experiments[0].ridge",
                 {"> 0"});
  expect_problem(config_problems("position_probe", {{"ridge", -1e-3}}), "experiments[0].ridge",
                 {"-0.001"});
  expect_problem(config_problems("position_probe", {{"samples", 0}}), "experiments[0].samples",
                 {"0"});
  expect_problem(config_problems("position_probe", {{"rige", 1}}), "experiments[0].rige",
                 {"ridge"});
}

}  // namespace
}  // namespace posbench::test
