// Config -> Plan: every class of mistake is reported with its exact JSON path, all at once,
// and a valid config resolves with every default filled in.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "harness/run/config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::has;
using test::problems_text;

std::vector<Problem> problems_of(const json& config) {
  Diagnostics diag;
  build_plan(config, diag);
  return diag.problems();
}

// The single problem of a config with one mistake.
Problem only_problem(const json& config) {
  const auto ps = problems_of(config);
  EXPECT_EQ(ps.size(), 1u) << problems_text(ps);
  return ps.empty() ? Problem{"<none>", ""} : ps[0];
}

// Explicit vectors, so a one-element list is never mistaken for a copy of its element.
json small_experiment(std::vector<json> encoders) {
  return {{"type", "offset_linearity"},
          {"dim", 8},
          {"positions", 16},
          {"offsets", {1, 2}},
          {"encoders", json(std::move(encoders))}};
}

json config_with(std::vector<json> experiments) {
  return {{"name", "t"}, {"seed", 1}, {"experiments", json(std::move(experiments))}};
}

TEST(Config, MalformedJsonNamesLineAndColumn) {
  // The stray '}' is at line 4, column 1.
  const std::string text = "{\n  \"a\": 1,\n  \"b\":\n}\n";
  try {
    parse_json_text(text, "cfg.json");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("cfg.json:4:1: malformed JSON", 0), 0u) << msg;
  }
  // A missing comma: the unexpected string "z" spans line 2, columns 13-15 (nlohmann points
  // at the token's last character).
  try {
    parse_json_text("{\"x\": 1,\n \"y\": [1, 2 \"z\"]}", "c.json");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_TRUE(std::regex_search(e.what(), std::regex("^c\\.json:2:1[3-5]: malformed JSON")))
        << e.what();
  }
  EXPECT_EQ(parse_json_text("{\"a\": [1, 2]}", "ok"), json({{"a", {1, 2}}}));
}

TEST(Config, ReadJsonFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("posbench-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "bad.json") << "[1,\n2,,]";
    std::ofstream(dir / "good.json") << R"({"seed": 3})";
  }
  try {
    read_json_file(dir / "bad.json");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_TRUE(has(e.what(), (dir / "bad.json").string() + ":2:3: malformed JSON")) << e.what();
  }
  EXPECT_EQ(read_json_file(dir / "good.json"), json({{"seed", 3}}));
  try {
    read_json_file(dir / "missing.json");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_TRUE(has(e.what(), "missing.json")) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Config, UnknownTopLevelKey) {
  auto c = config_with(json::array({small_experiment({{{"name", "rope"}}})}));
  c["sed"] = 3;
  const Problem p = only_problem(c);
  EXPECT_EQ(p.path, "sed");
  EXPECT_TRUE(has(p.message, "unknown config key 'sed'; did you mean 'seed'?")) << p.message;
}

TEST(Config, UnknownExperimentType) {
  auto e = small_experiment({{{"name", "rope"}}});
  e["type"] = "offset_linearty";
  const Problem p = only_problem(config_with({e}));
  EXPECT_EQ(p.path, "experiments[0].type");
  EXPECT_TRUE(has(p.message, "did you mean 'offset_linearity'?")) << p.message;
}

TEST(Config, UnknownExperimentParam) {
  auto e = small_experiment({{{"name", "rope"}}});
  e["positons"] = 16;
  const Problem p = only_problem(config_with({e}));
  EXPECT_EQ(p.path, "experiments[0].positons");
  EXPECT_TRUE(has(p.message, "did you mean 'positions'?")) << p.message;
}

TEST(Config, UnknownEncoderName) {
  const Problem p = only_problem(config_with({small_experiment({{{"name", "rop"}}})}));
  EXPECT_EQ(p.path, "experiments[0].encoders[0].name");
  EXPECT_TRUE(has(p.message, "unknown encoder 'rop'; did you mean 'rope'?")) << p.message;
  EXPECT_TRUE(has(p.message, "available: ")) << p.message;
}

TEST(Config, UnknownEncoderKey) {
  const Problem p = only_problem(
      config_with({small_experiment({{{"name", "rope"}, {"parms", {{"base", 100}}}}})}));
  EXPECT_EQ(p.path, "experiments[0].encoders[0].parms");
  EXPECT_TRUE(has(p.message, "did you mean 'params'?")) << p.message;
}

TEST(Config, UnknownEncoderParam) {
  const Problem p = only_problem(config_with({small_experiment(
      {{{"name", "sinusoidal"}}, {{"name", "rope"}, {"params", {{"bsae", 500000}}}}})}));
  EXPECT_EQ(p.path, "experiments[0].encoders[1].params.bsae");
  EXPECT_TRUE(has(p.message, "did you mean 'base'?")) << p.message;
}

TEST(Config, WrongType) {
  const Problem p = only_problem(
      config_with({small_experiment({{{"name", "rope"}, {"params", {{"base", "10000"}}}}})}));
  EXPECT_EQ(p.path, "experiments[0].encoders[0].params.base");
  EXPECT_EQ(p.message, "got \"10000\", expected a number > 1");
}

TEST(Config, OutOfRangeValue) {
  const json c = config_with({small_experiment({{{"name", "rope"}}}),
                              small_experiment({{{"name", "rope"}, {"params", {{"base", -3}}}}})});
  const Problem p = only_problem(c);
  EXPECT_EQ(p.path, "experiments[1].encoders[0].params.base");
  EXPECT_EQ(p.message, "got -3, expected a number > 1");
  auto e = small_experiment({{{"name", "rope"}}});
  e["dim"] = 1;
  EXPECT_EQ(only_problem(config_with({e})).path, "experiments[0].dim");
}

TEST(Config, OddDimForRotaryAndSinusoidal) {
  auto e = small_experiment({{{"name", "alibi"}}, {{"name", "rope"}}, {{"name", "sinusoidal"}}});
  e["dim"] = 127;
  const auto ps = problems_of(config_with({e}));
  ASSERT_EQ(ps.size(), 2u) << problems_text(ps);
  EXPECT_EQ(ps[0].path, "experiments[0].encoders[1].params");
  EXPECT_EQ(ps[1].path, "experiments[0].encoders[2].params");
  EXPECT_TRUE(has(ps[0].message, "127")) << ps[0].message;
  EXPECT_TRUE(has(ps[1].message, "127")) << ps[1].message;
}

TEST(Config, ShapeErrorNamingAParam) {
  // 2 slopes for 4 heads: the experiment's check reports it at the encoder's params.slopes.
  auto e = small_experiment({{{"name", "alibi"}, {"params", {{"slopes", {0.5, 0.25}}}}}});
  e["heads"] = 4;
  const Problem p = only_problem(config_with({e}));
  EXPECT_EQ(p.path, "experiments[0].encoders[0].params.slopes");
}

TEST(Config, ExperimentFactoryParamError) {
  auto e = small_experiment({{{"name", "rope"}}});
  e["offsets"] = {1, 16};  // positions = 16
  const Problem p = only_problem(config_with({e}));
  EXPECT_EQ(p.path, "experiments[0].offsets");
  EXPECT_TRUE(has(p.message, "16")) << p.message;
  e["offsets"] = {1e20};  // integral, but beyond int64
  EXPECT_EQ(only_problem(config_with({e})).path, "experiments[0].offsets");
}

TEST(Config, DuplicateLabels) {
  const Problem p = only_problem(config_with({small_experiment(
      {{{"name", "rope"}}, {{"name", "rope"}, {"params", {{"base", 500000}}}}})}));
  EXPECT_EQ(p.path, "experiments[0].encoders[1].label");
  EXPECT_TRUE(has(p.message, "'rope'")) << p.message;
  // Distinct labels fix it.
  EXPECT_TRUE(
      problems_of(config_with({small_experiment(
                      {{{"name", "rope"}},
                       {{"name", "rope"}, {"label", "rope-500k"}, {"params", {{"base", 5e5}}}}})}))
          .empty());
  const Problem empty_label =
      only_problem(config_with({small_experiment({{{"name", "rope"}, {"label", ""}}})}));
  EXPECT_EQ(empty_label.path, "experiments[0].encoders[0].label");
}

TEST(Config, EmptyOrMissingExperiments) {
  EXPECT_EQ(only_problem({{"experiments", json::array()}}).path, "experiments");
  EXPECT_EQ(only_problem(json::object()).path, "experiments");
  EXPECT_EQ(only_problem({{"experiments", {{"type", "offset_linearity"}}}}).path,
            "experiments");  // an object, not a list
  EXPECT_EQ(only_problem(config_with({{{"type", "offset_linearity"}}})).path,
            "experiments[0].encoders");
  EXPECT_EQ(only_problem(json::array()).path, "");
}

TEST(Config, StructuralErrors) {
  // An experiment that is not an object, one without "type", an encoder that is not an object,
  // an encoder without "name", and a non-string config name: five problems, five paths.
  json c = config_with({json(3), json({{"encoders", json::array({json({{"name", "rope"}})})}}),
                        small_experiment({json("rope"), json({{"label", "x"}})})});
  c["name"] = 5;
  const auto ps = problems_of(c);
  std::vector<std::string> paths;
  for (const auto& p : ps) paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"name", "experiments[0]", "experiments[1].type",
                                             "experiments[2].encoders[0]",
                                             "experiments[2].encoders[1].name"}))
      << problems_text(ps);
  EXPECT_TRUE(has(ps[2].message, "offset_linearity")) << ps[2].message;  // lists the types
}

TEST(Config, SeedMustBeNonNegativeInteger) {
  auto c = config_with({small_experiment({{{"name", "rope"}}})});
  for (const json& bad : {json(-1), json(1.5), json(-2.0), json(1e300), json("3")}) {
    c["seed"] = bad;
    const Problem p = only_problem(c);
    EXPECT_EQ(p.path, "seed");
    EXPECT_TRUE(has(p.message, "non-negative integer")) << p.message;
  }
  c["seed"] = 18446744073709551615ull;
  Diagnostics diag;
  Plan plan = build_plan(c, diag);
  EXPECT_TRUE(diag.ok());
  EXPECT_EQ(plan.seed, 18446744073709551615ull);
  c["seed"] = 3.0;  // a whole number written as a float, as integer parameters accept
  Diagnostics diag2;
  EXPECT_EQ(build_plan(c, diag2).seed, 3u);
  EXPECT_TRUE(diag2.ok());
  EXPECT_TRUE(build_plan(c, diag2).resolved["seed"].is_number_unsigned());
}

TEST(Config, AllErrorsCollectedAtOnce) {
  json c = config_with({small_experiment({{{"name", "rope"}, {"params", {{"bsae", 1}}}}}),
                        small_experiment({{{"name", "sinusoidal"}, {"params", {{"base", 0}}}}})});
  auto ps = problems_of(c);
  ASSERT_EQ(ps.size(), 2u) << problems_text(ps);
  EXPECT_EQ(ps[0].path, "experiments[0].encoders[0].params.bsae");
  EXPECT_EQ(ps[1].path, "experiments[1].encoders[0].params.base");

  // A larger mix across levels.
  c["seed"] = -4;
  c["extra"] = true;
  c["experiments"][0]["type"] = "nope";
  ps = problems_of(c);
  std::vector<std::string> paths;
  for (const auto& p : ps) paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"extra", "seed", "experiments[0].type",
                                             "experiments[1].encoders[0].params.base"}))
      << problems_text(ps);
}

TEST(Config, ResolvedConfigHasAllDefaults) {
  const json given = json::parse(R"({"experiments": [{"type": "offset_linearity",
      "encoders": [{"name": "rope"}, {"name": "alibi", "label": "a"}]}]})");
  Diagnostics diag;
  Plan plan = build_plan(given, diag);
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  EXPECT_EQ(plan.given, given);
  EXPECT_EQ(plan.name, "unnamed");
  EXPECT_EQ(plan.seed, 0u);
  const json expected = json::parse(R"({
    "name": "unnamed", "seed": 0, "plugins": [],
    "experiments": [{
      "type": "offset_linearity", "dim": 128, "heads": 8, "positions": 1024,
      "offsets": [1, 2, 4, 8, 16, 64, 256],
      "encoders": [
        {"name": "rope", "label": "rope", "version": 1,
         "params": {"base": 10000.0, "layout": "half", "rotary_fraction": 1.0,
                    "scaling": null, "max_position_embeddings": null,
                    "head_dim": null}},
        {"name": "alibi", "label": "a", "version": 1, "params": {"slopes": null}}]}]})");
  EXPECT_EQ(plan.resolved, expected) << plan.resolved.dump(2);
  ASSERT_EQ(plan.experiments.size(), 1u);
  const auto& e = plan.experiments[0];
  EXPECT_EQ(e.type, "offset_linearity");
  EXPECT_EQ(e.path, "experiments[0]");
  ASSERT_NE(e.experiment, nullptr);
  ASSERT_EQ(e.encoders.size(), 2u);
  EXPECT_EQ(e.encoders[0].path, "experiments[0].encoders[0]");
  EXPECT_EQ(e.encoders[0].family, Family::rotary);
  EXPECT_EQ(e.encoders[1].label, "a");
  EXPECT_EQ(e.encoders[1].family, Family::bias);
  ASSERT_NE(e.encoders[1].encoder, nullptr);
}

TEST(Config, BuildEncoderAlone) {
  Diagnostics diag;
  EncoderInstance inst =
      build_encoder({{"name", "sinusoidal"}, {"params", {{"layout", "concat"}}}}, "enc", diag);
  ASSERT_TRUE(diag.ok());
  ASSERT_NE(inst.encoder, nullptr);
  EXPECT_EQ(inst.params, json({{"base", 10000.0}, {"layout", "concat"}}));
  Diagnostics bad;
  EncoderInstance none = build_encoder(json("rope"), "enc", bad);
  EXPECT_EQ(none.encoder, nullptr);
  ASSERT_EQ(bad.problems().size(), 1u);
  EXPECT_EQ(bad.problems()[0].path, "enc");
}

TEST(Config, PluginsMustBeStrings) {
  auto c = config_with({small_experiment({{{"name", "rope"}}})});
  c["plugins"] = {"a.so", 3};
  Diagnostics diag;
  const auto plugins = config_plugins(c, diag);
  EXPECT_EQ(plugins, std::vector<std::string>{"a.so"});
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "plugins[1]");
}

}  // namespace
}  // namespace posbench
