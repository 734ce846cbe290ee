// A run assembled from units (one per encoder of a separable experiment, summarized once all
// are in; harness/run/runner.h assemble_run) gives every experiment exactly what its run_all
// over all encoders gives: outcomes, summary columns and title, console tables and extra, for
// every built-in property experiment (configs/properties.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness/run/runner.h"
#include "harness/run/unit_record.h"

namespace posbench {
namespace {

using nlohmann::json;

// The whole result as JSON (NaN as null), to compare everything at once.
json as_json(const ExperimentResult& r) {
  UnitRecord rec;
  rec.result = r;
  return record_to_json(rec);
}

TEST(RunnerUnits, AssembledFromUnitsEqualsRunAllForEveryPropertyExperiment) {
  const json config =
      read_json_file(std::filesystem::path(POSBENCH_SOURCE_DIR) / "configs/properties.json");
  Diagnostics diag;
  const Plan plan = build_plan(config, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  RunOptions options;
  options.threads = 2;
  options.max_memory = uint64_t(4) << 30;
  const RunOutput run = run_plan(plan, options);
  ASSERT_EQ(run.experiments.size(), plan.experiments.size());
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    SCOPED_TRACE(e.type);
    EXPECT_TRUE(e.experiment->encoders_separable());
    const RunContext ctx{plan.seed, 2, options.max_memory, ""};
    const ExperimentResult whole = e.experiment->run_all(e.encoders, ctx);
    EXPECT_EQ(as_json(run.experiments[i].result), as_json(whole));
    EXPECT_EQ(run.experiments[i].result.outcomes.size(), e.encoders.size());
  }
}

}  // namespace
}  // namespace posbench
