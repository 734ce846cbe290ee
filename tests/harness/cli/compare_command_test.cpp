// `posbench compare` end to end on real runs: --exact on two runs of one config, a table of a
// rope base sweep (--by label), and every mistake refused with exit 2 naming what was wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::has;
using test::read_file;

// Runs in milliseconds: one experiment over a sweep of rope bases and another scheme.
const char* kSweep = R"({
  "name": "compare-sweep",
  "seed": 5,
  "experiments": [
    {
      "type": "offset_linearity",
      "dim": 16, "heads": 2, "positions": 64, "offsets": [1, 3, 10],
      "encoders": [
        {"name": "rope", "label": "rope-100", "params": {"base": 100}},
        {"name": "rope", "label": "rope-10k", "params": {"base": 10000}},
        {"name": "rope", "label": "rope-500k", "params": {"base": 500000}}
      ]
    },
    {
      "type": "symmetry",
      "dim": 16, "positions": 64,
      "encoders": [{"name": "sinusoidal"}, {"name": "alibi"}]
    }
  ]
})";

class CompareCli : public test::BinaryTest {
 protected:
  CompareCli() : BinaryTest("posbench-compare-test") {}

  // Runs the sweep config into `name` and returns its results.
  json run_sweep(const std::string& name) {
    write("sweep.json", kSweep);
    const auto r = run("run sweep.json -o " + name);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(read_file(work() / name));
  }
};

TEST_F(CompareCli, ExactOnTwoRunsOfOneConfigFindsNoDifferenceAndThenOne) {
  json r1 = run_sweep("r1.json");
  run_sweep("r2.json");
  auto r = run("compare r1.json r2.json --exact");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "r1.json and r2.json: identical")) << r.out;
  // One metric changed in its last digits: exit 1, the path and both values listed.
  json changed = r1;
  json& m = changed["experiments"][0]["encoders"][1]["metrics"].begin().value()["value"];
  const double before = m.get<double>();
  m = before * (1 + 1e-15) + 1e-300;
  const std::string name = changed["experiments"][0]["encoders"][1]["metrics"].begin().key();
  write("changed.json", changed.dump(2));
  r = run("compare r1.json changed.json --exact");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "differ in 1 value")) << r.out;
  EXPECT_TRUE(has(r.out, "experiments[0].encoders[1].metrics." + name + ".value: A ")) << r.out;
  r = run("compare r1.json changed.json --exact --json");
  EXPECT_EQ(r.code, 1);
  const json d = json::parse(r.out);
  ASSERT_EQ(d["differences"].size(), 1u);
  EXPECT_EQ(d["differences"][0]["a"], before);
  // Without --exact the tolerance (rtol 1e-6) accepts it: every metric compared, none differs.
  r = run("compare r1.json changed.json --json");
  EXPECT_EQ(r.code, 0) << r.err;
  const json c = json::parse(r.out);
  size_t metrics = 0;
  for (const auto& e : r1["experiments"])
    for (const auto& enc : e["encoders"]) metrics += enc["metrics"].size();
  EXPECT_EQ(c["summary"]["metrics_compared"], metrics);
  EXPECT_EQ(c["summary"]["metrics_differing"], 0);
  r = run("compare r1.json changed.json --rtol 0 --atol 0");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "DIFFERS")) << r.out;
  EXPECT_TRUE(has(r.out, "summary: 1 of " + std::to_string(metrics) + " metrics differ")) << r.out;
}

TEST_F(CompareCli, ByLabelShowsARopeBaseSweepAsATable) {
  const json results = run_sweep("sweep-results.json");
  auto r = run("compare sweep-results.json --by label --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json t = json::parse(r.out);
  const json& e = t["experiments"][0];
  EXPECT_EQ(e["swept"], json({"base"}));  // every other param of rope is the same
  const json& encoders = results["experiments"][0]["encoders"];
  ASSERT_EQ(e["rows"].size(), 3u);
  const double bases[] = {100, 10000, 500000};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(e["rows"][k]["label"], encoders[k]["label"]);
    EXPECT_EQ(e["rows"][k]["params"]["base"].get<double>(), bases[k]);
    for (const auto& [name, m] : encoders[k]["metrics"].items())
      EXPECT_EQ(e["rows"][k]["metrics"][name], m["value"]) << name;
  }
  // The second experiment mixes schemes: no param is shared, so the differing ones are columns.
  EXPECT_TRUE(t["experiments"][1]["several_schemes"].get<bool>());
  r = run("compare sweep-results.json --by label");
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "experiments[0] offset_linearity (swept: base)")) << r.out;
  EXPECT_TRUE(has(r.out, "rope-500k  500000")) << r.out;
}

TEST_F(CompareCli, ByLabelOfARealSweepHasTheSweptParamsAsColumnsOnly) {
  // A swept and seeded experiment with an unswept scheme beside a swept one: one table, whose
  // columns are train_length, seed, the scheme and base; none of the params that are not swept
  // (rope's layout, scaling..., sinusoidal's own), which were columns of nulls before.
  write("grid.json", R"({"name": "grid", "seed": 0, "experiments": [
    {"type": "position_probe", "dim": 16, "heads": 2, "samples": 2,
     "sweep": {"train_length": [16, 32]}, "seeds": [0, 1],
     "encoders": [{"name": "sinusoidal"},
                  {"name": "rope", "params": {"scaling": {"rope_type": "linear", "factor": 2}},
                   "sweep": {"base": [10000, 500000]}}]}]})");
  auto r = run("run grid.json -o grid-results.json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json results = json::parse(read_file(work() / "grid-results.json"));
  ASSERT_EQ(results["experiments"].size(), 4u);  // 2 lengths x 2 seeds
  r = run("compare grid-results.json --by label --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json t = json::parse(r.out);
  ASSERT_EQ(t["experiments"].size(), 1u);
  const json& e = t["experiments"][0];
  EXPECT_EQ(e["experiment_swept"], json({"train_length"}));
  EXPECT_TRUE(e["seeded"].get<bool>());
  EXPECT_EQ(e["swept"], json({"base"}));
  ASSERT_EQ(e["rows"].size(), 12u);
  size_t k = 0;
  for (size_t i = 0; i < 4; ++i)
    for (const auto& enc : results["experiments"][i]["encoders"]) {
      SCOPED_TRACE(k);
      const json& row = e["rows"][k++];
      EXPECT_EQ(row["label"], enc["label"]);
      EXPECT_EQ(row["experiment"], "experiments[" + std::to_string(i) + "]");
      EXPECT_EQ(row["seed"], results["experiments"][i]["seed"]);
      EXPECT_EQ(row["experiment_params"]["train_length"],
                results["experiments"][i]["params"]["train_length"]);
      // sinusoidal has a base of its own (10000): shown, as any param of the row's scheme that
      // is a column.
      EXPECT_EQ(row["params"], json({{"base", enc["params"]["base"]}}));
      for (const auto& [name, m] : enc["metrics"].items())
        EXPECT_EQ(row["metrics"][name], m["value"]) << name;
    }
  r = run("compare grid-results.json --by label");
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "experiments[0] position_probe (swept: train_length, seed, base)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "rope[base=5e5]  32            1     rope        500000")) << r.out;
}

TEST_F(CompareCli, MistakesExitTwoNamingWhatWasWrong) {
  run_sweep("ok.json");
  const auto expect_error = [&](const std::string& args, const std::string& message) {
    const auto r = run("compare " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out << r.err;
    EXPECT_TRUE(has(r.err, message)) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args << "\n" << r.out;
  };
  expect_error("ok.json", "FILES: got [\"ok.json\"], expected two results files");
  expect_error("ok.json ok.json ok.json", "expected two results files");
  expect_error("ok.json --by lable", "unknown table layout 'lable'; did you mean 'label'?");
  expect_error("ok.json ok.json --by label",
               "--by: got [\"ok.json\",\"ok.json\"], expected "
               "exactly one results file");
  expect_error("ok.json ok.json --map simd=refrence",
               "--map simd=refrence: unknown implementation 'refrence'; did you mean "
               "'reference'?");
  expect_error("ok.json ok.json --map simd", "--map: got \"simd\", expected IMPL_A=IMPL_B");
  expect_error("ok.json ok.json --alpha 1.5", "--alpha: got 1.5, expected a probability in (0, 1)");
  expect_error("ok.json ok.json --rtol -1", "--rtol: got -1");
  expect_error("ok.json ok.json --noise -5", "--noise: got -5");
  expect_error("ok.json ok.json --noise -5", "expected a percentage >= 0");
  expect_error("ok.json ok.json --time wal", "--time: unknown clock 'wal'; did you mean 'wall'?");
  expect_error("ok.json ok.json --fail-on-regression 10",
               "--fail-on-regression: no speed benchmark of A matches one of B");
  expect_error("ok.json ok.json --exact --fail-on-regression 10", "--exact: compares values");
  expect_error("ok.json missing.json", "missing.json: cannot open");
  write("newer.json", R"({"schema_version": 99, "experiments": []})");
  expect_error("ok.json newer.json", "newer.json: schema_version: got 99, expected 1 to ");
  write("bad.json", R"({"schema_version": 5, "experiments": [
    {"type": "symmetry", "encoders": [{"name": "rope", "metrics": {}}]}]})");
  expect_error("ok.json bad.json",
               "bad.json: experiments[0].encoders[0].label: got null, "
               "expected a string");
  write("badtime.json", R"({"schema_version": 5, "experiments": [{"type": "speed", "encoders": [
    {"name": "rope", "label": "rope", "metrics": {}, "extra": {"benchmarks": [
      {"name": "b", "operation": "apply", "implementation": "simd", "threads": 1,
       "time_s": {"all": [1e-6, -2]}}]}}]}]})");
  expect_error("badtime.json badtime.json",
               "badtime.json: experiments[0].encoders[0].extra.benchmarks[0].time_s.all: got "
               "[1e-06,-2], expected an array of positive numbers");
}

}  // namespace
}  // namespace posbench
