#pragma once
// Running a plan with Google Benchmark: one session per round of each group (speed.cpp says
// why), every repetition collected into the Bench records.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/experiments/speed/parameters.h"
#include "harness/experiments/speed/plan.h"
#include "harness/experiments/speed/reliability.h"
#include "harness/experiments/speed/workspaces.h"

namespace posbench::speed {

struct SessionResult {
  nlohmann::json cpu = nlohmann::json::object();  // Google Benchmark's context: CPUs, caches
  std::string gbench_path;  // where Google Benchmark's JSON goes ("" without an artifact prefix)
  std::string gbench_json;  // its content, handed to the CLI as a side file
  uint64_t peak_buffer_bytes = 0;  // the most Buffer bytes alive at once
  MachineLoad load;  // samples before the first group and around every group (reliability.h)
};

using WorkspaceFactory = std::function<std::unique_ptr<Workspace>(const Group&)>;

// Runs every group of the plan (fills each Bench's repetitions, errors and details). With an
// artifact_prefix, Google Benchmark's JSON is returned for <artifact_prefix>.gbench.json (the
// CLI writes it after the results file). The machine's load is sampled from `load_source`
// before the first group (a window of before_window_s) and around every group, and a warning is
// printed (stderr) as soon as a group's load makes its figures unreliable. With wait_s > 0 it
// first waits up to wait_s seconds for a quiet machine (reliability.h wait_for_quiet).
SessionResult run_plan(Plan& plan, const WorkspaceFactory& make, const Config& config,
                       const std::string& artifact_prefix, LoadSource& load_source,
                       const Thresholds& thresholds, double wait_s = 0);

}  // namespace posbench::speed
