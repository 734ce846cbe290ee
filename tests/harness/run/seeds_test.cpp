// Mean and spread across seeds (harness/run/seeds.h), against values computed by hand.
#include "harness/run/seeds.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace posbench {
namespace {

using nlohmann::json;

TEST(Seeds, MeanSampleStdMinMaxPerMetricAndLabel) {
  Diagnostics diag;
  const Plan plan = build_plan(json::parse(R"({"seed": 4, "experiments": [
    {"type": "offset_linearity", "dim": 8, "positions": 16, "offsets": [1, 2],
     "sweep": {"dim": [8, 16]}, "seeds": [3, 1, 2], "encoders": [{"name": "rope"}]},
    {"type": "offset_linearity", "dim": 8, "positions": 16, "offsets": [1, 2],
     "encoders": [{"name": "rope"}]}]})"),
                               diag);
  ASSERT_TRUE(diag.ok());
  ASSERT_EQ(plan.experiments.size(), 7u);
  // Results by hand: metric m = 1, 2, 4 at the seeds of dim 8; NaN at one seed of dim 16.
  std::vector<ExperimentResult> results(7);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> values = {1, 2, 4, 5, nan, 7, 100};
  for (size_t i = 0; i < 7; ++i) {
    EncoderOutcome o;
    o.label = "rope";
    o.metrics = {{"m", values[i], "1"}};
    results[i].outcomes = {o};
  }
  std::vector<const ExperimentResult*> ptrs;
  for (const auto& r : results) ptrs.push_back(&r);
  const auto s = seed_summaries(plan, ptrs);
  ASSERT_EQ(s.size(), 2u);  // the unseeded entry has none
  EXPECT_EQ(s[0].point, "dim=8");
  EXPECT_EQ(s[0].seeds, (std::vector<uint64_t>{3, 1, 2}));
  EXPECT_EQ(s[0].experiments, (std::vector<size_t>{0, 1, 2}));
  const SeedStatistic& a = s[0].encoders.at(0).metrics.at(0);
  EXPECT_EQ(a.metric, "m");
  EXPECT_EQ(a.n, 3u);
  EXPECT_DOUBLE_EQ(a.mean, 7.0 / 3);
  // Sample variance: ((1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2) / 2 = (16/9 + 1/9 + 25/9) / 2 = 7/3.
  EXPECT_DOUBLE_EQ(a.std, std::sqrt(7.0 / 3));
  EXPECT_EQ(a.min, 1);
  EXPECT_EQ(a.max, 4);
  const SeedStatistic& b = s[1].encoders.at(0).metrics.at(0);
  EXPECT_EQ(b.n, 2u);
  EXPECT_TRUE(std::isnan(b.values[1]));
  EXPECT_DOUBLE_EQ(b.mean, 6);
  EXPECT_DOUBLE_EQ(b.std, std::sqrt(2.0));  // ((5-6)^2 + (7-6)^2) / 1
}

}  // namespace
}  // namespace posbench
