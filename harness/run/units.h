#pragma once
// A run as a list of units: what `posbench plan` lists, `run --shard K/N` shares out and
// `run --resume` skips when done. A unit is one experiment instance (harness/run/config.h) with
// one of its encoders when the experiment's encoders are separable (Experiment::
// encoders_separable), else with all of them (speed: its groups and probes run together); plus
// one unit drawing the snapshots (harness/analysis/snapshot.h) of every distinct scheme.
//
// Ids are derived from content only (the instance's entry path, point, seed, type and resolved
// params, and the unit's encoders' labels and resolved entries), so the same config gives the
// same ids on every machine, and a changed value gives a new id.
//
// Cost (to balance shards): the unit's estimated seconds, the sum over its encoders of
// Experiment::estimated_seconds (each experiment's own estimate: speed's benchmarks x rounds x
// min_time, position_probe's fits; by default 1 ns per byte it allocates) plus 1 ns per byte of
// the schemes' own memory, plus 10 ms for the unit itself (its start and record); the snapshot
// unit 10 ms. A guess: longest-first balancing needs the big units known as big; units that
// differ by less than their start-up are interchangeable (harness/run/README.md: how it compares
// with measured unit times).

#include <cstdint>
#include <string>
#include <vector>

#include "harness/run/config.h"

namespace posbench {

struct Unit {
  std::string id;                // 16 hex digits
  bool snapshots = false;        // the snapshot unit (experiment and encoders unused)
  size_t experiment = 0;         // index in Plan::experiments
  std::vector<size_t> encoders;  // indices in its encoders, in config order
  uint64_t memory_bytes = 0;     // peak bytes (saturated), as the memory guard counts
  double cost = 0;               // estimated seconds, see above
  std::string what;  // "experiments[1] position_probe[train_length=256,seed=0]: rope[base=1e4]"
};

// Every unit of the plan, in run order: experiments in plan order, encoders in config order,
// the snapshot unit last.
std::vector<Unit> plan_units(const Plan& plan);

// 16 hex digits of a 64-bit FNV-1a hash of the config as given and as resolved (which holds
// every hf_config file's values): parts of different configs are refused by merge and resume.
std::string config_hash(const Plan& plan);

// 16 hex digits of the 64-bit FNV-1a hash of `text` (not cryptographic: it tells configs and
// units apart, it does not protect against forgery).
std::string fnv1a_hex(const std::string& text);

// Indices of the units of shard k of n (0 <= k < n): longest processing time first, i.e. units
// by cost, highest first (ties: by id), each to the shard with the least cost so far (ties: the
// lowest index). Deterministic; returned in run order.
std::vector<size_t> shard_units(const std::vector<Unit>& units, size_t k, size_t n);

}  // namespace posbench
