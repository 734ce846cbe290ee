#pragma once
// Turning the measured plan into the experiment's results: per encoder one record per benchmark
// (encoders[].extra.benchmarks[]), metrics and curves; experiment-wide the probes, the attention
// baseline, the machine and the methods. results/README.md#speed says what the figures mean.
#include <cstdint>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "harness/experiments/speed/parameters.h"
#include "harness/experiments/speed/plan.h"
#include "harness/experiments/speed/session.h"

namespace posbench::speed {

struct RunFacts {
  std::string isa;  // kernels::simd_isa()
  SessionResult session;
  uint64_t memory_bytes_estimate = 0;  // the memory model's peak over every encoder
  Thresholds thresholds;               // of the reliability checks
};

// Fills every measured Bench's `unreliable` with the reasons that concern its own repetitions:
// the machine's load around its group (load_reasons), the drift of any bandwidth probe of its
// group (drift_reasons: a drifting machine spoils the whole group) and its repetitions' CV.
void assess_reliability(std::vector<Bench>& benches, const MachineLoad& load, const Config& config,
                        const Thresholds& thresholds);

ExperimentResult assemble(const Config& config, const std::vector<EncoderInstance>& encoders,
                          const std::vector<Bench>& benches, const RunFacts& facts);

}  // namespace posbench::speed
