#pragma once
// The commands that work on a run's units (harness/run/units.h):
//   posbench plan CONFIG [--json] [--shards N]    every unit: id, what it runs, memory, cost
//   posbench run CONFIG [-o OUT.json] [--shard K/N] [--resume] [--force] [--threads N]
//                       [--verbose]
//   posbench merge PART.json... -o FULL.json [--force]
// `run` records each finished unit in OUT.json.units/ as it goes (removed once OUT.json is
// written); `--resume` runs only the units not recorded there. With `--shard K/N` (K 0-based,
// as $SLURM_ARRAY_TASK_ID) it runs the units of shard K and writes a partial results file
// (harness/run/merge.h), which `merge` combines.

#include <cstdint>
#include <string>
#include <vector>

#include "harness/run/config.h"

namespace posbench {

struct RunArgs {
  std::string config, output;
  int threads = 0;
  uint64_t max_memory = 0;
  bool force = false, resume = false;
  std::string shard;  // "K/N"; "" for the whole run
  std::string self;   // argv[0], for the closing hint
};

// Reads a config file, loads its plugins and builds the plan (UserError with every problem).
Plan load_plan(const std::string& file);

int run_command(const RunArgs& args);
int plan_command(const std::string& config, bool as_json, int shards);
int merge_command(const std::vector<std::string>& parts, const std::string& output, bool force,
                  int threads, uint64_t max_memory);

// "K/N" -> {K, N}, 0 <= K < N; UserError naming --shard otherwise.
std::pair<size_t, size_t> parse_shard(const std::string& text);

}  // namespace posbench
