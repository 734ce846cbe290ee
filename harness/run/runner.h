#pragma once
// Runs a Plan: memory guard first, then each experiment. Returns plain structs; the reporters
// (harness/report: console summary, JSON results document) format them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/files.h"
#include "harness/run/config.h"

namespace posbench {

struct RunOptions {
  int threads = 0;              // 0: OpenMP's default (all cores)
  uint64_t max_memory = 0;      // bytes; 0: half of physical memory
  std::string artifact_prefix;  // side files go to "<prefix>.<experiment index>.<name>"
};

struct ExperimentRun {
  const PlannedExperiment* planned = nullptr;
  ExperimentResult result;
  double wall_seconds = 0;
};

struct RunOutput {
  const Plan* plan = nullptr;  // what was run (config as given and resolved, seed)
  std::vector<ExperimentRun> experiments;
  int threads = 0;          // OpenMP threads the run used
  uint64_t max_memory = 0;  // the memory limit it ran under, bytes
  nlohmann::json context;   // machine and build (harness/run/context.h), taken at the start
  double total_wall_seconds = 0;
  // One picture per distinct scheme for the figures (harness/analysis/snapshot.h).
  nlohmann::json snapshots = nlohmann::json::array();
};

// Default memory limit: half of physical RAM.
uint64_t default_memory_limit();

// Bytes the scheme of `enc` keeps for `experiment`: Encoder::memory_bytes summed over the
// shapes the experiment uses it at (the ones its check() passes to check_shape).
uint64_t scheme_memory_bytes(const Experiment& experiment, const EncoderInstance& enc);

// Throws UserError naming the experiment/encoder and the bytes it would need when any
// exceeds `limit`: the experiment's memory_bytes() plus scheme_memory_bytes().
void check_memory(const Plan& plan, uint64_t limit);

// Encoder::load() for every encoder of the plan (weight files), errors with their config paths.
void load_encoders(const Plan& plan);

RunOutput run_plan(const Plan& plan, const RunOptions& options);

}  // namespace posbench
