#pragma once
// The buffers of one group of benchmarks (plan.h Group), allocated and pre-faulted once per
// group, outside the timing loops, and reused by every iteration. Inputs are a seeded block of
// 65537 uniform(-1, 1) values (posbench::Rng) tiled over each buffer.
#include <cstdint>
#include <memory>
#include <vector>

#include "encoders/experiment.h"
#include "harness/experiments/speed/parameters.h"
#include "harness/experiments/speed/plan.h"

namespace posbench::speed {

class Workspace {
 public:
  virtual ~Workspace() = default;
  // One iteration of b (b.calls counts them: in-place operations alternate with their inverse).
  virtual void run(Bench& b) = 0;
  // Once per benchmark, after its first timed call: correctness figures into b.detail.
  virtual void check(Bench&) {}
};

// The workspace of group g with storage type T. Throws what a scheme throws (e.g. refusing the
// shape) or std::logic_error for attention in bfloat16 (never planned).
template <class T>
std::unique_ptr<Workspace> make_workspace(const Group& g, const Config& config,
                                          const std::vector<EncoderInstance>& encoders,
                                          uint64_t seed);

}  // namespace posbench::speed
