// Results do not depend on the thread count: every experiment of the shipped default and
// properties suites, run at 1 and at 2 threads, gives bit-identical values in everything but
// timings (wall times, and the speed experiment's measurements, which are timings by nature).
// Eigen's own parallel products once made offset_linearity differ in its last digits.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/experiments/trained/spec.h"
#include "harness/report/json.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"
#include "harness/run/timing_fields.h"

namespace posbench {
namespace {

using nlohmann::json;

// Counts the numbers in a JSON value (to show that the comparison compared something).
size_t numbers_in(const json& j) {
  if (j.is_number()) return 1;
  size_t n = 0;
  if (j.is_structured())
    for (const auto& e : j) n += numbers_in(e);
  return n;
}

json run_at(const Plan& plan, int threads) {
  RunOptions options;
  options.threads = threads;
  return results_document(run_plan(plan, options));
}

class ThreadCount : public ::testing::TestWithParam<const char*> {};

TEST_P(ThreadCount, EveryNonTimingValueIsIdenticalAtOneAndTwoThreads) {
  const auto file = std::filesystem::path(POSBENCH_SOURCE_DIR) / "configs" / GetParam();
  Diagnostics diag;
  json config = read_json_file(file);
  // A build without libtorch (CI's sanitizer stage) lists trained_extrapolation as unavailable
  // and refuses it; the rest of the suite is still compared there.
  if (!trained::available()) {
    json kept = json::array();
    for (const auto& e : config["experiments"])
      if (e["type"] != "trained_extrapolation") kept.push_back(e);
    config["experiments"] = kept;
  }
  const Plan plan = build_plan(config, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  const json one = run_at(plan, 1), two = run_at(plan, 2);
  EXPECT_GT(numbers_in(one["experiments"]), 1000u);
  // Everything but the timing and provenance fields (harness/run/timing_fields.h: wall times,
  // the machine, and the speed experiment's measurements, which are timings by nature).
  std::string differences;
  for (const auto& d : non_timing_differences(one, two, 50)) differences += "\n  " + d;
  EXPECT_EQ(differences, "");
}

INSTANTIATE_TEST_SUITE_P(ShippedSuites, ThreadCount,
                         ::testing::Values("default.json", "properties.json"));

}  // namespace
}  // namespace posbench
