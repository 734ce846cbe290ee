// compare_results, exact_differences and by_label_tables on crafted results documents: the
// alignment, every number against arithmetic done here, and the U test's verdicts against
// its closed form.
#include "harness/report/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "encoders/error.h"

namespace posbench {
namespace {

using nlohmann::json;

json metric_json(double v, const std::string& unit = "1") { return {{"value", v}, {"unit", unit}}; }

json encoder(const std::string& name, const std::string& label, json params, json metrics) {
  return {
      {"name", name}, {"label", label},     {"params", params},        {"status", "ok"},
      {"note", ""},   {"metrics", metrics}, {"curves", json::array()}, {"extra", json::object()}};
}

json document(std::vector<json> experiments) {
  return {{"schema_version", 5},
          {"posbench_version", "0.1.0"},
          {"context", {{"utc_time", "2026-12-04T00:00:00Z"}, {"host", "h"}, {"git_describe", "g"}}},
          {"threads", 2},
          {"experiments", json(experiments)},
          {"total_wall_seconds", 1.5}};
}

json properties_experiment(double rope_residual, double alibi_residual) {
  return {{"type", "offset_linearity"},
          {"path", "experiments[0]"},
          {"params", {{"dim", 64}}},
          {"wall_seconds", 0.25},
          {"encoders",
           {encoder("rope", "rope", {{"base", 10000}},
                    {{"max_relative_residual", metric_json(rope_residual)}}),
            encoder("alibi", "alibi", json::object(),
                    {{"max_relative_residual", metric_json(alibi_residual)}})}}};
}

// A speed record of `impl` with the given seconds per repetition.
json bench(const std::string& impl, std::vector<double> seconds, const std::string& op = "apply") {
  return {{"name", "rope/" + op + "/" + impl},
          {"operation", op},
          {"implementation", impl},
          {"threads", 1},
          {"dtype", "float32"},
          {"shape", {{"seq", 64}, {"dim", 32}}},
          {"repetitions", seconds.size()},
          {"time_s", {{"median", nullptr}, {"all", seconds}}}};
}

json speed_experiment(std::vector<json> benchmarks) {
  json rope = encoder("rope", "rope", {{"base", 10000}},
                      {{"apply_simd_t1_median_ms", metric_json(1.0, "ms")},
                       {"apply_simd_t1_max_abs_error", metric_json(1e-7)}});
  rope["extra"] = {{"benchmarks", json(benchmarks)}};
  return {{"type", "speed"},
          {"path", "experiments[1]"},
          {"params", {{"repetitions", 9}}},
          {"encoders", json::array({rope})},
          {"extra", {{"probes", json::array()}}}};
}

std::vector<double> micro(std::initializer_list<double> v) {
  std::vector<double> out;
  for (double x : v) out.push_back(x * 1e-6);
  return out;
}

TEST(Compare, AlignsExperimentsAndEncodersAndFlagsMetricsBeyondTolerance) {
  // B lists the experiments and the encoders in another order.
  json a = document({properties_experiment(1e-14, 0.5)});
  json eb = properties_experiment(1e-14 + 1e-27, 0.5 * (1 + 1e-3));
  std::swap(eb["encoders"][0], eb["encoders"][1]);
  json b = document({json{{"type", "symmetry"}, {"encoders", json::array()}}, eb});
  CompareOptions o;  // rtol 1e-6, atol 1e-12
  const json c = compare_results({"A", a}, {"B", b}, o);
  ASSERT_EQ(c["experiments"].size(), 1u);
  const json& e = c["experiments"][0];
  EXPECT_EQ(e["path_a"], "experiments[0]");
  EXPECT_EQ(e["path_b"], "experiments[1]");
  EXPECT_EQ(c["experiments_only_in_b"], json({"experiments[0] symmetry"}));
  ASSERT_EQ(e["encoders"].size(), 2u);
  const json& rope = e["encoders"][0]["metrics"][0];
  EXPECT_EQ(e["encoders"][0]["label"], "rope");
  EXPECT_FALSE(rope["differs"].get<bool>());  // 1e-27 is far below atol
  const json& alibi = e["encoders"][1]["metrics"][0];
  EXPECT_EQ(e["encoders"][1]["label"], "alibi");
  EXPECT_TRUE(alibi["differs"].get<bool>());  // 5e-4 > 1e-12 + 1e-6 * 0.5
  EXPECT_NEAR(alibi["change"].get<double>(), 5e-4, 1e-15);
  EXPECT_NEAR(alibi["relative_change"].get<double>(), 1e-3, 1e-12);
  EXPECT_EQ(c["summary"]["metrics_compared"], 2);
  EXPECT_EQ(c["summary"]["metrics_differing"], 1);
  // A looser rtol accepts the change.
  o.rtol = 2e-3;
  EXPECT_EQ(compare_results({"A", a}, {"B", b}, o)["summary"]["metrics_differing"], 0);
}

TEST(Compare, MatchesRelabelledEncodersByNameAndParamsAndReportsParamChanges) {
  json a = document({properties_experiment(1, 2)});
  json b = a;
  b["experiments"][0]["encoders"][0]["label"] = "rope-renamed";
  b["experiments"][0]["encoders"][1]["params"] = {{"slopes", "geometric"}};
  b["experiments"][0]["params"]["dim"] = 32;
  const json c = compare_results({"A", a}, {"B", b}, {});
  const json& e = c["experiments"][0];
  EXPECT_EQ(e["params_differ"], json::parse(R"([{"param": "dim", "a": 64, "b": 32}])"));
  EXPECT_EQ(e["encoders"][0]["label_b"], "rope-renamed");
  // alibi keeps its label, so it is matched by it, and its params change is reported.
  EXPECT_EQ(e["encoders"][1]["params_differ"],
            json::parse(R"([{"param": "slopes", "a": null, "b": "geometric"}])"));
  EXPECT_TRUE(e["encoders_only_in_a"].empty());
  EXPECT_TRUE(e["encoders_only_in_b"].empty());
}

TEST(Compare, SpeedUsesEveryRepetitionInAUTest) {
  // B's 9 repetitions are all slower than A's: U_B = 81 of 81; no ties and 9 > 8 values per
  // side, so the normal approximation: z = (81 - 40.5 - 0.5) / sqrt(9 * 9 * 19 / 12).
  const std::vector<double> ta = micro({10, 11, 12, 13, 14, 15, 16, 17, 18}),
                            tb = micro({20, 21, 22, 23, 24, 25, 26, 27, 28});
  json a = document({speed_experiment({bench("simd", ta)})});
  json b = document({speed_experiment({bench("simd", tb)})});
  CompareOptions o;
  o.fail_on_regression_pct = 50;
  const json c = compare_results({"A", a}, {"B", b}, o);
  const json& rows = c["experiments"][0]["benchmarks"]["rows"];
  ASSERT_EQ(rows.size(), 1u);
  const json& r = rows[0];
  EXPECT_EQ(r["u_test"]["u_b"], 81);
  EXPECT_FALSE(r["u_test"]["exact"].get<bool>());
  const double z = 40 / std::sqrt(81 * 19 / 12.0);
  EXPECT_NEAR(r["u_test"]["p"].get<double>(), std::erfc(z / std::sqrt(2.0)), 1e-15);
  EXPECT_NEAR(r["change_pct"].get<double>(), (24.0 - 14.0) / 14.0 * 100, 1e-9);  // medians
  EXPECT_EQ(r["verdict"], "slower");
  EXPECT_TRUE(r["regression"].get<bool>());  // +71% > 50%
  EXPECT_TRUE(c["fail"].get<bool>());
  EXPECT_EQ(c["summary"]["regressions"].size(), 1u);
  // The timing metrics are left to the U test; the tables' error is compared as a value.
  const json& metrics = c["experiments"][0]["encoders"][0]["metrics"];
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_EQ(metrics[0]["name"], "apply_simd_t1_max_abs_error");
  // Above the threshold: significant, but no regression.
  o.fail_on_regression_pct = 80;
  EXPECT_FALSE(compare_results({"A", a}, {"B", b}, o)["fail"].get<bool>());
  // B faster (24 -> 14: -41.7%, beyond a floor of 20%): significant, a speed-up, never a
  // regression.
  o.noise_pct = 20;
  const json f = compare_results({"A", b}, {"B", a}, o);
  EXPECT_EQ(f["experiments"][0]["benchmarks"]["rows"][0]["verdict"], "faster");
  EXPECT_FALSE(f["fail"].get<bool>());
}

TEST(Compare, OverlappingRepetitionsAreNoSignificantChange) {
  // Interleaved samples: pairs with B slower: 11 > 10; 13 > 10, 12; 15 > three; 17 > four;
  // 9 > none: U_B = 10 of 25. Exact (5 vs 5, no ties): of the C(10, 5) = 252 arrangements, 87
  // have U <= 10 (the coefficients of the Gaussian binomial [10 choose 5]_q, 1 1 2 3 5 7 9 11 14
  // 16 18, summed), so p = 2 * 87 / 252.
  const std::vector<double> ta = micro({10, 12, 14, 16, 18}), tb = micro({11, 13, 15, 17, 9});
  const json c = compare_results({"A", document({speed_experiment({bench("simd", ta)})})},
                                 {"B", document({speed_experiment({bench("simd", tb)})})}, {});
  const json& r = c["experiments"][0]["benchmarks"]["rows"][0];
  EXPECT_EQ(r["u_test"]["u_b"], 10);
  EXPECT_TRUE(r["u_test"]["exact"].get<bool>());
  EXPECT_NEAR(r["u_test"]["p"].get<double>(), 2 * 87 / 252.0, 1e-15);
  EXPECT_EQ(r["verdict"], "no significant change");
  EXPECT_NEAR(r["change_pct"].get<double>(), (13.0 - 14.0) / 14.0 * 100, 1e-9);
  EXPECT_TRUE(r["few_repetitions"].get<bool>());
}

TEST(Compare, SignificantNeedsBothTheUTestAndAChangeBeyondTheNoiseFloor) {
  // 5 vs 5, no ties: the exact distribution of U over the C(10, 5) = 252 arrangements, whose
  // counts for U = 0, 1, 2, ... are 1 1 2 3 5 7 9 11 14 16 18 ... ([10 choose 5]_q).
  const std::vector<double> ta = micro({100, 101, 102, 103, 104});
  const auto row = [&](const std::vector<double>& tb, const CompareOptions& o) {
    const json c = compare_results({"A", document({speed_experiment({bench("simd", ta)})})},
                                   {"B", document({speed_experiment({bench("simd", tb)})})}, o);
    return std::pair<json, json>{c["experiments"][0]["benchmarks"]["rows"][0], c};
  };
  // B about 10% slower, every repetition: U_B = 25 of 25, p = 2 / 252 < 0.05, but the medians
  // (102 -> 112: +9.80%) are within the default floor of 50%: no significant change.
  CompareOptions o;
  o.fail_on_regression_pct = 5;
  const std::vector<double> ten = micro({110, 111, 112, 113, 114});
  auto [r, c] = row(ten, o);
  EXPECT_EQ(r["u_test"]["u_b"], 25);
  EXPECT_NEAR(r["u_test"]["p"].get<double>(), 2.0 / 252, 1e-15);
  EXPECT_NEAR(r["change_pct"].get<double>(), 10.0 / 102 * 100, 1e-9);
  EXPECT_TRUE(r["p_below_alpha"].get<bool>());
  EXPECT_FALSE(r["beyond_noise"].get<bool>());
  EXPECT_FALSE(r["significant"].get<bool>());
  EXPECT_EQ(r["verdict"], "no significant change");
  EXPECT_FALSE(r["regression"].get<bool>());  // 9.8% > 5%, but not significant
  EXPECT_FALSE(c["fail"].get<bool>());
  EXPECT_EQ(c["options"]["noise_pct"], kDefaultNoisePct);
  EXPECT_NE(render_comparison(c).find("(within noise)"), std::string::npos);
  // With a floor of 5% the same samples are a significant regression.
  o.noise_pct = 5;
  std::tie(r, c) = row(ten, o);
  EXPECT_TRUE(r["significant"].get<bool>());
  EXPECT_EQ(r["verdict"], "slower");
  EXPECT_TRUE(r["regression"].get<bool>());
  EXPECT_TRUE(c["fail"].get<bool>());
  // The floor is exclusive: a change of exactly 10/102 * 100 % with the floor at that value is
  // within it.
  o.noise_pct = 10.0 / 102 * 100;
  EXPECT_FALSE(row(ten, o).first["beyond_noise"].get<bool>());
  // About 70% slower (102 -> 172: +68.6%): beyond the default floor, and p = 2 / 252.
  o = CompareOptions{};
  o.fail_on_regression_pct = 10;
  std::tie(r, c) = row(micro({170, 171, 172, 173, 174}), o);
  EXPECT_NEAR(r["change_pct"].get<double>(), 70.0 / 102 * 100, 1e-9);
  EXPECT_TRUE(r["significant"].get<bool>());
  EXPECT_TRUE(r["regression"].get<bool>());
  // A large change the U test does not support: B = {13, 38, 39, 42, 43} against A = {10, 11,
  // 12, 40, 41}: pairs with B slower 3 + 3 + 3 + 5 + 5 = 19, p = 2 P(U <= 25 - 19 = 6) =
  // 2 (1+1+2+3+5+7+9) / 252 = 56 / 252, not below 0.05; the medians 12 -> 39 (+225%).
  const json big = compare_results(
      {"A", document({speed_experiment({bench("simd", micro({10, 11, 12, 40, 41}))})})},
      {"B", document({speed_experiment({bench("simd", micro({13, 38, 39, 42, 43}))})})}, o);
  const json& b = big["experiments"][0]["benchmarks"]["rows"][0];
  EXPECT_EQ(b["u_test"]["u_b"], 19);
  EXPECT_NEAR(b["u_test"]["p"].get<double>(), 56.0 / 252, 1e-15);
  EXPECT_NEAR(b["change_pct"].get<double>(), 27.0 / 12 * 100, 1e-9);
  EXPECT_TRUE(b["beyond_noise"].get<bool>());
  EXPECT_FALSE(b["significant"].get<bool>());
  EXPECT_FALSE(big["fail"].get<bool>());
}

TEST(Compare, OneThreadBenchmarksAreComparedOnCpuTimeWhenBothFilesHaveIt) {
  // Wall times 3x apart (the run waited for a core), CPU times equal but for noise: the 1-thread
  // benchmark is no change on CPU time; at 2 threads, or with --time wall, the wall times count.
  const auto with_cpu = [](json b, std::vector<double> cpu) {
    b["cpu_time_s"] = {{"median", nullptr}, {"all", cpu}};
    return b;
  };
  const std::vector<double> wall_a = micro({10, 11, 12, 13, 14, 15, 16, 17, 18}),
                            wall_b = micro({30, 31, 32, 33, 34, 35, 36, 37, 38}),
                            cpu_a = micro({9, 9.1, 9.2, 9.3, 9.4, 9.5, 9.6, 9.7, 9.8}),
                            cpu_b = micro({9.05, 9.15, 9.25, 9.35, 9.45, 9.55, 9.65, 9.75, 9.85});
  json ba = with_cpu(bench("simd", wall_a), cpu_a), bb = with_cpu(bench("simd", wall_b), cpu_b);
  const auto compare = [&](const json& x, const json& y, const CompareOptions& o) {
    return compare_results({"A", document({speed_experiment({x})})},
                           {"B", document({speed_experiment({y})})},
                           o)["experiments"][0]["benchmarks"]["rows"][0];
  };
  json r = compare(ba, bb, {});
  EXPECT_EQ(r["time"], "cpu");
  EXPECT_NEAR(r["median_s"][0].get<double>(), 9.4e-6, 1e-18);
  EXPECT_NEAR(r["median_s"][1].get<double>(), 9.45e-6, 1e-18);
  // U of B: each B value is above the A values up to its own, 1 + 2 + ... + 9 = 45 of 81.
  EXPECT_EQ(r["u_test"]["u_b"], 45);
  EXPECT_EQ(r["verdict"], "no significant change");
  CompareOptions wall;
  wall.time = TimeBasis::wall;
  r = compare(ba, bb, wall);
  EXPECT_EQ(r["time"], "wall");
  EXPECT_EQ(r["u_test"]["u_b"], 81);
  EXPECT_NEAR(r["change_pct"].get<double>(), (34.0 - 14.0) / 14 * 100, 1e-9);
  EXPECT_EQ(r["verdict"], "slower");
  // Two threads: the timing thread's CPU time leaves out the other's work, so wall time.
  ba["threads"] = bb["threads"] = 2;
  EXPECT_EQ(compare(ba, bb, {})["time"], "wall");
  // A file without CPU times (schema 6): wall time, unless --time cpu asks for it.
  ba["threads"] = bb["threads"] = 1;
  const json old = bench("simd", wall_a);
  EXPECT_EQ(compare(old, bb, {})["time"], "wall");
  CompareOptions cpu;
  cpu.time = TimeBasis::cpu;
  try {
    compare(old, bb, cpu);
    ADD_FAILURE() << "--time cpu on a record without cpu_time_s was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("A: experiments[0].encoders[0].extra.benchmarks[0]."
                                         "cpu_time_s.all"),
              std::string::npos)
        << e.what();
  }
}

TEST(Compare, CarriesEachSidesUnreliableMarksAndRendersThem) {
  // Two checks on each side: [[a, b], [a, b]] must stay a list of two lists (a brace list of
  // two [string, x] pairs would silently become a JSON object).
  json marked = bench("simd", micro({1, 2, 3, 4, 5, 6, 7, 8, 9}));
  marked["unreliable"] = {{"reasons",
                           {{{"check", "other_cpu"}, {"detail", "x"}},
                            {{"check", "repetition_cv"}, {"detail", "y"}},
                            {{"check", "other_cpu"}, {"detail", "z"}}}}};
  const json doc = document({speed_experiment({marked})});
  CompareOptions o;
  o.fail_on_regression_pct = 0;
  const json c = compare_results({"A", doc}, {"B", doc}, o);
  const json& r = c["experiments"][0]["benchmarks"]["rows"][0];
  EXPECT_EQ(r["unreliable"], json::parse(R"([["other_cpu", "repetition_cv"],
                                               ["other_cpu", "repetition_cv"]])"));
  EXPECT_EQ(r["u_test"]["p"], 1);  // a file against itself: U = n1 n2 / 2 with every value tied
  EXPECT_FALSE(c["fail"].get<bool>());
  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("[unreliable]"), std::string::npos) << text;
  EXPECT_NE(text.find("--fail-on-regression 0: no benchmark significantly slower"),
            std::string::npos)
      << text;
}

TEST(Compare, ABandwidthProbeSignificantlySlowerIsSlowerButNeverARegression) {
  // A probe measures the machine, not the code: twice as slow in B (U_B = 81 of 81, +100%) it
  // is "slower", but --fail-on-regression counts only the scheme's benchmarks (and the
  // attention baseline); the scheme's benchmark, as slow again, is one.
  const std::vector<double> fast = micro({10, 11, 12, 13, 14, 15, 16, 17, 18}),
                            slow = micro({20, 22, 24, 26, 28, 30, 32, 34, 36});
  const auto doc = [](const std::vector<double>& scheme, const std::vector<double>& probe) {
    json e = speed_experiment({bench("simd", scheme)});
    e["extra"]["probes"] = json::array({{{"name", "probe/fill/1048576B/threads:1"},
                                         {"threads", 1},
                                         {"working_set_bytes", 1048576},
                                         {"repetitions", probe.size()},
                                         {"time_s", {{"median", nullptr}, {"all", probe}}}}});
    return document({e});
  };
  CompareOptions o;
  o.fail_on_regression_pct = 10;
  const json c = compare_results({"A", doc(fast, fast)}, {"B", doc(fast, slow)}, o);
  const json& rows = c["experiments"][0]["benchmarks"]["rows"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["group"], "scheme");
  EXPECT_EQ(rows[0]["verdict"], "no significant change");
  const json& probe = rows[1];
  EXPECT_EQ(probe["group"], "probe");
  EXPECT_EQ(probe["u_test"]["u_b"], 81);
  EXPECT_NEAR(probe["change_pct"].get<double>(), 100, 1e-9);  // medians 14 -> 28
  EXPECT_TRUE(probe["significant"].get<bool>());
  EXPECT_EQ(probe["verdict"], "slower");
  EXPECT_FALSE(probe["regression"].get<bool>());
  EXPECT_EQ(c["summary"]["benchmarks_slower"], 1);
  EXPECT_TRUE(c["summary"]["regressions"].empty());
  EXPECT_FALSE(c["fail"].get<bool>());
  const json s = compare_results({"A", doc(fast, fast)}, {"B", doc(slow, slow)}, o);
  EXPECT_TRUE(s["experiments"][0]["benchmarks"]["rows"][0]["regression"].get<bool>());
  EXPECT_FALSE(s["experiments"][0]["benchmarks"]["rows"][1]["regression"].get<bool>());
  EXPECT_EQ(s["summary"]["benchmarks_slower"], 2);
  EXPECT_EQ(s["summary"]["regressions"].size(), 1u);
  EXPECT_TRUE(s["fail"].get<bool>());
}

TEST(Compare, MapComparesOneImplementationOfAWithAnotherOfB) {
  const std::vector<double> fast = micro({1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8}),
                            slow = micro({5, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8});
  json a = document({speed_experiment({bench("simd", fast)})});
  json b = document({speed_experiment({bench("reference", slow), bench("simd", fast)})});
  // Without a map, simd meets simd (no change) and B's reference is unmatched.
  const json plain = compare_results({"A", a}, {"B", b}, {});
  const json& p = plain["experiments"][0]["benchmarks"];
  ASSERT_EQ(p["rows"].size(), 1u);
  EXPECT_EQ(p["rows"][0]["implementation_b"], "simd");
  EXPECT_EQ(p["rows"][0]["verdict"], "no significant change");
  EXPECT_EQ(p["only_in_b"], json({"rope/apply/reference"}));
  // simd=reference: A's simd against B's reference, B's simd left out.
  CompareOptions o;
  o.implementation_map = {{"simd", "reference"}};
  o.fail_on_regression_pct = 100;
  const json m = compare_results({"A", a}, {"B", b}, o);
  const json& r = m["experiments"][0]["benchmarks"]["rows"][0];
  EXPECT_EQ(r["implementation_a"], "simd");
  EXPECT_EQ(r["implementation_b"], "reference");
  EXPECT_EQ(r["verdict"], "slower");
  EXPECT_NEAR(r["change_pct"].get<double>(), (5.4 - 1.4) / 1.4 * 100, 1e-9);
  EXPECT_TRUE(m["fail"].get<bool>());
  // The tables' error of A's simd meets B's reference one (named after it), not "only in".
  b["experiments"][0]["encoders"][0]["metrics"] = {
      {"apply_reference_t1_max_abs_error", metric_json(3e-8)}};
  const json mm = compare_results({"A", a}, {"B", b}, o)["experiments"][0]["encoders"][0];
  ASSERT_EQ(mm["metrics"].size(), 1u);
  EXPECT_EQ(mm["metrics"][0]["name"], "apply_simd_t1_max_abs_error");
  EXPECT_EQ(mm["metrics"][0]["name_b"], "apply_reference_t1_max_abs_error");
  EXPECT_NEAR(mm["metrics"][0]["change"].get<double>(), 3e-8 - 1e-7, 1e-22);
  EXPECT_TRUE(mm["metrics_only_in_b"].empty());
}

TEST(Compare, ExactIgnoresTimingsAndProvenanceOnly) {
  const json base = document(
      {properties_experiment(1e-14, 0.5), speed_experiment({bench("simd", micro({1, 2, 3}))})});
  json b = base;
  b["context"]["host"] = "another";
  b["total_wall_seconds"] = 99;
  b["threads"] = 1;
  b["experiments"][0]["wall_seconds"] = 7;
  b["experiments"][1]["encoders"][0]["extra"]["benchmarks"][0]["time_s"]["all"] = {4, 5, 6};
  b["experiments"][1]["encoders"][0]["metrics"]["apply_simd_t1_median_ms"]["value"] = 2.5;
  const json same = exact_differences({"A", base}, {"B", b});
  EXPECT_TRUE(same["identical"].get<bool>()) << same.dump(2);
  // A value, a tables' error of speed and an added field are differences.
  b["experiments"][0]["encoders"][1]["metrics"]["max_relative_residual"]["value"] = 0.5000001;
  b["experiments"][1]["encoders"][0]["metrics"]["apply_simd_t1_max_abs_error"]["value"] = 2e-7;
  b["experiments"][0]["encoders"][0]["note"] = "x";
  b["snapshots"] = json::array();
  const json d = exact_differences({"A", base}, {"B", b});
  EXPECT_FALSE(d["identical"].get<bool>());
  ASSERT_EQ(d["differences_found"], 4);
  std::vector<std::string> paths;
  for (const auto& x : d["differences"]) paths.push_back(x["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "experiments[0].encoders[0].note",
                       "experiments[0].encoders[1].metrics.max_relative_residual.value",
                       "experiments[1].encoders[0].metrics.apply_simd_t1_max_abs_error.value",
                       "snapshots"}));
  EXPECT_EQ(d["differences"][3]["only_in"], "b");
  EXPECT_EQ(d["differences"][1]["a"], 0.5);
  EXPECT_EQ(d["differences"][1]["b"], 0.5000001);
}

TEST(Compare, ByLabelMakesTheSweptParamsColumns) {
  json e = {{"type", "offset_linearity"}, {"encoders", json::array()}};
  for (double base : {1e4, 5e5, 1e6})
    e["encoders"].push_back(encoder(
        "rope", "rope-" + std::to_string(int(base)),
        {{"base", base}, {"layout", "half"}, {"scaling", {{"type", "linear"}, {"factor", 2}}}},
        {{"max_relative_residual", metric_json(base * 1e-20)}}));
  e["encoders"][2]["params"]["scaling"]["factor"] = 4;
  const json t = by_label_tables({"R", document({e})});
  const json& x = t["experiments"][0];
  EXPECT_EQ(x["swept"], json({"base", "scaling.factor"}));  // layout, scaling.type: the same
  EXPECT_FALSE(x["several_schemes"].get<bool>());
  ASSERT_EQ(x["rows"].size(), 3u);
  EXPECT_EQ(x["rows"][1]["label"], "rope-500000");
  EXPECT_EQ(x["rows"][1]["params"], json({{"base", 5e5}, {"scaling.factor", 2}}));
  EXPECT_EQ(x["rows"][2]["params"]["scaling.factor"], 4);
  EXPECT_EQ(x["rows"][2]["metrics"]["max_relative_residual"], 1e6 * 1e-20);
  const std::string text = render_by_label(t);
  EXPECT_NE(text.find("label         base     scaling.factor  max_relative_residual"),
            std::string::npos)
      << text;
}

TEST(Compare, ByLabelShowsASweepAsOneTableWithOnlyTheSweptParams) {
  // configs/studies/sweep.json's shape: position_probe swept over train_length with 2 seeds (4
  // instances of experiments[0]), sinusoidal beside rope swept over base (scaling.factor swept
  // over one value); then an experiment without sweeps.
  json doc = document({});
  doc["resolved_config"] = {{"experiments", json::array()}};
  const json rope_params = {
      {"base", 1e4}, {"layout", "half"}, {"scaling", {{"rope_type", "linear"}, {"factor", 2}}}};
  for (int length : {64, 128})
    for (int seed : {0, 1}) {
      json e = {{"type", "position_probe"},
                {"path", "experiments[0]"},
                {"point", "train_length=" + std::to_string(length)},
                {"sweep_point", {{"train_length", length}}},
                {"seed", seed},
                {"seeded", true},
                {"encoders", json::array()}};
      json resolved = {{"type", "position_probe"}, {"encoders", json::array()}};
      e["encoders"].push_back(encoder("sinusoidal", "sinusoidal", {{"max_len", 512}},
                                      {{"r2", metric_json(length + seed)}}));
      resolved["encoders"].push_back({{"label", "sinusoidal"}, {"name", "sinusoidal"}});
      for (double base : {1e4, 5e5}) {
        const std::string label = base == 1e4 ? "rope[base=1e4]" : "rope[base=5e5]";
        json p = rope_params;
        p["base"] = base;
        e["encoders"].push_back(
            encoder("rope", label, p, {{"r2", metric_json(base + length + seed)}}));
        resolved["encoders"].push_back({{"label", label},
                                        {"name", "rope"},
                                        {"sweep_point", {{"base", base}, {"scaling.factor", 2}}}});
      }
      doc["experiments"].push_back(e);
      doc["resolved_config"]["experiments"].push_back(resolved);
    }
  doc["experiments"].push_back(properties_experiment(1, 2));
  doc["experiments"].back()["path"] = "experiments[1]";
  doc["resolved_config"]["experiments"].push_back({{"type", "offset_linearity"}});
  const json t = by_label_tables({"R", doc});
  ASSERT_EQ(t["experiments"].size(), 2u);
  const json& x = t["experiments"][0];
  EXPECT_EQ(x["path"], "experiments[0]");
  EXPECT_EQ(x["experiment_swept"], json({"train_length"}));
  EXPECT_TRUE(x["seeded"].get<bool>());
  // Neither max_len (sinusoidal's), layout nor scaling.rope_type (rope's, the same in every
  // rope row): only what was swept.
  EXPECT_EQ(x["swept"], json({"base", "scaling.factor"}));
  EXPECT_TRUE(x["several_schemes"].get<bool>());
  ASSERT_EQ(x["rows"].size(), 12u);
  size_t k = 0;
  for (int length : {64, 128})
    for (int seed : {0, 1})
      for (const char* label : {"sinusoidal", "rope[base=1e4]", "rope[base=5e5]"}) {
        SCOPED_TRACE(k);
        const json& r = x["rows"][k++];
        EXPECT_EQ(r["label"], label);
        EXPECT_EQ(r["experiment_params"], json({{"train_length", length}}));
        EXPECT_EQ(r["seed"], seed);
        const bool rope = r["label"] != "sinusoidal";
        const double base = std::string(label) == "rope[base=5e5]" ? 5e5 : 1e4;
        EXPECT_EQ(r["params"],
                  rope ? json({{"base", base}, {"scaling.factor", 2}}) : json::object());
        EXPECT_EQ(r["metrics"]["r2"], (rope ? base : 0) + length + seed);
      }
  // The second experiment: two schemes, nothing swept, no param is a column.
  EXPECT_EQ(t["experiments"][1]["swept"], json::array());
  EXPECT_EQ(t["experiments"][1]["experiment_swept"], json::array());
  EXPECT_FALSE(t["experiments"][1]["seeded"].get<bool>());
  const std::string text = render_by_label(t);
  EXPECT_NE(text.find("experiments[0] position_probe (swept: train_length, seed, base, "
                      "scaling.factor)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("label           train_length  seed  scheme      base    scaling.factor  r2"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("sinusoidal      128           1     sinusoidal  -       -               129"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("experiments[1] offset_linearity (no param differs between the encoders)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace posbench
