// HuggingFace config.json as an encoder entry's params: params beside hf_config override the
// file's (key by key, null drops a value, another rope_type replaces the scaling dict) and
// every override is recorded; every problem is reported with the entry's path, the file and the
// JSON path inside it, or at params when the value was given there.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/config.h"
#include "harness/run/hf_config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::problems_text;

const fs::path kHfDir = fs::path(POSBENCH_SOURCE_DIR) / "configs" / "hf";

const char* kLlama = R"({
  "model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32,
  "max_position_embeddings": 131072, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"}
})";

class HfConfigErrors : public ::testing::Test {
 protected:
  // Writes `text` as dir/name and returns the name as shown in messages.
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).lexically_normal().string();
  }

  // The problems of a one-experiment config (offset_linearity at `dim`) with these entries.
  std::vector<Problem> plan_problems(std::vector<json> entries, int dim = 128) {
    const json config = {{"experiments",
                          {{{"type", "offset_linearity"},
                            {"dim", dim},
                            {"positions", 8},
                            {"offsets", {1}},
                            {"encoders", json(std::move(entries))}}}}};
    Diagnostics diag;
    plan_ = build_plan(config, diag, dir_.path());
    return diag.problems();
  }

  // The resolved entry of a config that must be valid.
  json resolved(const json& entry, int dim = 128) {
    const auto ps = plan_problems({entry}, dim);
    EXPECT_TRUE(ps.empty()) << problems_text(ps);
    if (!ps.empty()) return json::object();
    return plan_.resolved.at("experiments")[0].at("encoders")[0];
  }

  // The single problem's full text.
  std::string only_problem(const json& entry, int dim = 128) {
    const auto ps = plan_problems({entry}, dim);
    EXPECT_EQ(ps.size(), 1u) << problems_text(ps);
    return ps.empty() ? "<none>" : ps[0].str();
  }

  test::TempDir dir_{"posbench-hf-test"};
  Plan plan_;
};

const std::string kEntry = "experiments[0].encoders[0]";

json rope_from(const std::string& file, json params = nullptr) {
  json e = {{"name", "rope"}, {"hf_config", file}};
  if (!params.is_null()) e["params"] = std::move(params);
  return e;
}

TEST_F(HfConfigErrors, ParamsOverrideTheFileAndTheOverridesAreRecorded) {
  write("llama.json", kLlama);
  // An alias beside the file: base 1e6 instead of the file's rope_theta.
  json e = resolved(rope_from("llama.json", {{"rope_theta", 1e6}}));
  EXPECT_EQ(e["params"]["base"], 1e6);
  EXPECT_EQ(e["hf_config"]["overridden_by_params"],
            json({{"base", {{"file", 500000.0}, {"params", 1e6}}}}));
  // Inside scaling key by key: factor 16, the rest from the file.
  e = resolved(rope_from("llama.json", {{"scaling", {{"factor", 16}}}}));
  EXPECT_EQ(e["params"]["scaling"], json({{"rope_type", "llama3"},
                                          {"factor", 16},
                                          {"low_freq_factor", 1.0},
                                          {"high_freq_factor", 4.0},
                                          {"original_max_position_embeddings", 8192}}));
  // Another rope_type replaces the dict (under HF's name of scaling, too).
  e = resolved(
      rope_from("llama.json", {{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2}}}}));
  EXPECT_EQ(e["params"]["scaling"], json({{"rope_type", "linear"}, {"factor", 2}}));
  // null drops the file's value: the unscaled model, with the file's base.
  e = resolved(rope_from("llama.json", {{"scaling", nullptr}}));
  EXPECT_TRUE(e["params"]["scaling"].is_null());
  EXPECT_EQ(e["params"]["base"], 500000.0);
  EXPECT_TRUE(e["hf_config"]["overridden_by_params"]["scaling"]["params"].is_null());
  EXPECT_EQ(e["hf_config"]["overridden_by_params"]["scaling"]["file"]["factor"], 8.0);
  EXPECT_FALSE(e["hf_config"]["params_from_file"].contains("scaling"));
  EXPECT_EQ(e["hf_config"]["params_from_file"]["base"], "rope_theta");
  // Without the head_dim check the file's settings run at another head_dim.
  e = resolved(rope_from("llama.json", {{"head_dim", nullptr}}), 64);
  EXPECT_TRUE(e["params"]["head_dim"].is_null());
  // A value equal to the file's is no override.
  e = resolved(rope_from("llama.json", {{"base", 500000}}));
  EXPECT_EQ(e["hf_config"]["overridden_by_params"], json::object());
}

TEST_F(HfConfigErrors, ScalingMergesAcrossTheOlderTypeKey) {
  // Qwen's file says "type"; params naming the same type as "rope_type" still merge.
  const json e = resolved(rope_from((kHfDir / "qwen2.5-7b-instruct-yarn.json").string(),
                                    {{"scaling", {{"rope_type", "yarn"}, {"beta_fast", 16}}}}));
  EXPECT_EQ(e["params"]["scaling"], json({{"rope_type", "yarn"},
                                          {"factor", 4.0},
                                          {"original_max_position_embeddings", 32768},
                                          {"beta_fast", 16}}));
}

TEST_F(HfConfigErrors, AValueFromTheFileIsNamedInTheFile) {
  std::string bad = kLlama;
  bad.replace(bad.find("\"factor\": 8.0"), 13, "\"factor\": -1");
  const std::string f = write("llama.json", bad);
  EXPECT_EQ(only_problem(rope_from("llama.json")),
            kEntry + ".hf_config: " + f +
                ": rope_scaling.factor: got -1, expected a number >= 1 (a factor below 1 shrinks "
                "the context instead of extending it; HuggingFace only warns about it)");
  // Type, unknown and missing keys, at any depth.
  bad = kLlama;
  bad.replace(bad.find("500000.0"), 8, "\"5e5\"");
  write("theta.json", bad);
  EXPECT_EQ(only_problem(rope_from("theta.json")),
            kEntry + ".hf_config: " + (dir_ / "theta.json").string() +
                ": rope_theta: got \"5e5\", expected a number > 1");
  bad = kLlama;
  bad.replace(bad.find("low_freq_factor"), 15, "low_freq_factr");
  write("typo.json", bad);
  const auto ps = plan_problems({rope_from("typo.json")});
  ASSERT_EQ(ps.size(), 2u) << problems_text(ps);
  const std::string at = kEntry + ".hf_config: " + (dir_ / "typo.json").string() + ": ";
  EXPECT_EQ(ps[0].str().rfind(at + "rope_scaling.low_freq_factr: unknown key 'low_freq_factr'; "
                                   "did you mean 'low_freq_factor'?",
                              0),
            0u)
      << ps[0].str();
  EXPECT_EQ(ps[1].str().rfind(at + "rope_scaling.low_freq_factor: missing", 0), 0u) << ps[1].str();
}

TEST_F(HfConfigErrors, AValueFromParamsIsNamedInParams) {
  write("llama.json", kLlama);
  EXPECT_EQ(only_problem(rope_from("llama.json", {{"scaling", {{"factor", 0.5}}}}))
                .rfind(kEntry + ".params.scaling.factor: got 0.5, expected a number >= 1", 0),
            0u);
  EXPECT_EQ(only_problem(rope_from("llama.json", {{"bsae", 2}})),
            kEntry +
                ".params.bsae: unknown parameter 'bsae'; did you mean 'base'? available: base, "
                "layout, rotary_fraction, scaling, max_position_embeddings, head_dim");
  // A scaling dict of another rope_type replaces the file's, Phi-3's top-level original
  // context included: its keys are the user's.
  EXPECT_EQ(
      only_problem(
          rope_from(
              (kHfDir / "phi-3.5-mini-instruct.json").string(),
              {{"scaling",
                {{"rope_type", "yarn"}, {"factor", 2}, {"original_max_position_embeddings", 0}}}}),
          96),
      kEntry +
          ".params.scaling.original_max_position_embeddings: got 0, expected an integer "
          ">= 1");
  // A cross-key rule broken by the override is named where the override is.
  EXPECT_EQ(only_problem(rope_from("llama.json", {{"scaling", {{"high_freq_factor", 0.5}}}}))
                .rfind(kEntry + ".params.scaling.high_freq_factor: got 0.5", 0),
            0u);
}

TEST_F(HfConfigErrors, HeadDimOfTheModelAgainstTheExperiment) {
  const std::string f = write("llama.json", kLlama);
  EXPECT_EQ(only_problem(rope_from("llama.json"), 64),
            kEntry + ".hf_config: " + f +
                ": hidden_size / num_attention_heads: the model's head_dim is 128, but rope is "
                "asked for head_dim 64 (the experiment's dim, or the last axis of apply's "
                "array); the frequencies base^(-2i/d') and any per-pair factors depend on it: "
                "expected head_dim 128, or give \"head_dim\": null in params to use these "
                "settings at another head_dim");
  // head_dim = hidden_size / num_attention_heads must be whole and even.
  std::string bad = kLlama;
  bad.replace(bad.find("4096"), 4, "4097");
  const std::string g = write("odd.json", bad);
  EXPECT_EQ(only_problem(rope_from("odd.json")),
            kEntry + ".hf_config: " + g +
                ": hidden_size: got 4097, not a multiple of num_attention_heads 32; expected "
                "head_dim = hidden_size / num_attention_heads to be whole (or a head_dim field)");
  bad = kLlama;
  bad.replace(bad.find("4096"), 4, "4000");  // 125
  const std::string h = write("h125.json", bad);
  EXPECT_EQ(only_problem(rope_from("h125.json")),
            kEntry + ".hf_config: " + h +
                ": hidden_size / num_attention_heads: got 125, expected an even integer >= 2 "
                "(rope rotates pairs of channels)");
}

TEST_F(HfConfigErrors, LongRopeListsAndTheTopLevelOriginalContext) {
  json phi = read_json_file(kHfDir / "phi-3.5-mini-instruct.json");
  json short_list = phi;
  short_list["rope_scaling"]["long_factor"].erase(47);
  const std::string f = write("phi47.json", short_list.dump());
  EXPECT_EQ(only_problem(rope_from("phi47.json"), 96),
            kEntry + ".hf_config: " + f +
                ": rope_scaling.long_factor: has 47 entries, expected one per rotated pair: d'/2 "
                "= 48 (head_dim 96, rotary_fraction 1; HuggingFace only warns about it)");
  json two = phi;
  two["rope_scaling"]["original_max_position_embeddings"] = 8192;
  const std::string g = write("phi2.json", two.dump());
  EXPECT_EQ(only_problem(rope_from("phi2.json"), 96),
            kEntry + ".hf_config: " + g +
                ": original_max_position_embeddings: got 4096, expected the same as "
                "rope_scaling.original_max_position_embeddings (8192)");
}

TEST_F(HfConfigErrors, FileProblems) {
  const std::string dir = dir_.path().string();
  EXPECT_EQ(only_problem(rope_from("nope.json")),
            kEntry + ".hf_config: " + dir + "/nope.json: no such file; expected a HuggingFace " +
                "config.json (a relative path is taken from " + dir + "/)");
  const std::string m = write("bad.json", "{\n  \"rope_theta\": 1e4,\n}\n");
  EXPECT_EQ(only_problem(rope_from("bad.json"))
                .rfind(kEntry + ".hf_config: " + m + ":3:1: malformed JSON", 0),
            0u);
  const std::string d = write("dup.json", R"({"rope_theta": 1e4, "rope_theta": 2e4})");
  EXPECT_EQ(only_problem(rope_from("dup.json"))
                .rfind(kEntry + ".hf_config: " + d + ": rope_theta: duplicate key 'rope_theta'", 0),
            0u);
  const std::string a = write("array.json", "[1, 2]");
  EXPECT_EQ(only_problem(rope_from("array.json")),
            kEntry + ".hf_config: " + a + ": got [1,2], expected a JSON object (a model's " +
                "config.json)");
  fs::create_directories(dir_ / "model");
  std::ofstream(dir_ / "model" / "config.json") << kLlama;
  EXPECT_EQ(only_problem(rope_from("model")),
            kEntry + ".hf_config: " + dir + "/model: is a directory; expected a config.json " +
                "file; did you mean " + dir + "/model/config.json?");
  EXPECT_EQ(only_problem({{"name", "rope"}, {"hf_config", 3}}),
            kEntry + ".hf_config: got 3, expected a file path (string)");
  EXPECT_EQ(only_problem({{"name", "xpos"}, {"hf_config", "llama.json"}}),
            kEntry + ".hf_config: is read for rope only; got it with the scheme 'xpos' (give " +
                "that scheme's params instead)");
}

TEST_F(HfConfigErrors, NotARopeModel) {
  const std::string g = write("gpt2.json", R"({"model_type": "gpt2", "n_embd": 768})");
  EXPECT_EQ(only_problem(rope_from("gpt2.json")),
            kEntry + ".hf_config: " + g +
                ": none of rope_theta, rope_scaling, rope_parameters: expected the config.json "
                "of a model with rotary position embeddings (this one's model_type is \"gpt2\")");
  const std::string n = write("neox.json", R"({"rotary_emb_base": 10000, "rotary_pct": 0.25})");
  EXPECT_EQ(only_problem(rope_from("neox.json")),
            kEntry + ".hf_config: " + n +
                ": none of rope_theta, rope_scaling, rope_parameters: expected the config.json "
                "of a model with rotary position embeddings; its rotary_emb_base, rotary_pct "
                "are not read: give rope's params instead (posbench describe rope)");
}

TEST_F(HfConfigErrors, RopeParametersProblems) {
  const std::string f = write("layers.json", R"({"rope_parameters": {
      "full_attention": {"rope_type": "default", "rope_theta": 1e6},
      "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}})");
  EXPECT_EQ(only_problem(rope_from("layers.json")),
            kEntry + ".hf_config: " + f +
                ": rope_parameters: holds one dict per layer type (full_attention, "
                "sliding_attention); posbench reads a single dict: give the one of the layer "
                "type you study as params.scaling (and its rope_theta as params.base)");
  const std::string g = write("theta2.json", R"({"rope_theta": 1e4,
      "rope_parameters": {"rope_type": "default", "rope_theta": 1e6}})");
  EXPECT_EQ(only_problem(rope_from("theta2.json")),
            kEntry + ".hf_config: " + g +
                ": rope_parameters.rope_theta: got 1000000.0, expected the same as rope_theta "
                "(10000.0)");
  const std::string h = write("both.json", R"({"rope_theta": 1e4,
      "rope_parameters": {"rope_type": "linear", "factor": 2},
      "rope_scaling": {"rope_type": "linear", "factor": 4}})");
  EXPECT_EQ(only_problem(rope_from("both.json"))
                .rfind(kEntry + ".hf_config: " + h + ": rope_scaling: got {", 0),
            0u);
  // The same dict under both names is read once.
  write("same.json", R"({"rope_theta": 1e4,
      "rope_parameters": {"rope_type": "linear", "factor": 2, "rope_theta": 1e4},
      "rope_scaling": {"rope_type": "linear", "factor": 2}})");
  const json e = resolved(rope_from("same.json"));
  EXPECT_EQ(e["params"]["scaling"], json({{"rope_type", "linear"}, {"factor", 2}}));
}

TEST_F(HfConfigErrors, ValidateReportsEveryEntrysProblems) {
  const auto ps = plan_problems({rope_from("a.json"), rope_from("b.json")});
  ASSERT_EQ(ps.size(), 2u) << problems_text(ps);
  EXPECT_EQ(ps[0].path, "experiments[0].encoders[0].hf_config");
  EXPECT_EQ(ps[1].path, "experiments[0].encoders[1].hf_config");
}

}  // namespace
}  // namespace posbench
