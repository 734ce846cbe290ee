// Running a plan (harness/run/runner.h): the memory guard refuses, before anything runs, an
// encoder whose experiment would need more than --max-memory (naming the encoder's path and the
// bytes) and accepts one exactly at the limit; the results document has the documented shape
// (schema_version, posbench_version, context, config as given, resolved config, seeds, threads,
// experiments with one entry per encoder: name, label, version, family, params, status, note,
// metrics as {value, unit}, curves); non-finite numbers are written as null.
#include "harness/run/runner.h"

#include "harness/report/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

// An experiment that needs a fixed number of bytes per encoder (its params.bytes) and records
// what run_all/run were given; its outcome carries a NaN metric and non-finite curve points.
class Fixed final : public Experiment {
 public:
  void check(const EncoderInstance&) const override {}
  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    return enc.params.value("bytes", uint64_t(0));
  }
  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    runs.push_back(enc.label);
    contexts.push_back(ctx);
    EncoderOutcome o;
    o.metrics = {{"finite", 2.5, "ns"},
                 {"nan", std::numeric_limits<double>::quiet_NaN(), "1"},
                 {"inf", std::numeric_limits<double>::infinity(), "GB/s"}};
    o.curves = {{"curve",
                 "offset",
                 "positions",
                 "logit",
                 {1, 2, 3},
                 {0.5, std::numeric_limits<double>::quiet_NaN(),
                  -std::numeric_limits<double>::infinity()}}};
    o.note = "a remark";
    o.extra = {{"k", 1}};
    return o;
  }
  mutable std::vector<std::string> runs;
  mutable std::vector<RunContext> contexts;
};

EncoderInstance fixed_encoder(const std::string& label, uint64_t bytes, const std::string& path) {
  EncoderInstance e;
  e.name = "test_scheme";
  e.label = label;
  e.path = path;
  e.version = 3;
  e.family = Family::rotary;
  e.params = {{"bytes", bytes}};
  return e;
}

// One experiment "fixed" with encoders needing `bytes` each.
Plan fixed_plan(const std::vector<uint64_t>& bytes, const Fixed** experiment = nullptr) {
  Plan plan;
  plan.name = "hand-made";
  plan.seed = 1234;
  plan.given = {{"note", "built by the test"}};
  plan.resolved = {{"note", "resolved"}};
  PlannedExperiment e;
  e.type = "fixed";
  e.path = "experiments[0]";
  e.params = {{"p", 1}};
  auto x = std::make_unique<Fixed>();
  if (experiment) *experiment = x.get();
  e.experiment = std::move(x);
  for (size_t k = 0; k < bytes.size(); ++k)
    e.encoders.push_back(fixed_encoder("enc" + std::to_string(k), bytes[k],
                                       "experiments[0].encoders[" + std::to_string(k) + "]"));
  plan.experiments.push_back(std::move(e));
  return plan;
}

TEST(CheckMemory, RefusesAboveTheLimitNamingEncoderBytesAndOption) {
  const Plan plan = fixed_plan({1000, 5000, 3000});
  try {
    check_memory(plan, 4096);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    // Only the encoder above the limit is named.
    ASSERT_EQ(e.problems().size(), 1u) << e.what();
    EXPECT_EQ(e.path(), "experiments[0].encoders[1]");
    const std::string msg = e.message();
    EXPECT_TRUE(test::has(msg, "5000 bytes")) << msg;
    EXPECT_TRUE(test::has(msg, "4.9 KiB")) << msg;  // 5000 / 1024 = 4.88
    EXPECT_TRUE(test::has(msg, "4.0 KiB")) << msg;  // the limit, 4096
    EXPECT_TRUE(test::has(msg, "--max-memory")) << msg;
  }
  // Every encoder above the limit is reported at once.
  try {
    check_memory(plan, 999);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    ASSERT_EQ(e.problems().size(), 3u) << e.what();
    for (size_t k = 0; k < 3; ++k)
      EXPECT_EQ(e.problems()[k].path, "experiments[0].encoders[" + std::to_string(k) + "]");
  }
}

TEST(CheckMemory, ACountThatOverflowedIsCalledSoNotSixteenExbibytes) {
  // Memory models return the largest uint64 for a byte count that overflows 64 bits.
  const Plan plan = fixed_plan({std::numeric_limits<uint64_t>::max()});
  try {
    check_memory(plan, uint64_t(1) << 62);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "experiments[0].encoders[0]");
    EXPECT_TRUE(test::has(e.message(), "more than 2^64 bytes")) << e.message();
    EXPECT_FALSE(test::has(e.message(), "18446744073709551615")) << e.message();
  }
}

TEST(CheckMemory, AcceptsExactlyAtTheLimit) {
  const Plan plan = fixed_plan({1000, 5000, 3000});
  EXPECT_NO_THROW(check_memory(plan, 5000));
  EXPECT_THROW(check_memory(plan, 4999), UserError);
  EXPECT_NO_THROW(check_memory(fixed_plan({0}), 0));
}

TEST(RunPlan, RefusesBeforeRunningAnything) {
  const Fixed* x = nullptr;
  const Plan plan = fixed_plan({10, 20}, &x);
  RunOptions options;
  options.threads = 1;
  options.max_memory = 15;
  EXPECT_THROW(run_plan(plan, options), UserError);
  EXPECT_TRUE(x->runs.empty());
}

TEST(RunPlan, NonFiniteNumbersAreWrittenAsNullAndTheContextIsPassedOn) {
  const Fixed* x = nullptr;
  const Plan plan = fixed_plan({10, 20}, &x);
  RunOptions options;
  options.threads = 2;
  options.max_memory = 1000;
  options.artifact_prefix = "out/results";
  const RunOutput out = run_plan(plan, options);
  EXPECT_EQ(x->runs, (std::vector<std::string>{"enc0", "enc1"}));
  ASSERT_EQ(x->contexts.size(), 2u);
  EXPECT_EQ(x->contexts[0].seed, 1234u);
  EXPECT_EQ(x->contexts[0].threads, 2);
  EXPECT_EQ(x->contexts[0].max_memory, 1000u);
  EXPECT_EQ(x->contexts[0].artifact_prefix, "out/results.0");  // "<prefix>.<experiment index>"

  const json d = results_document(out);  // the JSON reporter on the run's structs
  EXPECT_EQ(d.at("threads"), 2);
  EXPECT_EQ(d.at("max_memory_bytes"), 1000);
  EXPECT_EQ(d.at("seeds"), json({{"config", 1234}}));
  EXPECT_EQ(d.at("config"), plan.given);
  EXPECT_EQ(d.at("resolved_config"), plan.resolved);
  const json& e = d.at("experiments").at(0);
  EXPECT_EQ(e.at("type"), "fixed");
  EXPECT_EQ(e.at("path"), "experiments[0]");
  EXPECT_EQ(e.at("params"), json({{"p", 1}}));
  EXPECT_EQ(e.at("seed"), 1234);
  ASSERT_EQ(e.at("encoders").size(), 2u);
  const json& enc = e.at("encoders").at(1);
  EXPECT_EQ(enc.at("name"), "test_scheme");
  EXPECT_EQ(enc.at("label"), "enc1");  // the instance's label, whatever run() set
  EXPECT_EQ(enc.at("version"), 3);
  EXPECT_EQ(enc.at("family"), "rotary");
  EXPECT_EQ(enc.at("params"), json({{"bytes", 20}}));
  EXPECT_EQ(enc.at("status"), "ok");
  EXPECT_EQ(enc.at("note"), "a remark");
  EXPECT_EQ(enc.at("extra"), json({{"k", 1}}));
  EXPECT_EQ(enc.at("metrics"), json::parse(R"({"finite": {"value": 2.5, "unit": "ns"},
                                               "nan": {"value": null, "unit": "1"},
                                               "inf": {"value": null, "unit": "GB/s"}})"));
  EXPECT_EQ(enc.at("curves"), json::parse(R"([{"name": "curve", "x_name": "offset",
      "x_unit": "positions", "y_unit": "logit", "x": [1.0, 2.0, 3.0], "y": [0.5, null, null]}])"));
  // The document is valid JSON text (NaN would not be).
  EXPECT_EQ(json::parse(d.dump()), d);

  // One ExperimentRun per experiment, pointing at the planned one.
  ASSERT_EQ(out.experiments.size(), 1u);
  EXPECT_EQ(out.experiments[0].planned, &plan.experiments[0]);
  EXPECT_EQ(out.experiments[0].result.outcomes.size(), 2u);
}

TEST(RunPlan, NoArtifactPrefixMeansNoSideFiles) {
  const Fixed* x = nullptr;
  const Plan plan = fixed_plan({1}, &x);
  RunOptions options;
  options.threads = 1;
  options.max_memory = 1 << 20;
  run_plan(plan, options);
  ASSERT_EQ(x->contexts.size(), 1u);
  EXPECT_EQ(x->contexts[0].artifact_prefix, "");
}

// The project version as declared in CMakeLists.txt (read here, not from build_info).
std::string project_version() {
  std::ifstream in(std::string(POSBENCH_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  std::smatch m;
  const std::string text = ss.str();
  return std::regex_search(text, m, std::regex(R"(project\(posbench VERSION ([0-9.]+))"))
             ? m[1].str()
             : "<not found>";
}

TEST(RunPlan, DocumentOfARealPlan) {
  const json config = json::parse(R"({
    "name": "runner-test", "seed": 7,
    "experiments": [{
      "type": "offset_linearity", "dim": 8, "heads": 2, "positions": 16, "offsets": [1, 3],
      "encoders": [{"name": "sinusoidal", "label": "sin-100", "params": {"base": 100}},
                   {"name": "alibi"}]
    }]})");
  Diagnostics diag;
  const Plan plan = build_plan(config, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  RunOptions options;
  options.threads = 1;
  options.max_memory = uint64_t(1) << 30;
  const RunOutput out = run_plan(plan, options);
  const json d = results_document(out);  // the JSON reporter on the run's structs

  for (const char* key :
       {"schema_version", "posbench_version", "context", "config", "resolved_config", "seeds",
        "threads", "max_memory_bytes", "experiments", "snapshots", "total_wall_seconds"})
    EXPECT_TRUE(d.contains(key)) << key;
  EXPECT_EQ(d.at("schema_version"), 7);
  EXPECT_EQ(d.at("posbench_version"), project_version());
  EXPECT_EQ(d.at("config"), config);  // exactly as given, no defaults
  EXPECT_FALSE(d.at("config").at("experiments").at(0).contains("samples"));
  EXPECT_EQ(d.at("seeds"), json({{"config", 7}}));
  EXPECT_EQ(d.at("threads"), 1);
  EXPECT_TRUE(d.at("context").contains("utc_time"));
  EXPECT_GE(d.at("total_wall_seconds").get<double>(), 0.0);

  // The resolved config has every default: the experiment's and each encoder's.
  const json& rx = d.at("resolved_config").at("experiments").at(0);
  EXPECT_EQ(rx.at("type"), "offset_linearity");
  EXPECT_EQ(rx.at("dim"), 8);
  EXPECT_EQ(rx.at("offsets"), json({1, 3}));
  EXPECT_EQ(rx.at("encoders").at(0).at("params").at("layout"), "interleaved");
  EXPECT_EQ(rx.at("encoders").at(1).at("label"), "alibi");  // label defaults to the name

  ASSERT_EQ(d.at("experiments").size(), 1u);
  const json& e = d.at("experiments").at(0);
  EXPECT_EQ(e.at("type"), "offset_linearity");
  EXPECT_EQ(e.at("path"), "experiments[0]");
  EXPECT_EQ(e.at("seed"), 7);
  EXPECT_GE(e.at("wall_seconds").get<double>(), 0.0);
  ASSERT_EQ(e.at("encoders").size(), 2u);

  const json& sin = e.at("encoders").at(0);
  EXPECT_EQ(sin.at("name"), "sinusoidal");
  EXPECT_EQ(sin.at("label"), "sin-100");
  EXPECT_EQ(sin.at("version"), 1);
  EXPECT_EQ(sin.at("family"), "additive");
  EXPECT_EQ(sin.at("params"), json({{"base", 100.0}, {"layout", "interleaved"}}));
  EXPECT_EQ(sin.at("status"), "ok");
  const json& alibi = e.at("encoders").at(1);
  EXPECT_EQ(alibi.at("name"), "alibi");
  EXPECT_EQ(alibi.at("label"), "alibi");
  EXPECT_EQ(alibi.at("family"), "bias");
  EXPECT_EQ(alibi.at("status"), "ok");

  for (const json* enc : {&sin, &alibi}) {
    ASSERT_TRUE(enc->at("metrics").is_object());
    EXPECT_FALSE(enc->at("metrics").empty());
    for (const auto& [name, m] : enc->at("metrics").items()) {
      EXPECT_EQ(m.size(), 2u) << name;
      EXPECT_TRUE(m.at("value").is_number() || m.at("value").is_null()) << name;
      EXPECT_TRUE(m.at("unit").is_string()) << name;
    }
    ASSERT_TRUE(enc->at("curves").is_array());
    EXPECT_FALSE(enc->at("curves").empty());
    for (const json& c : enc->at("curves")) {
      for (const char* key : {"name", "x_name", "x_unit", "y_unit", "x", "y"})
        EXPECT_TRUE(c.contains(key)) << key;
      EXPECT_EQ(c.at("x").size(), c.at("y").size());
    }
  }
  // Sinusoidal: PE(p + k) is an exact rotation of PE(p) (Vaswani et al. 2017), so the fitted
  // residual is at rounding level; one point per offset.
  const json& res = sin.at("curves").at(0);
  EXPECT_EQ(res.at("x"), json({1.0, 3.0}));
  EXPECT_LT(sin.at("metrics").at("max_relative_residual").at("value").get<double>(), 1e-9);
  // ALiBi: b_h(i, i + k) = -m_h k exactly, m_0 = 2^-4 for two heads (Press et al. 2022).
  EXPECT_NEAR(alibi.at("metrics").at("slope_head0").at("value").get<double>(), -0.0625, 1e-12);
  EXPECT_NEAR(alibi.at("metrics").at("min_r_squared").at("value").get<double>(), 1.0, 1e-12);
}

TEST(DefaultMemoryLimit, IsPositive) { EXPECT_GT(default_memory_limit(), 0u); }

}  // namespace
}  // namespace posbench
