// Grids in configs (harness/run/sweep.h): the points of a sweep, their labels, the nested params
// a dotted name sets, and a config with sweeps and seeds expanded into ordinary entries whose
// problems name their point and the sweep value they came from.
#include "harness/run/sweep.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/run/config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::has;
using test::problems_text;

TEST(Sweep, ValueTextIsTheShorterOfDecimalAndExponentForm) {
  // Written out by hand from the rule: shortest round-trip decimal vs "<mantissa>e<exponent>".
  EXPECT_EQ(value_text(json(500000)), "5e5");
  EXPECT_EQ(value_text(json(10000)), "1e4");
  EXPECT_EQ(value_text(json(10000.0)), "1e4");
  EXPECT_EQ(value_text(json(1000)), "1e3");
  EXPECT_EQ(value_text(json(100)), "100");  // a tie: the decimal
  EXPECT_EQ(value_text(json(4096)), "4096");
  EXPECT_EQ(value_text(json(4)), "4");
  EXPECT_EQ(value_text(json(0.5)), "0.5");
  EXPECT_EQ(value_text(json(0.0001)), "1e-4");
  EXPECT_EQ(value_text(json(1.5e-5)), "1.5e-5");
  EXPECT_EQ(value_text(json(-250000)), "-2.5e5");
  EXPECT_EQ(value_text(json(0)), "0");
  EXPECT_EQ(value_text(json("interleaved")), "interleaved");
  EXPECT_EQ(value_text(json(true)), "true");
  EXPECT_EQ(value_text(json(nullptr)), "null");
  EXPECT_EQ(value_text(json{{"rope_type", "yarn"}}), R"({"rope_type":"yarn"})");
}

TEST(Sweep, PointsAreTheCartesianProductLastNameFastest) {
  Diagnostics diag;
  const auto points =
      sweep_points(json{{"scaling.factor", {2, 4, 8}}, {"base", {10000, 500000}}}, "s", diag);
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  ASSERT_EQ(points.size(), 6u);
  // Names in sorted order: base, then scaling.factor (fastest).
  const std::vector<std::string> texts = {"base=1e4,scaling.factor=2", "base=1e4,scaling.factor=4",
                                          "base=1e4,scaling.factor=8", "base=5e5,scaling.factor=2",
                                          "base=5e5,scaling.factor=4", "base=5e5,scaling.factor=8"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(points[i].text, texts[i]);
    EXPECT_EQ(points[i].index, (std::vector<size_t>{i / 3, i % 3}));
  }
  EXPECT_EQ(points[4].values, (json{{"base", 500000}, {"scaling.factor", 4}}));
}

TEST(Sweep, BadSweepsAreRefusedWithTheirPath) {
  Diagnostics diag;
  EXPECT_TRUE(sweep_points(json{{"base", json::array()}}, "e.sweep", diag).empty());
  EXPECT_TRUE(sweep_points(json{{"base", 3}}, "e.sweep", diag).empty());
  EXPECT_TRUE(sweep_points(json{{"scaling..factor", {1}}}, "e.sweep", diag).empty());
  EXPECT_TRUE(sweep_points(json::array({1}), "e.sweep", diag).empty());
  const auto& ps = diag.problems();
  ASSERT_EQ(ps.size(), 4u) << problems_text(ps);
  EXPECT_EQ(ps[0].str(), R"(e.sweep["base"]: got [], expected a non-empty list of values)");
  EXPECT_EQ(ps[1].str(), R"(e.sweep["base"]: got 3, expected a non-empty list of values)");
  EXPECT_EQ(ps[2].path, R"(e.sweep["scaling..factor"])");
  EXPECT_EQ(ps[3].path, "e.sweep");
  // 11^5 = 161051 points > kMaxSweepPoints.
  json big = json::object();
  for (const char* n : {"a", "b", "c", "d", "e"}) big[n] = json(std::vector<int>(11, 1));
  Diagnostics many;
  EXPECT_TRUE(sweep_points(big, "e.sweep", many).empty());
  EXPECT_TRUE(has(problems_text(many.problems()), "more than 100000 points"))
      << problems_text(many.problems());
}

TEST(Sweep, DottedNamesReachIntoNestedParamsKeepingTheRest) {
  Diagnostics diag;
  const auto points = sweep_points(json{{"scaling.factor", {4}}, {"base", {500000}}}, "s", diag);
  const json params = {{"layout", "half"}, {"scaling", {{"rope_type", "linear"}, {"factor", 2}}}};
  EXPECT_EQ(apply_point(params, points[0]),
            (json{{"layout", "half"},
                  {"base", 500000},
                  {"scaling", {{"rope_type", "linear"}, {"factor", 4}}}}));
  // Nothing nested yet: the objects are created.
  EXPECT_EQ(apply_point(json(), points[0]), (json{{"base", 500000}, {"scaling", {{"factor", 4}}}}));
}

TEST(Sweep, LabelsNameThePointOrFillTheTemplate) {
  Diagnostics diag;
  const auto points = sweep_points(json{{"scaling.factor", {4}}, {"base", {500000}}}, "s", diag);
  EXPECT_EQ(point_label("rope", "rope", points[0], "l", diag), "rope[base=5e5,scaling.factor=4]");
  EXPECT_EQ(point_label("x", "rope-{base}-x{scaling.factor}", points[0], "l", diag), "rope-5e5-x4");
  EXPECT_TRUE(diag.ok());
  point_label("x", "rope-{bsae}", points[0], "e.label", diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "e.label");
  EXPECT_TRUE(has(diag.problems()[0].message, "did you mean 'base'?"))
      << diag.problems()[0].message;
}

const char* kSweptRope = R"({"name": "rope", "params": {"scaling": {"rope_type": "linear",
    "factor": 2}}, "sweep": {"base": [10000, 500000], "scaling.factor": [2, 4, 8]}})";

json probe_config(const json& rope_entry, const json& extra = json::object()) {
  json e = {{"type", "position_probe"},
            {"dim", 16},
            {"heads", 2},
            {"samples", 4},
            {"train_length", 32},
            {"encoders", {{{"name", "sinusoidal"}}, rope_entry}}};
  e.update(extra);
  return {{"name", "t"}, {"seed", 3}, {"experiments", {e}}};
}

TEST(SweepConfig, EncoderSweepBecomesOneEntryPerPointInResolvedConfig) {
  Diagnostics diag;
  const Plan plan = build_plan(probe_config(json::parse(kSweptRope)), diag);
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  ASSERT_EQ(plan.experiments.size(), 1u);
  const auto& encs = plan.experiments[0].encoders;
  ASSERT_EQ(encs.size(), 7u);
  EXPECT_EQ(encs[0].label, "sinusoidal");
  EXPECT_EQ(encs[1].label, "rope[base=1e4,scaling.factor=2]");
  EXPECT_EQ(encs[6].label, "rope[base=5e5,scaling.factor=8]");
  EXPECT_EQ(encs[6].params["base"], 500000.0);
  EXPECT_EQ(encs[6].params["scaling"]["factor"], 8.0);
  EXPECT_EQ(encs[6].params["scaling"]["rope_type"], "linear");
  EXPECT_EQ(encs[6].path, "experiments[0].encoders[1]");
  const json& resolved = plan.resolved["experiments"][0]["encoders"];
  ASSERT_EQ(resolved.size(), 7u);
  EXPECT_EQ(resolved[5]["label"], "rope[base=5e5,scaling.factor=4]");
  EXPECT_EQ(resolved[5]["sweep_point"], (json{{"base", 500000}, {"scaling.factor", 4}}));
  EXPECT_FALSE(resolved[0].contains("sweep_point"));
}

TEST(SweepConfig, ExperimentSweepAndSeedsGiveOneInstancePerPointAndSeed) {
  Diagnostics diag;
  const Plan plan =
      build_plan(probe_config(json{{"name", "rope"}},
                              json{{"sweep", {{"train_length", {32, 64}}}}, {"seeds", {5, 0, 9}}}),
                 diag);
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  ASSERT_EQ(plan.experiments.size(), 6u);
  const std::vector<std::pair<int, uint64_t>> expected = {{32, 5}, {32, 0}, {32, 9},
                                                          {64, 5}, {64, 0}, {64, 9}};
  for (size_t i = 0; i < 6; ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    EXPECT_EQ(e.path, "experiments[0]");
    EXPECT_EQ(e.params["train_length"], expected[i].first);
    EXPECT_EQ(e.seed, expected[i].second);
    EXPECT_TRUE(e.seeded);
    EXPECT_EQ(plan.resolved["experiments"][i]["seed"], expected[i].second);
    EXPECT_EQ(plan.resolved["experiments"][i]["point"],
              "train_length=" + std::to_string(expected[i].first));
  }
  EXPECT_EQ(plan.experiments[1].name(), "position_probe[train_length=32,seed=0]");
  // Without seeds the config's seed is the instance's, and no seed is in the name.
  Diagnostics d2;
  const Plan unseeded = build_plan(probe_config(json{{"name", "rope"}}), d2);
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(unseeded.experiments[0].seed, 3u);
  EXPECT_EQ(unseeded.experiments[0].name(), "");
  EXPECT_FALSE(unseeded.resolved["experiments"][0].contains("seed"));
}

TEST(SweepConfig, ProblemsNameThePointAndTheSweptValue) {
  // base -1 is bad at the three points with base -1; the experiment's bad train_length only at
  // its own point; both at once.
  json rope = json::parse(kSweptRope);
  rope["sweep"]["base"] = {10000, -1};
  Diagnostics diag;
  build_plan(probe_config(rope, json{{"sweep", {{"train_length", {32, 1}}}}}), diag);
  const auto& ps = diag.problems();
  const std::string all = problems_text(ps);
  ASSERT_EQ(ps.size(), 2u) << all;
  EXPECT_EQ(ps[0].path, R"(experiments[0].encoders[1].sweep["base"][1])") << all;
  EXPECT_TRUE(has(ps[0].message,
                  "at rope[base=-1,scaling.factor=2], rope[base=-1,scaling.factor=4] and "
                  "rope[base=-1,scaling.factor=8]: got -1"))
      << all;
  EXPECT_EQ(ps[1].path, R"(experiments[0].sweep["train_length"][1])") << all;
  EXPECT_TRUE(has(ps[1].message, "at position_probe[train_length=1]: got 1")) << all;
}

TEST(SweepConfig, UnknownSweptParamSuggestsTheNameAtItsSweepPath) {
  json rope = {{"name", "rope"}, {"sweep", {{"bsae", {1, 2}}}}};
  Diagnostics diag;
  build_plan(probe_config(rope), diag);
  const auto& ps = diag.problems();
  ASSERT_EQ(ps.size(), 2u) << problems_text(ps);
  EXPECT_EQ(ps[0].path, R"(experiments[0].encoders[1].sweep["bsae"][0])");
  EXPECT_TRUE(has(ps[0].message, "at rope[bsae=1]: unknown parameter 'bsae'; did you mean 'base'"))
      << ps[0].message;
}

TEST(SweepConfig, SeedsMustBeDistinctUnsignedIntegers) {
  for (const json& seeds : {json::array(), json{1, 1}, json{-1}, json(3)}) {
    Diagnostics diag;
    build_plan(probe_config(json{{"name", "rope"}}, json{{"seeds", seeds}}), diag);
    ASSERT_EQ(diag.problems().size(), 1u) << seeds << problems_text(diag.problems());
    EXPECT_TRUE(has(diag.problems()[0].path, "experiments[0].seeds")) << diag.problems()[0].path;
  }
}

TEST(SweepConfig, TwoPointsWithOneLabelAreRefused) {
  json rope = {{"name", "rope"}, {"label", "rope-{base}"}, {"sweep", {{"base", {1e4, 1e4}}}}};
  Diagnostics diag;
  build_plan(probe_config(rope), diag);
  ASSERT_EQ(diag.problems().size(), 1u) << problems_text(diag.problems());
  EXPECT_TRUE(has(diag.problems()[0].message, "label 'rope-1e4' is used twice"));
}

}  // namespace
}  // namespace posbench
