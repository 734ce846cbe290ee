#pragma once
// Runs a Plan: memory guard first, then each experiment. Returns plain structs; the reporters
// (harness/report: console summary, JSON results document) format them.

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/files.h"
#include "harness/run/config.h"
#include "harness/run/seeds.h"
#include "harness/run/unit_record.h"
#include "harness/run/units.h"

namespace posbench {

struct RunOptions {
  int threads = 0;              // 0: OpenMP's default (all cores)
  uint64_t max_memory = 0;      // bytes; 0: half of physical memory
  std::string artifact_prefix;  // side files go to "<prefix>.<experiment index>.<name>"
};

struct ExperimentRun {
  const PlannedExperiment* planned = nullptr;
  ExperimentResult result;
  double wall_seconds = 0;         // the sum of its units' wall time
  std::vector<std::string> hosts;  // where its units ran (sorted, each once)
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
  std::string config_hash;            // units.h config_hash()
  std::vector<std::string> unit_ids;  // every unit of the plan, in run order
  nlohmann::json unit_provenance = nlohmann::json::object();  // id -> {host, wall_seconds}
  std::vector<SeedSummary> seed_summaries;  // across the seeds of each seeded entry and point
};

class Progress;

// Runs the units `todo` (indices in `units`, all of plan_units(plan)) under the memory guard,
// handing each finished unit's record to `done` (e.g. to store it durably) and reporting to
// `progress` (may be null). OpenMP runs at `options.threads`.
void run_units(const Plan& plan, const std::vector<Unit>& units, const std::vector<size_t>& todo,
               const RunOptions& options, const std::function<void(UnitRecord&&)>& done,
               Progress* progress = nullptr);

// The run of the whole plan from every unit's record (`records` by id; every unit must be
// there): outcomes in config order, each separable experiment summarized (Experiment::
// summarize), side files renamed to `options.artifact_prefix`, seed summaries. `context`,
// `threads` and `total_wall_seconds` are the caller's (they describe the run, not a unit).
RunOutput assemble_run(const Plan& plan, const std::vector<Unit>& units,
                       const std::map<std::string, UnitRecord>& records, const RunOptions& options);

// Default memory limit: half of physical RAM.
uint64_t default_memory_limit();

// The OpenMP threads a run with `options` uses (options.threads, else OpenMP's default).
int effective_threads(const RunOptions& options);

// Bytes the scheme of `enc` keeps for `experiment`: Encoder::memory_bytes summed over the
// shapes the experiment uses it at (the ones its check() passes to check_shape).
uint64_t scheme_memory_bytes(const Experiment& experiment, const EncoderInstance& enc);

// Throws UserError naming the experiment/encoder and the bytes it would need when any
// exceeds `limit`: the experiment's memory_bytes() plus scheme_memory_bytes().
void check_memory(const Plan& plan, uint64_t limit);

// Encoder::load() for every encoder of the plan (weight files), errors with their config paths.
void load_encoders(const Plan& plan);

// run_units() of every unit, then assemble_run(), in memory.
RunOutput run_plan(const Plan& plan, const RunOptions& options);

}  // namespace posbench
