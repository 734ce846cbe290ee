// The speed experiment end to end through the real binary (POSBENCH_BINARY) on the tiny CI
// config (configs/speed-ci.json), so the speed path cannot rot. Checks the structure of the
// results and of Google Benchmark's JSON, and the correctness figures the run records (table
// error, fused == materialised); never a time.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/experiments/speed/statistics.h"
#include "harness/kernels/simd.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Result = test::BinaryResult;

class SpeedRun : public ::testing::Test {
 protected:
  Result run(const std::string& args) const { return test::run_posbench(args, dir_); }

  test::TempDir root_{"posbench-speed-test"};
  const fs::path dir_ = root_.path();
};

// When each repetition ran (time_s.at, its mid-time in s since the experiment's first benchmark
// call): every reported repetition was matched to the call that produced it, and a benchmark's
// two repetitions, which ran one after the other, lie at least half their durations apart.
void expect_repetition_times(const json& b) {
  SCOPED_TRACE(b["name"].get<std::string>());
  const json& t = b["time_s"];
  ASSERT_EQ(t["at"].size(), 2u);
  for (const json& at : t["at"]) ASSERT_TRUE(at.is_number()) << t.dump();
  EXPECT_GE(t["at"][0].get<double>(), 0);
  const double took0 = t["all"][0].get<double>() * b["iterations"][0].get<double>();
  const double took1 = t["all"][1].get<double>() * b["iterations"][1].get<double>();
  EXPECT_GE(t["at"][1].get<double>() - t["at"][0].get<double>(), 0.5 * (took0 + took1)) << t.dump();
}

TEST_F(SpeedRun, CiConfigRunsAndWritesEveryFigure) {
  const fs::path config = fs::path(POSBENCH_SOURCE_DIR) / "configs" / "speed-ci.json";
  const fs::path out = dir_ / "speed.json";
  const Result r = run("run '" + config.string() + "' -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  json doc;
  std::ifstream(out) >> doc;
  ASSERT_EQ(doc["experiments"].size(), 1u);
  const json& e = doc["experiments"][0];
  EXPECT_EQ(e["type"], "speed");

  // Machine context and the dispatched instruction set.
  const json& extra = e["extra"];
  EXPECT_EQ(extra["machine"]["simd_isa_dispatched"], kernels::simd_isa());
  EXPECT_GE(extra["machine"]["num_cpus"].get<int>(), 1);
  EXPECT_TRUE(extra["machine"]["caches"].is_array());
  EXPECT_TRUE(extra["methods"].contains("buffers"));
  EXPECT_LE(extra["peak_buffer_bytes"].get<uint64_t>(),
            extra["memory_bytes_estimate"].get<uint64_t>());

  // Probes: the reference probe at probe_mib (in place, copy and fill at every thread count),
  // and one probe measured next to each operation with a working set (checked below).
  std::map<std::string, int> reference_kinds;
  std::map<std::string, json> probe_by_name;
  for (const json& p : extra["probes"]) {
    ASSERT_FALSE(p.contains("error")) << p.dump();
    EXPECT_GT(p["gb_per_s"]["median"].get<double>(), 0) << p["name"];
    EXPECT_EQ(p["repetitions"], 2);
    expect_repetition_times(p);
    probe_by_name[p["name"].get<std::string>()] = p;
    if (p.contains("measured_next_to")) continue;
    reference_kinds[p["operation"].get<std::string>()]++;
    EXPECT_EQ(p["working_set_bytes"], uint64_t(1) << 20) << "probe_mib = 1";
  }
  for (const char* kind : {"inplace", "copy", "fill"}) EXPECT_EQ(reference_kinds[kind], 2) << kind;
  // The scheme-free attention baseline: 2 shapes x 2 threads x 2 implementations.
  EXPECT_EQ(extra["attention_baseline"].size(), 8u);

  // Per encoder: the expected (operation, shape, threads, implementation) records.
  const std::map<std::string, std::set<std::string>> ops = {
      {"sinusoidal", {"table", "apply", "attention"}},
      {"learned", {"table", "apply", "attention"}},
      {"rope-half", {"table", "apply", "attention"}},
      {"rope-interleaved", {"table", "apply", "attention"}},
      {"alibi", {"materialize_bias", "apply", "attention", "attention_fused"}}};
  ASSERT_EQ(e["encoders"].size(), ops.size());
  for (const json& enc : e["encoders"]) {
    const std::string label = enc["label"];
    SCOPED_TRACE(label);
    EXPECT_EQ(enc["status"], "ok") << enc["note"];
    const auto& want = ops.at(label);
    const json& benches = enc["extra"]["benchmarks"];
    EXPECT_EQ(benches.size(), want.size() * 2 * 2 * 2);
    std::set<std::string> seen;
    for (const json& b : benches) {
      SCOPED_TRACE(b["name"].get<std::string>());
      ASSERT_FALSE(b.contains("error"));
      seen.insert(b["operation"]);
      EXPECT_EQ(b["repetitions"], 2);
      EXPECT_EQ(b["time_s"]["all"].size(), 2u);
      EXPECT_GT(b["time_s"]["median"].get<double>(), 0);
      expect_repetition_times(b);
      EXPECT_GE(b["time_s"]["cv"].get<double>(), 0);
      EXPECT_GT(b["ns_per_element"].get<double>(), 0);
      EXPECT_EQ(b["isa"] == kernels::simd_isa(), b["implementation"] == "simd");
      EXPECT_FALSE(b["method"].get<std::string>().empty());
      const std::string op = b["operation"];
      if (op == "apply" || op == "materialize_bias" || op == "table") {
        EXPECT_GT(b["gb_per_s"]["median"].get<double>(), 0);
        EXPECT_GT(b["fraction_of_probe"].get<double>(), 0);
        EXPECT_GT(b["fraction_of_probe_fixed"].get<double>(), 0);
        // The headline fraction is the median of the time-paired ones (one per repetition);
        // the ratio of the medians is kept beside it.
        EXPECT_EQ(b["fraction_of_probe_method"], "median of time-paired repetitions");
        ASSERT_EQ(b["fraction_of_probe_paired"]["all"].size(), 2u);
        EXPECT_DOUBLE_EQ(b["fraction_of_probe"].get<double>(),
                         b["fraction_of_probe_paired"]["median"].get<double>());
        EXPECT_GT(b["fraction_of_probe_of_medians"].get<double>(), 0);
        EXPECT_EQ(b["bound"], op == "table" ? "arithmetic" : "memory");
        // Its own probe: same kind, thread count and working set, measured in its session.
        const std::string probe_name = b["probe"]["name"];
        ASSERT_TRUE(probe_by_name.count(probe_name)) << probe_name;
        const json& p = probe_by_name[probe_name];
        EXPECT_EQ(p["operation"], op == "apply" ? "inplace" : "fill");
        // Each paired fraction: this repetition's GB/s over that of the probe's repetition
        // nearest in time, recomputed from the records with the experiment's own pairing.
        auto timed = [](const json& x) {
          return speed::Timed{x["bytes_per_iteration"].get<double>(),
                              x["time_s"]["all"].get<std::vector<double>>(),
                              x["time_s"]["at"].get<std::vector<double>>()};
        };
        const std::vector<double> paired = speed::paired_fractions(timed(b), timed(p));
        ASSERT_EQ(paired.size(), 2u);
        for (size_t j = 0; j < 2; ++j)
          EXPECT_NEAR(b["fraction_of_probe_paired"]["all"][j].get<double>(), paired[j],
                      1e-9 * paired[j]);
        EXPECT_DOUBLE_EQ(b["fraction_of_probe_of_medians"].get<double>(),
                         speed::fraction_of_medians(timed(b), timed(p)));
        EXPECT_EQ(p["threads"], b["threads"]);
        EXPECT_EQ(p["measured_next_to"].get<std::string>().rfind(label + "/" + op + "/", 0), 0u)
            << p["measured_next_to"];
        // ... over the bytes the operation touches (float32), rounded up to 64: q and k for a
        // full rotation, the [heads, seq, seq] bias.
        const json& shape = b["shape"];
        const int64_t seq = shape["seq"], heads = shape.value("heads", 1),
                      head_dim = shape.contains("dim") ? shape["dim"].get<int64_t>()
                                                       : shape["head_dim"].get<int64_t>();
        auto round64 = [](int64_t v) { return (v + 63) / 64 * 64; };
        if (label == "rope-half" && op == "apply") {
          EXPECT_EQ(p["working_set_bytes"], round64(2 * seq * heads * head_dim * 4));
        }
        if (label == "alibi" && op == "materialize_bias") {
          EXPECT_EQ(p["working_set_bytes"], round64(heads * seq * seq * 4));
        }
        EXPECT_EQ(b["probe_fixed"]["bytes"], uint64_t(1) << 20);
      }
      if (op == "table") {
        EXPECT_LE(b["max_abs_error_vs_float64"].get<double>(), 2e-6);
        EXPECT_EQ(b["closed_form"], label != "learned");
      }
      if (op == "materialize_bias") {
        EXPECT_EQ(b["max_abs_error_vs_float64_rows_0_mid_last"].get<double>(), 0.0);
      }
      if (op.rfind("attention", 0) == 0) {
        EXPECT_GT(b["gflop_per_s"].get<double>(), 0);
        EXPECT_TRUE(b.contains("scheme_share_of_attention"));
      }
      // Each attention run is compared with the first run of its implementation in the group
      // (1 thread, materialised): fused and 2 threads must give the same output.
      if (op.rfind("attention", 0) == 0 && b["threads"] == 2) {
        EXPECT_LE(b["max_rel_diff"].get<double>(), 1e-6);
      }
      if (op == "attention_fused") {
        EXPECT_LE(b["max_rel_diff"].get<double>(), 1e-6);
        EXPECT_GT(b["speedup_vs_materialized"].get<double>(), 0);
      }
      if (b["threads"] == 2) {
        EXPECT_GT(b["speedup_vs_1_thread"].get<double>(), 0);
      }
      if (b["implementation"] == "simd") {
        EXPECT_GT(b["speedup_vs_reference"].get<double>(), 0);
      }
    }
    EXPECT_EQ(seen, want);
    EXPECT_FALSE(enc["metrics"].empty());
    EXPECT_FALSE(enc["curves"].empty());
  }

  // Google Benchmark's own JSON beside the results: every benchmark, every repetition.
  const fs::path gbench = dir_ / "speed.0.gbench.json";
  ASSERT_TRUE(fs::exists(gbench));
  EXPECT_EQ(extra["google_benchmark_json"], gbench.string());
  json g;
  std::ifstream(gbench) >> g;
  ASSERT_TRUE(g.contains("context"));
  // One session per round: each benchmark once per round, named with Google Benchmark's suffix
  // for the round (/min_time:... in the first, /iterations:N after), which is cut off here.
  std::map<std::string, int> iterations;
  for (const json& b : g["benchmarks"])
    if (b["run_type"] == "iteration") {
      std::string name = b["run_name"];
      for (const char* suffix : {"/min_time:", "/iterations:", "/real_time"})
        name = name.substr(0, name.find(suffix));
      iterations[name]++;
    }
  size_t ours = extra["probes"].size() + extra["attention_baseline"].size();
  for (const json& enc : e["encoders"]) ours += enc["extra"]["benchmarks"].size();
  EXPECT_EQ(iterations.size(), ours);
  for (const auto& [name, count] : iterations) EXPECT_EQ(count, 2) << name;
}

// bfloat16 storage: table, apply and materialize_bias run for every family, with the table
// error of a bfloat16 rounding (2^-9 relative, values <= 1); attention is reported as not
// applicable with the reason rather than failing the run.
TEST_F(SpeedRun, Bfloat16StorageRunsTablesApplyAndBias) {
  const fs::path config = dir_ / "bf16.json";
  const fs::path out = dir_ / "bf16-results.json";
  std::ofstream(config) << R"({"experiments": [{"type": "speed", "dtype": "bfloat16",
      "operations": ["table", "apply", "materialize_bias", "attention"],
      "shapes": [{"seq": 37, "heads": 3, "head_dim": 10}], "threads": [1, 2],
      "min_time": 0.002, "repetitions": 2, "probe_mib": 1,
      "encoders": [{"name": "sinusoidal"}, {"name": "rope", "label": "rope-half"},
                   {"name": "rope", "label": "rope-interleaved", "params": {"layout": "interleaved"}},
                   {"name": "alibi"}]}]})";
  const Result r = run("run '" + config.string() + "' -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  json doc;
  std::ifstream(out) >> doc;
  const json& e = doc["experiments"][0];
  EXPECT_EQ(e["extra"]["dtype"], "bfloat16");
  EXPECT_TRUE(e["extra"]["attention_baseline"].empty());
  for (const json& enc : e["encoders"]) {
    const std::string label = enc["label"];
    SCOPED_TRACE(label);
    EXPECT_EQ(enc["status"], "ok") << enc["note"];
    bool attention_explained = false;
    for (const json& na : enc["extra"]["not_applicable"])
      attention_explained |= na.get<std::string>().rfind(
                                 "attention: not implemented for "
                                 "bfloat16",
                                 0) == 0;
    EXPECT_TRUE(attention_explained) << enc["extra"]["not_applicable"];
    std::set<std::string> seen;
    for (const json& b : enc["extra"]["benchmarks"]) {
      SCOPED_TRACE(b["name"].get<std::string>());
      ASSERT_FALSE(b.contains("error"));
      EXPECT_EQ(b["dtype"], "bfloat16");
      seen.insert(b["operation"]);
      if (b["operation"] == "table") {  // half a bfloat16 ulp below 1, plus the float32 error
        EXPECT_LE(b["max_abs_error_vs_float64"].get<double>(), 0x1p-9 + 2e-6);
      }
      if (b["operation"] == "materialize_bias") {
        // alibi's slopes and distances below 37 are exact in bfloat16 up to the rounding of
        // slope * distance: at most 2^-9 relative to values below 37 * 0.5.
        EXPECT_LE(b["max_abs_error_vs_float64_rows_0_mid_last"].get<double>(), 37 * 0.5 * 0x1p-9);
      }
    }
    const std::set<std::string> want = label == "alibi"
                                           ? std::set<std::string>{"materialize_bias", "apply"}
                                           : std::set<std::string>{"table", "apply"};
    EXPECT_EQ(seen, want);
  }
}

TEST_F(SpeedRun, BadShapesAndOperationsAreUserErrors) {
  const fs::path config = dir_ / "bad.json";
  std::ofstream(config) << R"({"experiments": [{"type": "speed", "operations": ["apply", "rotate"],
      "encoders": [{"name": "rope"}]},
      {"type": "speed", "shapes": [{"seq": 8, "heads": 2}], "encoders": [{"name": "rope"}]}]})";
  const Result r = run("validate '" + config.string() + "'");
  EXPECT_EQ(r.code, 2);
  // Both problems in one pass, each at its exact JSON path.
  EXPECT_NE(r.err.find("experiments[0].operations[1]: got \"rotate\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("experiments[1].shapes[0].head_dim: missing"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace posbench
