#pragma once
// What the speed experiment runs: one benchmark per (encoder, operation, shape, threads,
// implementation), grouped by the data they share (one operation of one scheme at one shape,
// plus the bandwidth probe measured next to it), with what each moves and computes per iteration
// (one table, kCosts in plan.cpp) and the memory a group keeps alive.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "harness/experiments/speed/parameters.h"
#include "harness/experiments/speed/reliability.h"
#include "harness/experiments/speed/statistics.h"
#include "harness/kernels/ops.h"

namespace posbench::speed {

enum class Op {
  table,
  apply,
  materialize_bias,
  attention,
  attention_fused,
  attention_none,
  probe_inplace,
  probe_copy,
  probe_fill
};

const char* op_name(Op op);  // as in the results ("inplace", "copy", "fill" for probes)
bool is_probe(Op op);

// Bytes of a probe buffer for a working set: whole cache lines, at least one.
uint64_t probe_size(uint64_t bytes);

// Per iteration of one operation of one scheme at one shape.
struct Cost {
  double elements = 0;        // elements produced / updated
  double bytes = 0;           // bytes read + written (0: not reported)
  double flops = 0;           // useful floating-point operations (attention)
  uint64_t working_set = 0;   // bytes the operation's probe is sized to (0: no probe)
  Op probe = Op::probe_fill;  // the probe kind it is compared with
  bool memory_bound = false;
};

// `enc` may be null only for attention_none. `elem_bytes` is sizeof the storage type.
Cost cost_of(Op op, const Encoder* enc, const Shape& shape, size_t elem_bytes);
// A probe over a buffer of `bytes` (in place reads and writes it, copy and fill move it once).
Cost probe_cost(Op kind, uint64_t bytes);

struct Bench {
  std::string name;
  int encoder = -1;  // index into the encoders, -1 for probes and the attention baseline
  Op op = Op::table;
  int shape = -1;
  int threads = 1;
  kernels::Impl impl = kernels::Impl::simd;
  int group = -1;
  double bytes = 0, elements = 0, flops = 0;  // per iteration (Cost)
  uint64_t working_set = 0;                   // probe_size of the Cost's, or a probe's buffer
  Op probe = Op::table;  // probe_inplace / probe_fill for operations with a working set
  std::string next_to;   // probes measured next to an operation: that group's name
  bool memory_bound = false;
  // filled while running
  bool warmed = false, checked = false;
  int64_t calls = 0;
  Repetitions reps;  // reported repetitions and every call of the benchmark function
  std::string error;
  nlohmann::json detail = nlohmann::json::object();
  // Why its own figures are not to be trusted (machine load, probe drift, repetition CV; record.h
  // assess_reliability); ratios derived from it add their own reasons when recorded.
  std::vector<Reason> unreliable;
};

// Benchmarks sharing data: the reference probes (op a probe kind, encoder -1), the scheme-free
// attention of one shape (attention_none), or one operation of one scheme at one shape with, if
// probe_bytes > 0, the probe buffer measured next to it.
struct Group {
  int encoder = -1;
  Op op = Op::probe_inplace;
  int shape = -1;
  uint64_t probe_bytes = 0;
};

struct Plan {
  std::vector<Bench> benches;  // in the order of the results
  std::vector<Group> groups;   // Bench::group indexes these
};

Plan make_plan(const Config& config, const std::vector<EncoderInstance>& encoders,
               size_t elem_bytes);

// Operations of `operations` that apply to a family (in the order given; attention stands for
// attention_fused too for bias schemes), and why the others do not.
std::vector<Op> ops_for(const Config& config, Family family);
std::vector<std::string> not_applicable(const Config& config, Family family);

// Peak bytes of the largest group (with its probe) of `enc`, or of the reference probe and the
// attention baseline for enc == nullptr; the largest uint64 if the count overflows 64 bits.
template <class T>
uint64_t peak_bytes(const Config& config, const EncoderInstance* enc);

}  // namespace posbench::speed
