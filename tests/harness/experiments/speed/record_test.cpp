// The speed results' reliability marks (record.h assess_reliability and assemble) on benchmarks
// with made-up repetitions and a quiet made-up machine: a noisy figure is marked, a ratio derived
// from it carries the mark too, an implausible share is marked, and the console's warning and the
// counts say so. Every expected ratio is worked out by hand from the made-up times.
#include "harness/experiments/speed/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench::speed {
namespace {

using nlohmann::json;

Bench bench(const std::string& name, int encoder, Op op, int threads, int group,
            std::vector<double> seconds) {
  Bench b;
  b.name = name;
  b.encoder = encoder;
  b.op = op;
  b.shape = 0;
  b.threads = threads;
  b.impl = kernels::Impl::simd;
  b.group = group;
  b.bytes = 1000;
  b.elements = 100;
  b.reps.seconds = std::move(seconds);
  b.reps.iterations.assign(b.reps.seconds.size(), 1);
  return b;
}

LoadSample quiet_at(double wall) {
  LoadSample s;
  s.wall_s = wall;
  s.busy_cpu_s = wall;  // all of it ours
  s.own_cpu_s = wall;
  s.loadavg_1min = 0.1;
  return s;
}

struct Fixture {
  Config config;
  std::vector<EncoderInstance> encoders;
  std::vector<Bench> benches;
  RunFacts facts;

  Fixture() {
    config.operations = {"apply", "attention"};
    config.shapes = {Shape{40, 2, 12, false}};
    config.threads = {1, 2};
    config.impls = {kernels::Impl::simd};
    EncoderInstance rope;
    rope.name = rope.label = "rope";
    rope.family = Family::rotary;
    rope.encoder = test::make_scheme("rope", json::object());
    encoders = {rope};
    // apply at 1 thread: 1, 2, 3 s (mean 2, stddev 1: cv 0.5 > 0.25); at 2 threads 1 s each,
    // so speedup_vs_1_thread = 2 / 1 = 2 (plausible: at most 1.5 * 2 = 3) but computed from a
    // noisy figure. Attention 2 s, attention without the scheme 2.42 s: share 1 - 2.42 / 2 =
    // -0.21, the impossible share.
    benches = {bench("rope/apply/t1", 0, Op::apply, 1, 0, {1, 2, 3}),
               bench("rope/apply/t2", 0, Op::apply, 2, 0, {1, 1, 1}),
               bench("rope/attention/t1", 0, Op::attention, 1, 1, {2, 2, 2}),
               bench("none/attention/t1", -1, Op::attention_none, 1, 2, {2.42, 2.42, 2.42})};
    MachineLoad& load = facts.session.load;
    load.cores = 2;
    load.before_start = quiet_at(0);
    load.before_end = quiet_at(0.5);
    load.groups = {
        {quiet_at(0.5), quiet_at(2)}, {quiet_at(2), quiet_at(4)}, {quiet_at(4), quiet_at(6)}};
    facts.isa = "test";
    assess_reliability(benches, load, config, facts.thresholds);
  }
};

const json& record_named(const json& list, const std::string& name) {
  for (const json& r : list)
    if (r["name"] == name) return r;
  throw std::runtime_error("no record " + name);
}

TEST(SpeedRecord, OwnReasonsComeFromTheRepetitionsOnAQuietMachine) {
  const Fixture f;
  ASSERT_EQ(f.benches[0].unreliable.size(), 1u);
  EXPECT_EQ(f.benches[0].unreliable[0].check, "repetition_cv");
  for (size_t k = 1; k < f.benches.size(); ++k) EXPECT_TRUE(f.benches[k].unreliable.empty()) << k;
}

TEST(SpeedRecord, ARatioFromAnUnreliableFigureCarriesTheMark) {
  const Fixture f;
  const ExperimentResult r = assemble(f.config, f.encoders, f.benches, f.facts);
  const json& records = r.outcomes.at(0).extra["benchmarks"];
  const json& t1 = record_named(records, "rope/apply/t1");
  ASSERT_TRUE(t1.contains("unreliable"));
  EXPECT_EQ(t1["unreliable"]["reasons"][0]["check"], "repetition_cv");

  const json& t2 = record_named(records, "rope/apply/t2");
  EXPECT_DOUBLE_EQ(t2["speedup_vs_1_thread"].get<double>(), 2.0);
  ASSERT_TRUE(t2.contains("unreliable")) << t2.dump();
  const json& why = t2["unreliable"]["reasons"];
  ASSERT_EQ(why.size(), 1u) << why.dump();
  EXPECT_EQ(why[0]["check"], "derived_from_unreliable");
  EXPECT_EQ(why[0]["figure"], "speedup_vs_1_thread");
  EXPECT_NE(why[0]["detail"].get<std::string>().find("rope/apply/t1"), std::string::npos);
}

TEST(SpeedRecord, AnImpossibleShareIsMarkedAndTheBaselineIsNot) {
  const Fixture f;
  const ExperimentResult r = assemble(f.config, f.encoders, f.benches, f.facts);
  const json& att = record_named(r.outcomes.at(0).extra["benchmarks"], "rope/attention/t1");
  EXPECT_NEAR(att["scheme_share_of_attention"].get<double>(), -0.21, 1e-12);
  ASSERT_TRUE(att.contains("unreliable"));
  EXPECT_EQ(att["unreliable"]["reasons"][0]["check"], "implausible_ratio");
  EXPECT_EQ(att["unreliable"]["reasons"][0]["figure"], "scheme_share_of_attention");
  EXPECT_FALSE(r.extra["attention_baseline"][0].contains("unreliable"));
}

TEST(SpeedRecord, MetricsConsoleAndCountsSayWhatIsMarked) {
  const Fixture f;
  const ExperimentResult r = assemble(f.config, f.encoders, f.benches, f.facts);
  const json& metrics = r.outcomes.at(0).extra["unreliable_metrics"];
  EXPECT_EQ(metrics["apply_simd_t1_median_ms"], json({"repetition_cv"}));
  EXPECT_EQ(metrics["apply_simd_t2_median_ms"], json({"derived_from_unreliable"}));
  EXPECT_EQ(metrics["attention_simd_t1_median_ms"], json({"implausible_ratio"}));
  // 3 of the 4 records (3 of the scheme, 1 baseline) are marked.
  EXPECT_EQ(r.extra["reliability"]["unreliable_records"], 3);
  EXPECT_EQ(r.extra["reliability"]["records"], 4);
  EXPECT_EQ(r.extra["reliability"]["records_per_check"]["repetition_cv"], 1);
  EXPECT_NE(r.summary_title.find("WARNING: 3 of 4 speed records are marked unreliable"),
            std::string::npos)
      << r.summary_title;
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].rows, std::vector<std::string>({"rope", "(attention without scheme)"}));
  EXPECT_EQ(r.tables[0].cells[0][0], 3);  // marked
  EXPECT_EQ(r.tables[0].cells[0][1], 3);  // of
}

TEST(SpeedRecord, NothingIsMarkedWhenEverythingIsPlausible) {
  Fixture f;
  f.benches[0].reps.seconds = {2, 2, 2};
  f.benches[3].reps.seconds = {1.5, 1.5, 1.5};  // share 1 - 1.5 / 2 = 0.25
  assess_reliability(f.benches, f.facts.session.load, f.config, f.facts.thresholds);
  const ExperimentResult r = assemble(f.config, f.encoders, f.benches, f.facts);
  for (const json& rec : r.outcomes.at(0).extra["benchmarks"])
    EXPECT_FALSE(rec.contains("unreliable")) << rec.dump();
  EXPECT_FALSE(r.outcomes.at(0).extra.contains("unreliable_metrics"));
  EXPECT_TRUE(r.summary_title.empty());
  EXPECT_TRUE(r.tables.empty());
  EXPECT_EQ(r.extra["reliability"]["unreliable_records"], 0);
}

}  // namespace
}  // namespace posbench::speed
