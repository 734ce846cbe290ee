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
#include "harness/experiments/speed/workspaces.h"

namespace posbench::speed {

struct SessionResult {
  nlohmann::json cpu = nlohmann::json::object();  // Google Benchmark's context: CPUs, caches
  std::string gbench_path;  // where Google Benchmark's JSON goes ("" without an artifact prefix)
  std::string gbench_json;  // its content, handed to the CLI as a side file
  uint64_t peak_buffer_bytes = 0;  // the most Buffer bytes alive at once
};

using WorkspaceFactory = std::function<std::unique_ptr<Workspace>(const Group&)>;

// Runs every group of the plan (fills each Bench's repetitions, errors and details). With an
// artifact_prefix, Google Benchmark's JSON is returned for <artifact_prefix>.gbench.json (the
// CLI writes it after the results file).
SessionResult run_plan(Plan& plan, const WorkspaceFactory& make, const Config& config,
                       const std::string& artifact_prefix);

}  // namespace posbench::speed
