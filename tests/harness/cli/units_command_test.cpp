// plan, run --shard K/N, merge and run --resume end to end with the real binary
// (harness/cli/units_command.h): 3 shards merged, and a run killed half-way and resumed, equal
// an uninterrupted unsharded run in every non-timing value (harness/run/timing_fields.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/run/timing_fields.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::has;
using test::quoted;

const fs::path kSweep = fs::path(POSBENCH_SOURCE_DIR) / "configs/studies/sweep.json";

class UnitsCli : public test::BinaryTest {
 protected:
  UnitsCli() : BinaryTest("posbench-units-test") {}
  json read(const std::string& name) const { return json::parse(test::read_file(work() / name)); }
  static std::string differences(const json& a, const json& b) {
    std::string out;
    for (const auto& d : non_timing_differences(a, b)) out += "\n  " + d;
    return out;
  }
};

TEST_F(UnitsCli, PlanListsEveryUnitWithIdMemoryAndCost) {
  const auto r = run("plan " + quoted(kSweep) + " --json --shards 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const json plan = json::parse(r.out);
  // position_probe: 2 train_lengths x 2 seeds, each with sinusoidal + 4 ropes (base x
  // scaling.factor): 20 units; speed: 1 (its encoders run together); the snapshots: 1.
  ASSERT_EQ(plan["units"].size(), 22u);
  const json& u1 = plan["units"][1];
  EXPECT_EQ(u1["type"], "position_probe");
  EXPECT_EQ(u1["point"], "train_length=64");
  EXPECT_EQ(u1["seed"], 0);
  EXPECT_EQ(u1["encoders"], json::array({"rope[base=1e4,scaling.factor=2]"}));
  EXPECT_EQ(
      u1["what"],
      "experiments[0] position_probe[train_length=64,seed=0]: rope[base=1e4,scaling.factor=2]");
  EXPECT_GT(u1["memory_bytes"].get<uint64_t>(), 0u);
  const json& speed = plan["units"][20];
  EXPECT_EQ(speed["encoders"], json::array({"rope-1e4", "rope-5e5", "alibi"}));
  std::set<int> shards;
  for (const auto& u : plan["units"]) shards.insert(u["shard"].get<int>());
  EXPECT_EQ(shards, (std::set<int>{0, 1, 2}));
  // The same ids again (derived from content).
  const auto again = run("plan " + quoted(kSweep) + " --json");
  EXPECT_EQ(json::parse(again.out)["units"][7]["id"], plan["units"][7]["id"]);
  // And as a table.
  const auto text = run("plan " + quoted(kSweep));
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_TRUE(has(text.out, "22 units (config hash " + plan["config_hash"].get<std::string>()))
      << text.out;
  EXPECT_TRUE(has(text.out, plan["units"][7]["id"].get<std::string>())) << text.out;
}

TEST_F(UnitsCli, ThreeShardsMergedEqualTheUnshardedRun) {
  const std::string cfg = quoted(kSweep);
  auto r = run("run " + cfg + " -o full.json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(work() / "full.json.units")) << "the unit records were not removed";
  size_t units = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string part = "part" + std::to_string(k) + ".json";
    r = run("run " + cfg + " --shard " + std::to_string(k) + "/3 --resume -o " + part +
            " --threads 1");
    ASSERT_EQ(r.code, 0) << r.err;
    const json p = read(part);
    EXPECT_EQ(p["shard"], (json{{"index", k}, {"count", 3}}));
    EXPECT_FALSE(p["unit_ids"].empty());
    units += p["unit_ids"].size();
  }
  EXPECT_EQ(units, 22u);
  r = run("merge part0.json part1.json part2.json -o merged.json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json full = read("full.json"), merged = read("merged.json");
  EXPECT_EQ(differences(full, merged), "");
  EXPECT_EQ(full["schema_version"], 7);
  EXPECT_EQ(full["units"].size(), 22u);
  // Speed (experiment instance 4, after position_probe's 4) wrote its side file beside the
  // part; merge writes it beside the merged file, under its name.
  EXPECT_TRUE(fs::exists(work() / "merged.4.gbench.json"));
  EXPECT_EQ(merged["experiments"][4]["extra"]["google_benchmark_json"], "merged.4.gbench.json");

  // The seed summaries hold the per-seed values of the experiments they name, and their mean
  // and sample std computed here from those values.
  ASSERT_EQ(full["seed_summaries"].size(), 2u);
  const json& s = full["seed_summaries"][1];
  EXPECT_EQ(s["point"], "train_length=128");
  EXPECT_EQ(s["seeds"], json::array({0, 1}));
  const json& m = s["encoders"][2]["metrics"][0];  // rope[base=1e4,scaling.factor=4]
  const std::string metric = m["metric"];
  std::vector<double> v;
  for (const auto& i : s["experiments"]) {
    const json& enc = full["experiments"][i.get<size_t>()]["encoders"][2];
    EXPECT_EQ(enc["label"], "rope[base=1e4,scaling.factor=4]");
    v.push_back(enc["metrics"][metric]["value"].get<double>());
  }
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0], v[1]) << "the seeds gave the same value: the seed is not used";
  EXPECT_EQ(m["values"], json(v));
  EXPECT_DOUBLE_EQ(m["mean"].get<double>(), (v[0] + v[1]) / 2);
  EXPECT_DOUBLE_EQ(m["std"].get<double>(), std::fabs(v[0] - v[1]) / std::sqrt(2.0));
}

TEST_F(UnitsCli, MergeRefusesPartsThatDoNotMakeOneRun) {
  write("a.json", R"({"experiments": [{"type": "symmetry", "dim": 8, "positions": 8,
      "encoders": [{"name": "rope", "sweep": {"base": [100, 1000]}}]}]})");
  write("b.json", R"({"experiments": [{"type": "symmetry", "dim": 8, "positions": 8,
      "encoders": [{"name": "rope", "sweep": {"base": [100, 2000]}}]}]})");
  ASSERT_EQ(run("run a.json --shard 0/2 -o a0.json").code, 0);
  ASSERT_EQ(run("run a.json --shard 1/2 -o a1.json").code, 0);
  ASSERT_EQ(run("run b.json --shard 1/2 -o b1.json").code, 0);
  ASSERT_EQ(run("run a.json -o full.json").code, 0);
  auto r = run("merge a0.json b1.json -o m.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "b1.json: a part of another config")) << r.err;
  r = run("merge a0.json -o m.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "is in no part")) << r.err;
  r = run("merge a0.json a1.json a1.json -o m.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "a1.json: unit ")) << r.err;
  EXPECT_TRUE(has(r.err, "is also in a1.json")) << r.err;
  r = run("merge a0.json full.json -o m.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "full.json: not a partial results file")) << r.err;
  json edited = read("a1.json");
  edited["posbench_version"] = "0.0.1";
  write("old.json", edited.dump());
  r = run("merge a0.json old.json -o m.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "old.json: written by posbench 0.0.1")) << r.err;
  EXPECT_FALSE(fs::exists(work() / "m.json"));
  r = run("merge a0.json a1.json -o m.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(differences(read("full.json"), read("m.json")), "");
  r = run("run a.json --shard 2/2 -o x.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--shard: got \"2/2\", expected K/N with 0 <= K < N")) << r.err;
}

TEST_F(UnitsCli, MergeKeepsSpeedUnitsOfDifferentHostsApartAndSaysSo) {
  write("s.json", R"({"experiments": [{"type": "speed", "operations": ["table"],
      "shapes": [{"seq": 8, "dim": 8}], "threads": [1], "min_time": 0.001, "repetitions": 1,
      "probe_mib": 1, "seeds": [0, 1], "encoders": [{"name": "rope"}]}]})");
  ASSERT_EQ(run("run s.json --shard 0/1 -o p.json").code, 0);
  json part = read("p.json");
  std::string real;
  for (auto& u : part["units"])
    if (u["outcomes"].size() == 1 && u["id"] == part["unit_ids"][1]) {
      real = u["host"];
      u["host"] = "other-host";
    }
  ASSERT_FALSE(real.empty());
  write("p2.json", part.dump());
  const auto r = run("merge p2.json -o m.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "ran on 2 hosts")) << r.err;
  EXPECT_TRUE(has(r.err, "other-host: experiments[0] speed[seed=1] (speed)")) << r.err;
  const json m = read("m.json");
  EXPECT_EQ(m["experiments"][0]["hosts"], json::array({real}));
  EXPECT_EQ(m["experiments"][1]["hosts"], json::array({"other-host"}));
  // Timings of two machines are not averaged across seeds: one summary per host.
  ASSERT_EQ(m["seed_summaries"].size(), 2u);
  EXPECT_EQ(m["seed_summaries"][0]["host"], real);
  EXPECT_EQ(m["seed_summaries"][0]["seeds"], json::array({0}));
  EXPECT_EQ(m["seed_summaries"][1]["host"], "other-host");
  EXPECT_EQ(m["seed_summaries"][1]["seeds"], json::array({1}));
}

TEST_F(UnitsCli, GoogleBenchmarkLinesOnlyWithVerbose) {
  write("s.json", R"({"experiments": [{"type": "speed", "operations": ["table"],
      "shapes": [{"seq": 8, "dim": 8}], "threads": [1], "implementations": ["simd"],
      "min_time": 0.001, "repetitions": 1, "probe_mib": 1, "encoders": [{"name": "rope"}]}]})");
  const std::string line = "speed: rope/table/8x8/threads:1/simd: median ";
  auto r = run("run s.json -o a.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has(r.err, line)) << r.err;
  r = run("run s.json -o b.json --verbose");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.err, line)) << r.err;
}

// Units of a fraction of a second each: long enough to kill the run half-way, short enough
// for a test (about 2 s in all).
const char* kSlowish = R"({"seed": 2, "experiments": [
  {"type": "offset_linearity", "dim": 64, "positions": 1024, "offsets": [1, 2],
   "encoders": [{"name": "sinusoidal"},
                {"name": "rope", "sweep": {"base": [10000, 20000, 50000, 100000, 200000, 500000,
                                                    1000000, 2000000]}}]}]})";

TEST_F(UnitsCli, KilledRunResumedEqualsAnUninterruptedRun) {
  write("slow.json", kSlowish);
  ASSERT_EQ(run("run slow.json -o whole.json").code, 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(work().c_str()) != 0 || !freopen("/dev/null", "w", stdout) ||
        !freopen("/dev/null", "w", stderr))
      _exit(127);
    execl(POSBENCH_BINARY, POSBENCH_BINARY, "run", "slow.json", "-o", "r.json", nullptr);
    _exit(127);
  }
  // Kill -9 once 3 units are recorded.
  const fs::path dir = work() / "r.json.units";
  const auto recorded = [&] {
    size_t n = 0;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec))
      n += f.path().extension() == ".json" && f.path().filename().string()[0] != '.';
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (recorded() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it was killed";
  const size_t done = recorded();
  ASSERT_GE(done, 3u);
  ASSERT_LT(done, 10u) << "every unit had finished: nothing left to resume";
  EXPECT_FALSE(fs::exists(work() / "r.json"));

  // Without --resume the records are not silently dropped.
  auto r = run("run slow.json -o r.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "holds the finished units of an interrupted run; add --resume")) << r.err;
  r = run("run slow.json -o r.json --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "resuming: " + std::to_string(done) + " of 10 units already done"))
      << r.err;
  EXPECT_EQ(differences(read("whole.json"), read("r.json")), "");
  EXPECT_FALSE(fs::exists(dir));
  // Resumed again (a requeued Slurm task): nothing to do.
  r = run("run slow.json -o r.json --resume");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "already holds this run; nothing to do")) << r.err;
}

}  // namespace
}  // namespace posbench
