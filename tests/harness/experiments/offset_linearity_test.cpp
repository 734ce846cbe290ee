// offset_linearity run through the registries with a Plan: sinusoidal and RoPE are exactly
// (orthogonally) linear in the offset, a random learned table is not, and ALiBi's bias is
// exactly affine in the offset with slope -m_h.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "harness/run/config.h"
#include "property_test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::curve;
using test::metric;

const std::vector<double> kOffsets = {1, 2, 5, 17, 100};

json experiment_config() {
  return json::parse(R"({"seed": 3, "experiments": [{
    "type": "offset_linearity", "dim": 32, "heads": 8, "positions": 256,
    "offsets": [1, 2, 5, 17, 100],
    "encoders": [
      {"name": "sinusoidal"},
      {"name": "sinusoidal", "label": "sin-concat", "params": {"layout": "concat"}},
      {"name": "rope"},
      {"name": "rope", "label": "rope-inter", "params": {"layout": "interleaved", "base": 500}},
      {"name": "rope", "label": "rope-partial", "params": {"rotary_fraction": 0.5}},
      {"name": "learned", "params": {"max_len": 256}},
      {"name": "alibi"},
      {"name": "alibi", "label": "alibi-custom",
       "params": {"slopes": [0.3, 0.7, 1.5, 0.01, 2, 3, 4, 5]}}
    ]}]})");
}

struct Outcomes {
  std::map<std::string, EncoderOutcome> by_label;
  const EncoderOutcome& operator[](const std::string& label) const {
    auto it = by_label.find(label);
    if (it == by_label.end()) throw std::runtime_error("no outcome for " + label);
    return it->second;
  }
};

Outcomes run_config(const json& config) {
  Diagnostics diag;
  Plan plan = build_plan(config, diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : std::string(UserError(diag.problems()).what()));
  Outcomes out;
  if (!diag.ok()) return out;
  const PlannedExperiment& e = plan.experiments.at(0);
  const RunContext ctx{plan.seed, 1, 0, ""};
  ExperimentResult result = e.experiment->run_all(e.encoders, ctx);
  EXPECT_EQ(result.outcomes.size(), e.encoders.size());
  for (auto& o : result.outcomes) out.by_label[o.label] = std::move(o);
  return out;
}

class OffsetLinearity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { outcomes_ = new Outcomes(run_config(experiment_config())); }
  static void TearDownTestSuite() { delete outcomes_; }
  static const Outcomes& outcomes() { return *outcomes_; }
  static Outcomes* outcomes_;
};
Outcomes* OffsetLinearity::outcomes_ = nullptr;

TEST_F(OffsetLinearity, SinusoidalAndRopeAreOrthogonallyLinear) {
  for (const char* label : {"sinusoidal", "sin-concat", "rope", "rope-inter", "rope-partial"}) {
    SCOPED_TRACE(label);
    const EncoderOutcome& o = outcomes()[label];
    EXPECT_EQ(o.status, Status::ok);
    EXPECT_LT(metric(o, "max_relative_residual"), 1e-10);
    EXPECT_LT(metric(o, "max_orthogonality_error"), 1e-6);
    const double rank = metric(o, "min_numerical_rank");
    EXPECT_GE(rank, 1);
    EXPECT_LE(rank, 32);
    const Curve& r = curve(o, "relative_residual");
    EXPECT_EQ(r.x, kOffsets);
    ASSERT_EQ(r.y.size(), kOffsets.size());
    for (double y : r.y) EXPECT_LT(y, 1e-10);
    const Curve& g = curve(o, "orthogonality_error");
    EXPECT_EQ(g.x, kOffsets);
    for (double y : g.y) EXPECT_LT(y, 1e-6);
  }
}

TEST_F(OffsetLinearity, RandomLearnedTableIsNotLinear) {
  // A Gaussian table [256, 32]: the best linear map explains only ~dim/rows of the energy.
  const EncoderOutcome& o = outcomes()["learned"];
  EXPECT_EQ(o.status, Status::ok);
  const Curve& r = curve(o, "relative_residual");
  ASSERT_EQ(r.y.size(), kOffsets.size());
  for (double y : r.y) EXPECT_GT(y, 0.1);
  EXPECT_GT(metric(o, "max_relative_residual"), 0.1);
}

TEST_F(OffsetLinearity, AlibiIsAffineWithSlopeMinusM) {
  const EncoderOutcome& o = outcomes()["alibi"];
  EXPECT_EQ(o.status, Status::ok);
  EXPECT_NEAR(metric(o, "min_r_squared"), 1.0, 1e-12);
  // 8 heads: m_h = 2^-(h+1).
  EXPECT_NEAR(metric(o, "slope_head0"), -0.5, 1e-12);
  const Curve& s = curve(o, "slope");
  ASSERT_EQ(s.y.size(), 8u);
  for (int h = 0; h < 8; ++h) {
    EXPECT_EQ(s.x[h], double(h));
    EXPECT_NEAR(s.y[h], -std::ldexp(1.0, -(h + 1)), 1e-12) << h;
  }
  for (double r2 : curve(o, "r_squared").y) EXPECT_NEAR(r2, 1.0, 1e-12);
}

TEST_F(OffsetLinearity, AlibiCustomSlopesAreRecovered) {
  const EncoderOutcome& o = outcomes()["alibi-custom"];
  const double m[] = {0.3, 0.7, 1.5, 0.01, 2, 3, 4, 5};
  EXPECT_NEAR(metric(o, "min_r_squared"), 1.0, 1e-12);
  const Curve& s = curve(o, "slope");
  ASSERT_EQ(s.y.size(), 8u);
  for (int h = 0; h < 8; ++h) EXPECT_NEAR(s.y[h], -m[h], 1e-12 * std::max(1.0, m[h])) << h;
}

TEST_F(OffsetLinearity, SameSeedSameNumbers) {
  const Outcomes again = run_config(experiment_config());
  for (const auto& [label, o] : outcomes().by_label) {
    SCOPED_TRACE(label);
    const EncoderOutcome& p = again[label];
    ASSERT_EQ(o.metrics.size(), p.metrics.size());
    for (size_t i = 0; i < o.metrics.size(); ++i) EXPECT_EQ(o.metrics[i].value, p.metrics[i].value);
  }
}

TEST(OffsetLinearityParams, OffsetsMustLieInsidePositions) {
  const ExperimentInfo& info = ExperimentRegistry::instance().get("offset_linearity", "experiment");
  auto build = [&](const json& given) {
    Diagnostics diag;
    json r = resolve_params(info.params, given, "e", diag);
    EXPECT_TRUE(diag.ok());
    return info.factory(Params(r));
  };
  EXPECT_NO_THROW(build({{"positions", 16}, {"offsets", {1, 15}}}));
  // 1e20 and 1e300 are integral but far beyond int64: still "offsets >= positions".
  for (const json& offsets :
       {json{1, 16}, json{17}, json{2.5}, json{1e20}, json{1, 1e300}, json::array()}) {
    try {
      build({{"positions", 16}, {"offsets", offsets}});
      ADD_FAILURE() << "expected UserError for offsets " << offsets.dump();
    } catch (const UserError& e) {
      EXPECT_EQ(e.path(), "offsets") << offsets.dump();
    }
  }
}

TEST(OffsetLinearityParams, DeclaredDefaults) {
  const ExperimentInfo& info = ExperimentRegistry::instance().get("offset_linearity", "experiment");
  Diagnostics diag;
  json r = resolve_params(info.params, json::object(), "e", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(r, json::parse(R"({"dim": 128, "heads": 8, "positions": 1024,
                               "offsets": [1, 2, 4, 8, 16, 64, 256]})"));
}

}  // namespace
}  // namespace posbench
