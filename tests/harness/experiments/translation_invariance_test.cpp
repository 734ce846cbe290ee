// translation_invariance on the experiment's output: sinusoidal, rope and alibi are exactly
// translation invariant (analytic value 0, so only rounding remains); a random learned table is
// not, and its figure matches a scalar re-computation of the definition from the table.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "property_test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

const json kSmall = {{"positions", 256}, {"max_offset", 32}, {"samples", 8}};

TEST(TranslationInvariance, ExactSchemesAreInvariant) {
  const auto e = make_experiment("translation_invariance", kSmall);
  for (const json& spec :
       {json{{"name", "sinusoidal"}}, json{{"name", "rope"}},
        json{{"name", "rope"}, {"params", {{"layout", "interleaved"}}}}, json{{"name", "alibi"}}}) {
    const EncoderOutcome o = run_with(*e, make_encoder(spec));
    EXPECT_EQ(o.status, Status::ok) << spec;
    EXPECT_LT(metric(o, "invariance_error"), 1e-9) << spec;
    EXPECT_GE(metric(o, "invariance_error"), 0.0) << spec;
    EXPECT_EQ(unit_of(o, "invariance_error"), "1");
    EXPECT_EQ(unit_of(o, "worst_offset"), "positions");
  }
}

TEST(TranslationInvariance, AlibiReportsEveryHead) {
  const auto e = make_experiment("translation_invariance",
                                 {{"positions", 128}, {"max_offset", 16}, {"heads", 4}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "alibi"}}));
  ASSERT_EQ(o.curves.size(), 4u);
  for (int h = 0; h < 4; ++h) {
    const Curve& c = curve(o, fmt::format("std_per_offset_head{}", h));
    ASSERT_EQ(c.x.size(), 17u);
    EXPECT_EQ(c.x.front(), 0.0);
    EXPECT_EQ(c.x.back(), 16.0);
    // b_h(x, x + m) = -m_h m for every x: the spread over anchors is exactly 0.
    for (double y : c.y) EXPECT_EQ(y, 0.0);
  }
  EXPECT_EQ(metric(o, "invariance_error"), 0.0);
  EXPECT_EQ(metric(o, "invariance_error_mean_head"), 0.0);
}

// Reference: the definition evaluated directly from the table W (row p = PE(p)).
struct Reference {
  std::vector<double> std_per_offset;
  double error = 0;
  int worst = 0;
};

Reference invariance_reference(const std::vector<double>& W, int P, int dim, int M) {
  auto phi = [&](int x, int y) {
    long double s = 0;
    for (int c = 0; c < dim; ++c) s += (long double)W[x * dim + c] * W[y * dim + c];
    return (double)s;
  };
  Reference r;
  std::vector<double> all;
  for (int m = 0; m <= M; ++m) {
    std::vector<double> v;
    for (int x = 0; x + m < P; ++x) v.push_back(phi(x, x + m));
    long double mean = 0, var = 0;
    for (double y : v) mean += y;
    mean /= v.size();
    for (double y : v) var += (y - mean) * (y - mean);
    r.std_per_offset.push_back(std::sqrt((double)(var / v.size())));
    all.insert(all.end(), v.begin(), v.end());
  }
  long double mean = 0, var = 0;
  for (double y : all) mean += y;
  mean /= all.size();
  for (double y : all) var += (y - mean) * (y - mean);
  double mean_std = 0;
  for (int m = 0; m <= M; ++m) {
    mean_std += r.std_per_offset[m];
    if (r.std_per_offset[m] > r.std_per_offset[r.worst]) r.worst = m;
  }
  r.error = (mean_std / (M + 1)) / std::sqrt((double)(var / all.size()));
  return r;
}

TEST(TranslationInvariance, RandomLearnedTableIsNotInvariant) {
  const int P = 200, dim = 32, M = 24;
  const auto e = make_experiment("translation_invariance",
                                 {{"positions", P}, {"max_offset", M}, {"dim", dim}});
  const EncoderInstance enc = make_encoder({{"name", "learned"}, {"params", {{"max_len", P}}}});
  const EncoderOutcome o = run_with(*e, enc);
  ASSERT_EQ(o.status, Status::ok) << o.note;

  const std::vector<double> W = table_rows(enc, P, dim);
  const Reference ref = invariance_reference(W, P, dim, M);

  EXPECT_GT(metric(o, "invariance_error"), 0.1);
  EXPECT_NEAR(metric(o, "invariance_error"), ref.error, 1e-12 * ref.error);
  EXPECT_EQ(metric(o, "worst_offset"), double(ref.worst));
  const Curve& c = curve(o, "std_per_offset");
  ASSERT_EQ(c.y.size(), size_t(M + 1));
  for (int m = 0; m <= M; ++m) {
    EXPECT_EQ(c.x[m], double(m));
    EXPECT_NEAR(c.y[m], ref.std_per_offset[m], 1e-12 * ref.std_per_offset[m]) << m;
  }
}

TEST(TranslationInvariance, LearnedTableTooShortIsUnsupported) {
  const auto e = make_experiment("translation_invariance", {{"positions", 64}, {"max_offset", 8}});
  const EncoderOutcome o =
      run_with(*e, make_encoder({{"name", "learned"}, {"params", {{"max_len", 32}}}}));
  EXPECT_EQ(o.status, Status::unsupported);
  EXPECT_NE(o.note.find("32"), std::string::npos) << o.note;
}

TEST(TranslationInvariance, SameResultForAnyThreadCount) {
  const auto e = make_experiment("translation_invariance", kSmall);
  expect_same_result_for_1_and_2_threads(*e, 256, 3);
}

TEST(TranslationInvariance, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("translation_invariance", {{"positions", 64}, {"max_offset", 64}}),
                 "experiments[0].max_offset", {"64", "max_offset < positions"});
  expect_problem(config_problems("translation_invariance", {{"max_offset", -1}}),
                 "experiments[0].max_offset", {"-1"});
  expect_problem(config_problems("translation_invariance", {{"positions", -5}}),
                 "experiments[0].positions", {"-5"});
  expect_problem(config_problems("translation_invariance", {{"samples", 0}}),
                 "experiments[0].samples", {"0"});
  expect_problem(config_problems("translation_invariance", {{"max_ofset", 3}}),
                 "experiments[0].max_ofset", {"max_offset"});
  // A shape the scheme cannot take: odd dim for rope.
  json odd = {{"type", "translation_invariance"}, {"dim", 7}, {"encoders", {{{"name", "rope"}}}}};
  Diagnostics diag;
  build_plan({{"name", "t"}, {"experiments", {odd}}}, diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path.rfind("experiments[0].encoders[0]", 0), 0u)
      << diag.problems()[0].str();
}

}  // namespace
}  // namespace posbench::test
