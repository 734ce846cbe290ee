// The real binary (POSBENCH_BINARY) end to end: list/describe/validate/run, exit codes, error
// lines on stderr, and the results file (written only on success, never overwritten).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::has;
using test::read_file;
using Result = test::BinaryResult;

// A config small enough to run in milliseconds.
const char* kGoodConfig = R"({
  "name": "cli-test",
  "seed": 7,
  "experiments": [
    {
      "type": "offset_linearity",
      "dim": 16, "heads": 4, "positions": 64, "offsets": [1, 3, 10],
      "encoders": [
        {"name": "sinusoidal"},
        {"name": "rope", "label": "rope-500k", "params": {"base": 500000}},
        {"name": "rope", "label": "rope-gptj", "params": {"layout": "interleaved", "base": 10000.0}},
        {"name": "alibi"}
      ]
    }
  ]
})";

// The binary run in work() (default results go to work/results).
class Cli : public test::BinaryTest {
 protected:
  Cli() : BinaryTest("posbench-cli-test") {}

  // Names under `dir` (recursively); empty if it does not exist.
  static std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      out.push_back(fs::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

const json* find_named(const json& list, const std::string& name) {
  for (const auto& e : list)
    if (e.value("name", "") == name) return &e;
  return nullptr;
}

TEST_F(Cli, ListJson) {
  const Result r = run("list --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_TRUE(j["encoders"].is_array());
  ASSERT_TRUE(j["experiments"].is_array());
  for (const char* name : {"sinusoidal", "learned", "rope", "alibi"}) {
    const json* e = find_named(j["encoders"], name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_TRUE((*e)["params"].is_array()) << name;
    EXPECT_TRUE((*e)["description"].is_string()) << name;
    EXPECT_TRUE((*e)["version"].is_number_integer()) << name;
    for (const auto& p : (*e)["params"]) {
      EXPECT_TRUE(p.contains("type") && p.contains("default") && p.contains("required"))
          << p.dump();
    }
  }
  EXPECT_EQ((*find_named(j["encoders"], "rope"))["family"], "rotary");
  EXPECT_EQ((*find_named(j["encoders"], "alibi"))["family"], "bias");
  EXPECT_EQ((*find_named(j["encoders"], "sinusoidal"))["family"], "additive");

  const json* base = find_named((*find_named(j["encoders"], "rope"))["params"], "base");
  ASSERT_NE(base, nullptr);
  EXPECT_EQ((*base)["type"], "number");
  EXPECT_EQ((*base)["default"], 10000.0);
  EXPECT_EQ((*base)["min"], 1.0);
  EXPECT_EQ((*base)["min_exclusive"], true);
  const json* layout = find_named((*find_named(j["encoders"], "rope"))["params"], "layout");
  ASSERT_NE(layout, nullptr);
  EXPECT_EQ((*layout)["type"], "choice");
  EXPECT_EQ((*layout)["choices"], json({"half", "interleaved"}));

  const json* ol = find_named(j["experiments"], "offset_linearity");
  ASSERT_NE(ol, nullptr);
  const json* dim = find_named((*ol)["params"], "dim");
  ASSERT_NE(dim, nullptr);
  EXPECT_EQ((*dim)["type"], "integer");
  EXPECT_EQ((*dim)["default"], 128);
  EXPECT_EQ((*dim)["min"], 2.0);
  EXPECT_EQ((*dim)["max"], 65536.0);
  const json* offsets = find_named((*ol)["params"], "offsets");
  ASSERT_NE(offsets, nullptr);
  EXPECT_EQ((*offsets)["type"], "number list");
  EXPECT_EQ((*offsets)["default"], json({1, 2, 4, 8, 16, 64, 256}));
}

TEST_F(Cli, ListText) {
  const Result r = run("list");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"sinusoidal", "learned", "rope", "alibi", "offset_linearity"})
    EXPECT_TRUE(has(r.out, name)) << name;
}

TEST_F(Cli, DescribeRope) {
  Result r = run("describe rope");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* part : {"rope", "rotary", "base", "layout", "rotary_fraction", "10000"})
    EXPECT_TRUE(has(r.out, part)) << part << "\n" << r.out;
  r = run("describe rope --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["name"], "rope");
  EXPECT_EQ(j["kind"], "encoder");
  EXPECT_EQ(j["family"], "rotary");
  for (const char* param : {"base", "layout", "rotary_fraction"})
    EXPECT_NE(find_named(j["params"], param), nullptr) << param;
  r = run("describe offset_linearity");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "positions"));
}

TEST_F(Cli, DescribeTypoSuggests) {
  const Result r = run("describe rop");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err,
                  "posbench: error: unknown scheme or experiment 'rop'; did you mean "
                  "'rope'?"))
      << r.err;
  EXPECT_TRUE(has(r.err, "offset_linearity")) << r.err;  // the full list
  EXPECT_EQ(r.out, "");
}

TEST_F(Cli, BadUsageIsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("run").code, 2);  // CONFIG missing
  write("good.json", kGoodConfig);
  EXPECT_EQ(run("--max-memory lots validate good.json").code, 2);
  EXPECT_EQ(run("run good.json --threads 0").code, 2);
  EXPECT_EQ(entries(work() / "results"), std::vector<std::string>{});
}

TEST_F(Cli, ValidateGood) {
  write("good.json", kGoodConfig);
  const Result r = run("validate good.json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "valid")) << r.out;
  EXPECT_EQ(entries(work()), std::vector<std::string>{"good.json"});
}

TEST_F(Cli, ValidateBadListsEveryProblem) {
  write("bad.json", R"({
    "sed": 1,
    "experiments": [
      {"type": "offset_linearity", "dim": 16, "positions": 32, "offsets": [1],
       "encoders": [{"name": "sinusoidal"}, {"name": "rope", "params": {"bsae": 10}}]},
      {"type": "offset_linearity", "dim": 16, "positions": 32, "offsets": [1],
       "encoders": [{"name": "rope", "params": {"base": -3}}]}
    ]})");
  const Result r = run("validate bad.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "bad.json: 3 problems")) << r.err;
  EXPECT_TRUE(has(r.err, "sed: unknown config key 'sed'; did you mean 'seed'?")) << r.err;
  EXPECT_TRUE(has(r.err,
                  "experiments[0].encoders[1].params.bsae: unknown parameter 'bsae'; did you "
                  "mean 'base'?"))
      << r.err;
  EXPECT_TRUE(has(r.err, "experiments[1].encoders[0].params.base: got -3, expected a number > 1"))
      << r.err;
}

TEST_F(Cli, ValidateReportsMistakesAtEveryDepthInOnePass) {
  // One mistake at each depth: top level, experiment param, encoder entry, speed shape inside a
  // list, the rope scaling dict (tagged by rope_type), an element of a list of choices.
  write("deep.json", R"({
    "name": "deep", "seed": 0, "experimnts": [],
    "experiments": [
      {"type": "speed", "shapes": [{"seq": 64, "heads": 2, "head_dim": 8}, {"seq": 0, "dim": 8}],
       "threads": [1.5], "operations": ["tabel"],
       "encoders": [{"name": "rope", "params": {"scaling": {"rope_type": "yarn", "factor": 0.5,
                                                            "beta_fst": 2}}}]},
      {"type": "offset_linearity", "positions": -3,
       "encoders": [{"name": "sinusoidal", "lable": "x"}, {"name": "rop"}]}
    ]})");
  const Result r = run("validate deep.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "deep.json: 9 problems")) << r.err;
  for (const char* line :
       {"experimnts: unknown config key 'experimnts'; did you mean 'experiments'?",
        "experiments[0].operations[0]: got \"tabel\", expected one of \"table\", \"apply\", "
        "\"materialize_bias\", \"attention\"; did you mean \"table\"?",
        "experiments[0].shapes[1].seq: got 0, expected an integer >= 1",
        "experiments[0].threads[0]: got 1.5, expected an integer >= 1 and <= 1024",
        "experiments[0].encoders[0].params.scaling.beta_fst: unknown key 'beta_fst'; did you "
        "mean 'beta_fast'?",
        "experiments[0].encoders[0].params.scaling.factor: got 0.5, expected a number >= 1",
        "experiments[1].positions: got -3, expected an integer >= 2",
        "experiments[1].encoders[0].lable: unknown encoder key 'lable'; did you mean 'label'?",
        "experiments[1].encoders[1].name: unknown encoder 'rop'; did you mean 'rope'?"})
    EXPECT_TRUE(has(r.err, line)) << "missing: " << line << "\n" << r.err;
  EXPECT_EQ(entries(work()), std::vector<std::string>{"deep.json"});
}

TEST_F(Cli, ValidateChecksMemory) {
  write("big.json", R"({"experiments": [{"type": "offset_linearity", "dim": 128,
      "positions": 1048576, "encoders": [{"name": "rope"}]}]})");
  const Result r = run("--max-memory 1M validate big.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "experiments[0].encoders[0]")) << r.err;
  EXPECT_TRUE(has(r.err, "--max-memory")) << r.err;
}

struct BadRun {
  const char* what;
  std::string config;
  std::string global_args;
  std::string expected;  // in stderr
};

TEST_F(Cli, RunErrorsExitTwoAndWriteNothing) {
  const std::string exp_head =
      R"({"experiments": [{"type": "offset_linearity", "dim": 16, "positions": 32, "offsets": [1],)";
  const std::vector<BadRun> cases = {
      {"malformed JSON", "{\"experiments\": [\n}", "", "cfg.json:2:1: malformed JSON"},
      {"unknown scheme", exp_head + R"("encoders": [{"name": "rop"}]}]})", "",
       "experiments[0].encoders[0].name: unknown encoder 'rop'; did you mean 'rope'?"},
      {"unknown key",
       R"({"sed": 3, )" + exp_head.substr(1) + R"("encoders": [{"name": "rope"}]}]})", "",
       "sed: unknown config key 'sed'"},
      {"wrong type", exp_head + R"("encoders": [{"name": "rope", "params": {"base": "10000"}}]}]})",
       "", "experiments[0].encoders[0].params.base: got \"10000\", expected a number > 1"},
      {"out of range",
       exp_head + R"("encoders": [{"name": "rope", "params": {"rotary_fraction": 1.5}}]}]})", "",
       "experiments[0].encoders[0].params.rotary_fraction: got 1.5"},
      {"odd dim",
       R"({"experiments": [{"type": "offset_linearity", "dim": 127, "positions": 32,
           "offsets": [1], "encoders": [{"name": "alibi"}, {"name": "rope"}]}]})",
       "", "experiments[0].encoders[1].params: rope needs an even"},
      {"too large",
       R"({"experiments": [{"type": "offset_linearity", "dim": 128, "positions": 1048576,
           "encoders": [{"name": "rope"}]}]})",
       "--max-memory 1M", "experiments[0].encoders[0]: would need"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    fs::remove_all(work());
    fs::create_directories(work());
    write("cfg.json", c.config);
    // Default output path (results/ under the working directory) ...
    Result r = run(c.global_args + " run cfg.json");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "posbench: error: " + c.expected)) << r.err;
    // ... and an explicit -o.
    r = run(c.global_args + " run cfg.json -o out/res.json --threads 1");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "posbench: error: " + c.expected)) << r.err;
    EXPECT_EQ(entries(work()), std::vector<std::string>{"cfg.json"}) << "something was written";
  }
}

TEST_F(Cli, RunWritesCompleteResultsFile) {
  write("good.json", kGoodConfig);
  const Result r = run("run good.json -o results/out.json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "results: results/out.json")) << r.out;
  EXPECT_TRUE(has(r.out, " plot results/out.json ")) << r.out;  // the command drawing its figures
  EXPECT_EQ(entries(work() / "results"), std::vector<std::string>{"out.json"});  // no temp files
  const json doc = json::parse(read_file(work() / "results" / "out.json"));

  EXPECT_EQ(doc["schema_version"], 7);
  EXPECT_TRUE(
      std::regex_match(doc["posbench_version"].get<std::string>(), std::regex(R"(\d+\.\d+\.\d+)")))
      << doc["posbench_version"];

  const json& ctx = doc["context"];
  EXPECT_TRUE(std::regex_match(ctx["utc_time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << ctx["utc_time"];
  for (const char* key : {"host", "cpu_model", "compiler", "flags", "build_type", "git_describe"}) {
    ASSERT_TRUE(ctx.contains(key) && ctx[key].is_string()) << key;
    EXPECT_FALSE(ctx[key].get<std::string>().empty()) << key;
  }
  EXPECT_GE(ctx["cores"].get<int>(), 1);
  EXPECT_EQ(ctx["build_type"], POSBENCH_BUILD_TYPE);  // what this build is, not an assumption
  const json& libs = ctx["libraries"];
  EXPECT_EQ(libs["eigen"].get<std::string>().rfind("3.4.", 0), 0u) << libs;
  EXPECT_EQ(libs["nlohmann_json"].get<std::string>().rfind("3.11.", 0), 0u) << libs;
  EXPECT_EQ(libs["xsimd"].get<std::string>().rfind("8.", 0), 0u) << libs;
  EXPECT_TRUE(libs["google_benchmark"].is_string() &&
              !libs["google_benchmark"].get<std::string>().empty())
      << libs;

  EXPECT_EQ(doc["config"], json::parse(kGoodConfig));
  const json& rc = doc["resolved_config"];
  EXPECT_EQ(rc["name"], "cli-test");
  EXPECT_EQ(rc["seed"], 7);
  EXPECT_EQ(rc["experiments"][0]["dim"], 16);
  EXPECT_EQ(rc["experiments"][0]["offsets"], json({1, 3, 10}));
  EXPECT_EQ(rc["experiments"][0]["encoders"][0]["params"],
            json({{"base", 10000.0}, {"layout", "interleaved"}}));
  EXPECT_EQ(rc["experiments"][0]["encoders"][1]["params"]["layout"], "half");  // default filled
  EXPECT_EQ(doc["seeds"]["config"], 7);

  ASSERT_EQ(doc["experiments"].size(), 1u);
  const json& e = doc["experiments"][0];
  EXPECT_EQ(e["type"], "offset_linearity");
  const json& encs = e["encoders"];
  ASSERT_EQ(encs.size(), 4u);
  const char* labels[] = {"sinusoidal", "rope-500k", "rope-gptj", "alibi"};
  const char* names[] = {"sinusoidal", "rope", "rope", "alibi"};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(labels[i]);
    EXPECT_EQ(encs[i]["name"], names[i]);
    EXPECT_EQ(encs[i]["label"], labels[i]);
    EXPECT_EQ(encs[i]["version"], 1);
    EXPECT_EQ(encs[i]["params"], rc["experiments"][0]["encoders"][i]["params"]);
    ASSERT_TRUE(encs[i]["metrics"].is_object());
    EXPECT_FALSE(encs[i]["metrics"].empty());
    for (const auto& [name, m] : encs[i]["metrics"].items()) {
      EXPECT_TRUE(m.contains("value") && m.contains("unit")) << name;
      EXPECT_TRUE(m["value"].is_number()) << name;
    }
  }
  EXPECT_LT(encs[1]["metrics"]["max_relative_residual"]["value"].get<double>(), 1e-10);
  EXPECT_NEAR(encs[3]["metrics"]["slope_head0"]["value"].get<double>(), -0.25, 1e-12);  // 4 heads
  ASSERT_TRUE(doc["total_wall_seconds"].is_number());
  EXPECT_GE(doc["total_wall_seconds"].get<double>(), 0.0);
}

TEST_F(Cli, RunDefaultOutputPath) {
  write("good.json", kGoodConfig);
  const Result r = run("run good.json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto files = entries(work() / "results");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(std::regex_match(files[0], std::regex(R"(good-\d{8}T\d{6}Z\.json)"))) << files[0];
  EXPECT_TRUE(has(r.out, "results: results/" + files[0])) << r.out;
}

TEST_F(Cli, RunRefusesToOverwrite) {
  write("good.json", kGoodConfig);
  write("existing.json", "keep me\n");
  const Result r = run("run good.json -o existing.json --threads 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "posbench: error: -o: existing.json: already exists")) << r.err;
  EXPECT_EQ(read_file(work() / "existing.json"), "keep me\n");
  EXPECT_EQ(entries(work()), (std::vector<std::string>{"existing.json", "good.json"}));
}

TEST_F(Cli, SameConfigAndSeedGiveIdenticalMetrics) {
  write("good.json", kGoodConfig);
  ASSERT_EQ(run("run good.json -o a.json --threads 1").code, 0);
  ASSERT_EQ(run("run good.json -o b.json --threads 1").code, 0);
  const json a = json::parse(read_file(work() / "a.json"));
  const json b = json::parse(read_file(work() / "b.json"));
  ASSERT_EQ(a["experiments"].size(), b["experiments"].size());
  for (size_t i = 0; i < a["experiments"].size(); ++i) {
    const json& ea = a["experiments"][i]["encoders"];
    const json& eb = b["experiments"][i]["encoders"];
    ASSERT_EQ(ea.size(), eb.size());
    for (size_t k = 0; k < ea.size(); ++k) {
      EXPECT_EQ(ea[k]["metrics"], eb[k]["metrics"]) << ea[k]["label"];
      EXPECT_EQ(ea[k]["curves"], eb[k]["curves"]) << ea[k]["label"];
    }
  }
}

}  // namespace
}  // namespace posbench
