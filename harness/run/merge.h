#pragma once
// Partial results (`run --shard K/N`) and their merge (`posbench merge`).
//
// A partial results file holds what a shard ran, not a report: the config as given, the directory
// its hf_config paths are relative to, the config's hash (units.h config_hash), posbench's
// version, the shard, the ids of its units and their records (unit_record.h), and the run's
// context. `merge` checks the parts belong together, rebuilds the plan from the config, checks
// every unit is there exactly once and assembles the run as an unsharded run does
// (runner.h assemble_run): every non-timing value equals an unsharded run's.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/runner.h"

namespace posbench {

inline constexpr const char* kPartialKind = "posbench partial results";
inline constexpr int kPartialFormat = 1;

struct PartialRun {
  const Plan* plan = nullptr;
  std::string config_dir;             // hf_config paths are relative to it (absolute)
  size_t shard = 0, shards = 1;       // K of N
  std::vector<std::string> unit_ids;  // this shard's, in run order
  const std::map<std::string, UnitRecord>* records = nullptr;  // at least those
  nlohmann::json context;
  int threads = 0;
  uint64_t max_memory = 0;
  double total_wall_seconds = 0;
};

nlohmann::json partial_document(const PartialRun& part);

// Whether `doc` is a partial results file (by its "kind").
bool is_partial_document(const nlohmann::json& doc);

struct Parts {
  nlohmann::json config;  // as given
  std::string config_dir;
  std::string config_hash;
  std::string posbench_version;
  std::map<std::string, UnitRecord> records;   // every part's, by id
  std::map<std::string, std::string> part_of;  // unit id -> the file it came from
  nlohmann::json context;                      // the first part's
  int threads = 0;                             // the first part's
  uint64_t max_memory = 0;                     // the first part's
  double total_wall_seconds = 0;               // the parts', summed
};

// Reads the partial results files; refuses (UserError naming the files) a file that is not one,
// parts of different configs or posbench versions, and a unit in two parts.
Parts read_parts(const std::vector<std::string>& files, const std::string& this_version);

// Refuses (UserError) records that do not cover `units` exactly: a missing unit (naming it and
// what it runs) or one the plan does not have.
void check_coverage(const Parts& parts, const std::vector<Unit>& units);

// Lines to tell the user when units whose encoders run together (speed: timings of one machine)
// ran on different hosts: each such experiment is kept as its own entry with its host.
std::vector<std::string> host_notes(const RunOutput& run);

}  // namespace posbench
