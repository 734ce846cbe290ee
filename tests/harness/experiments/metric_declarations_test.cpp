// Every built-in experiment declares its metrics (ExperimentInfo::metrics): through the registry,
// so a new experiment that declares nothing fails here (plugin experiments may declare none;
// the test binary loads no plugin). Each metric an experiment reports on small shapes, for a
// scheme of every family, must match a declaration with its unit; `posbench describe` prints
// the declarations and `describe --json` / the results JSON carry them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "harness/experiments/trained/spec.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

TEST(MetricSpec, PlaceholdersMatchOneOrMoreCharacters) {
  const MetricSpec plain{"spearman", "1", "m", ""};
  EXPECT_TRUE(plain.matches("spearman"));
  EXPECT_FALSE(plain.matches("spearman_max_head"));
  EXPECT_FALSE(plain.matches("spearma"));
  const MetricSpec bench{"<benchmark>_median_ms", "ms", "m", ""};
  EXPECT_TRUE(bench.matches("apply_simd_t2_median_ms"));
  EXPECT_TRUE(bench.matches("x_median_ms"));
  EXPECT_FALSE(bench.matches("_median_ms"));  // a placeholder takes at least one character
  EXPECT_FALSE(bench.matches("apply_simd_t2_median_ms2"));
  const MetricSpec two{"a<x>_t<n>", "1", "m", ""};
  EXPECT_TRUE(two.matches("ab_t_t3"));  // backtracks over where <x> ends
  EXPECT_FALSE(two.matches("a_t3"));
  const std::vector<MetricSpec> specs = {plain, bench};
  EXPECT_EQ(find_metric(specs, "table_reference_t1_median_ms"), &specs[1]);
  EXPECT_EQ(find_metric(specs, "nothing"), nullptr);
}

std::vector<const ExperimentInfo*> built_in_experiments() {
  std::vector<const ExperimentInfo*> out;
  for (const ExperimentInfo* e : ExperimentRegistry::instance().all())
    if (e->source.find("harness/experiments/") != std::string::npos) out.push_back(e);
  return out;
}

TEST(MetricDeclarations, EveryBuiltInExperimentDeclaresNamedUnitsAndMeanings) {
  const auto experiments = built_in_experiments();
  ASSERT_GE(experiments.size(), 10u);
  for (const ExperimentInfo* e : experiments) {
    EXPECT_FALSE(e->metrics.empty()) << e->name << " declares no metrics";
    std::set<std::string> names;
    for (const MetricSpec& m : e->metrics) {
      EXPECT_FALSE(m.name.empty()) << e->name;
      EXPECT_FALSE(m.unit.empty()) << e->name << "." << m.name;
      EXPECT_GE(m.meaning.size(), 20u) << e->name << "." << m.name << ": a one-line meaning";
      EXPECT_TRUE(names.insert(m.name).second) << e->name << " declares " << m.name << " twice";
    }
  }
}

// Small shapes for each experiment (speed is left out: it benchmarks; its declarations are
// checked above and its metric names by the patterns).
const std::vector<std::pair<std::string, json>> kSmallRuns = {
    {"offset_linearity", {{"positions", 32}, {"dim", 16}, {"offsets", {1, 4}}}},
    {"translation_invariance", {{"positions", 32}, {"samples", 2}, {"max_offset", 8}, {"dim", 16}}},
    {"monotonicity", {{"positions", 32}, {"samples", 2}, {"max_offset", 8}, {"dim", 16}}},
    {"symmetry", {{"positions", 32}, {"samples", 2}, {"dim", 16}}},
    {"long_term_decay", {{"positions", 8}, {"samples", 2}, {"distances", {0, 4, 16}}, {"dim", 16}}},
    {"length_extrapolation",
     {{"train_length", 32},
      {"eval_lengths", {32, 64}},
      {"samples", 2},
      {"dim", 16},
      {"window", 8}}},
    {"position_probe", {{"train_length", 32}, {"dim", 16}, {"samples", 2}}},
    {"resolution", {{"positions", 32}, {"dim", 16}}},
    {"precision", {{"samples", 2}, {"dim", 16}, {"max_position", 1000}}},
    {"embedding_interference",
     {{"positions", 16}, {"dim", 16}, {"samples", 8}, {"vocab", 64}, {"sentence_length", 8}}},
    {"trained_extrapolation",
     {{"train_length", 2},
      {"steps", 2},
      {"warmup_steps", 1},
      {"layers", 1},
      {"d_model", 8},
      {"heads", 2},
      {"eval_samples", 2}}},
};

// A build without libtorch lists trained_extrapolation as unavailable and refuses to run it
// (harness/experiments/trained/registration.cpp).
bool unavailable(const ExperimentInfo& info) {
  return info.name == "trained_extrapolation" && !trained::available();
}

TEST(MetricDeclarations, EveryReportedMetricIsDeclaredWithItsUnit) {
  std::set<std::string> covered;
  for (const auto& [type, params] : kSmallRuns) {
    const ExperimentInfo& info = ExperimentRegistry::instance().get(type, "experiment");
    covered.insert(type);
    if (unavailable(info)) continue;
    for (const json& spec :
         {json{{"name", "sinusoidal"}}, json{{"name", "rope"}}, json{{"name", "alibi"}},
          json{{"name", "learned"}, {"params", {{"max_len", 2048}}}}}) {
      const ExperimentResult r = run_experiment(type, params, spec);
      for (const EncoderOutcome& o : r.outcomes)
        for (const Metric& m : o.metrics) {
          const MetricSpec* d = find_metric(info.metrics, m.name);
          ASSERT_NE(d, nullptr) << type << " reports " << m.name << " (" << spec
                                << ") without declaring it";
          EXPECT_NE(d->unit.find(m.unit), std::string::npos)
              << type << "." << m.name << ": unit " << m.unit << " vs declared " << d->unit;
        }
    }
  }
  // Every built-in experiment but speed was run.
  for (const ExperimentInfo* e : built_in_experiments())
    if (e->name != "speed") {
      EXPECT_TRUE(covered.count(e->name)) << e->name << " not run here";
    }
}

class DescribeMetrics : public BinaryTest {
 protected:
  DescribeMetrics() : BinaryTest("posbench-describe-metrics-test") {}
};

TEST_F(DescribeMetrics, DescribeOfEveryExperimentListsItsMetricsWithMeanings) {
  for (const ExperimentInfo* e : built_in_experiments()) {
    const BinaryResult text = run("describe " + e->name);
    ASSERT_EQ(text.code, 0) << text.err;
    const size_t at = text.out.find("  metrics:\n");
    ASSERT_NE(at, std::string::npos) << e->name << ":\n" << text.out;
    for (const MetricSpec& m : e->metrics) {
      EXPECT_NE(text.out.find("    " + m.name + " [" + m.unit + "]", at), std::string::npos)
          << e->name << "." << m.name;
      EXPECT_NE(text.out.find(m.meaning, at), std::string::npos) << e->name << "." << m.name;
      if (!m.expected.empty()) {
        EXPECT_NE(text.out.find("expected: " + m.expected, at), std::string::npos) << m.name;
      }
    }
    const BinaryResult js = run("describe --json " + e->name);
    ASSERT_EQ(js.code, 0) << js.err;
    const json j = json::parse(js.out);
    ASSERT_EQ(j["metrics"].size(), e->metrics.size()) << e->name;
    for (size_t i = 0; i < e->metrics.size(); ++i)
      EXPECT_EQ(j["metrics"][i], e->metrics[i].to_json()) << e->name;
  }
}

TEST_F(DescribeMetrics, ResultsCarryTheDeclarationsAndTheConsoleTheDistance) {
  write("c.json", R"({"name": "t", "experiments": [{"type": "long_term_decay", "positions": 4,
      "samples": 2, "distances": [4096, 8192, 16384], "content": "ones",
      "encoders": [{"name": "rope"}, {"name": "alibi"}]}]})");
  const BinaryResult r = run("run c.json -o out.json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  // Summary headers say where the value is taken; the tables show every distance asked.
  EXPECT_NE(r.out.find("mean_abs_logit@r=16384"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bound@r=16384"), std::string::npos) << r.out;
  for (const char* col : {"r=4096", "r=8192", "r=16384"})
    EXPECT_NE(r.out.find(col), std::string::npos) << r.out;
  std::ifstream in(work() / "out.json");
  const json doc = json::parse(in);
  EXPECT_EQ(doc["schema_version"], 7);
  const json& x = doc["experiments"][0];
  std::set<std::string> declared;
  for (const json& d : x["metric_declarations"]) {
    declared.insert(d["name"].get<std::string>());
    EXPECT_FALSE(d["meaning"].get<std::string>().empty());
  }
  // Exactly the declarations of what was reported (additive's mean_abs_pe_dot was not).
  EXPECT_EQ(declared, (std::set<std::string>{"bound", "mean_abs_logit", "decay_ratio"}));
  const json& m = x["encoders"][0]["metrics"]["mean_abs_logit"];
  EXPECT_EQ(m["at"], "r=16384");
  EXPECT_EQ(m["unit"], "logit");
  EXPECT_EQ(x["encoders"][0]["extra"]["content"]["model"], "ones");
}

}  // namespace
}  // namespace posbench::test
