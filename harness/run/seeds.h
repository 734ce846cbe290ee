#pragma once
// Mean and spread across seeds. An experiment entry with "seeds": [0, 1, 2] runs once per seed
// (per sweep point); for each such group of instances, each encoder label and each metric, the
// per-seed values (in seed order) and over the finite ones their mean, sample standard
// deviation (n - 1 in the denominator; undefined for one value), min and max.

#include <cstdint>
#include <string>
#include <vector>

#include "harness/run/config.h"

namespace posbench {

struct SeedStatistic {
  std::string metric, unit, at;
  std::vector<double> values;  // one per seed, in the entry's seed order; NaN: not reported
  size_t n = 0;                // finite values
  double mean = 0, std = 0, min = 0, max = 0;  // over the finite values; NaN when none (std: < 2)
};

struct SeedEncoderSummary {
  std::string label;
  std::vector<SeedStatistic> metrics;  // in the order the first seed reports them
};

struct SeedSummary {
  std::string type, path, point;  // the entry ("experiments[1]") and sweep point
  // For an experiment whose encoders run together (speed: timings of one machine), the host its
  // instances ran on: instances of different hosts are summarised apart. "" otherwise.
  std::string host;
  std::vector<uint64_t> seeds;
  std::vector<size_t> experiments;  // indices of the instances in Plan::experiments, seed order
  std::vector<SeedEncoderSummary> encoders;
};

// One summary per seeded entry, sweep point (and host, see above); `results[i]` is the result
// of plan.experiments[i], `hosts[i]` where it ran ("" for an experiment whose encoders are
// separable; empty: all "").
std::vector<SeedSummary> seed_summaries(const Plan& plan,
                                        const std::vector<const ExperimentResult*>& results,
                                        const std::vector<std::string>& hosts = {});

}  // namespace posbench
