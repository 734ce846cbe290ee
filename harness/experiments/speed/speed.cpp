// speed — what each scheme costs on the operations a model runs, next to this machine's own
// memory bandwidth measured in the same run.
//
// One Google Benchmark is registered per (encoder, operation, shape, threads, implementation)
// with benchmark::RegisterBenchmark and run by benchmark::RunSpecifiedBenchmarks; a custom
// reporter collects every repetition into the results (median / mean / stddev / CV of time,
// GB/s, ns per element, fraction of the bandwidth probe) and forwards the runs to Google
// Benchmark's JSONReporter, whose file is written beside the results
// (<results>.<experiment index>.gbench.json).
//
// Operations (per family; others are reported as not applicable):
//   table            additive: PE [seq, dim];  rotary: cos/sin cache [seq, d'/2] each.
//                    Compared with the fill probe, but arithmetic-bound.
//   apply            additive: x += PE (x, PE [seq, dim]);  rotary: q and k [seq, heads,
//                    head_dim] rotated in place with a precomputed cos/sin cache;  bias: logits
//                    [heads, seq, seq] += b.  Memory-bound: compared with the in-place probe.
//                    In-place iterations alternate the operation and its inverse (R then R^-1,
//                    +PE then -PE, +b then -b) so the data stay bounded; both cost the same.
//   materialize_bias b [heads, seq, seq] written to a buffer. Compared with the fill probe.
//   attention        one causal attention head group (harness/kernels/ops.h AttentionOp);
//                    bias schemes also run `attention_fused` (the bias computed inside the
//                    logits loop, never materialised). With `attention_baseline`, attention
//                    without any scheme is measured once per shape so each scheme's share of
//                    the attention time is reported.
// Shapes: {"seq", "heads", "head_dim"} or {"seq", "dim"} (= 1 head of width dim). Additive
// schemes use dim = heads * head_dim; bias schemes use heads and seq.
//
// Bandwidth probes (in-place a = s - a, copy, fill; float32, the widest SIMD, OpenMP): every
// operation with a working set (table, apply, materialize_bias) is measured next to its own probe
// of the same kind at the same size and thread count, and `probe_mib` gives all three kinds as
// the machine's reference.
//
// Why "next to": on a shared virtual machine the bandwidth (in particular how much of a working
// set stays in the shared L3) drifts by 2x over a minute, so a probe measured at another time is
// no yardstick. Each group of benchmarks sharing data (one operation of one scheme at one shape,
// all thread counts and implementations, plus its probes) runs in `repetitions` rounds, one
// Google Benchmark session each: every benchmark of the group runs once per round, in a random
// order (--benchmark_enable_random_interleaving), so each repetition of an operation has one of
// its probe's within the same round, seconds away. (One session with all repetitions randomly
// interleaved put all five repetitions of an operation before all five of its probe's in one
// run here, 6 to 21 s apart.) The first round finds the iteration count for min_time; later
// rounds run that count.
//
// Every buffer is allocated and pre-faulted (every page written) once per group, outside the
// timing loops, and reused by every iteration; groups run one after another and free their
// memory. Inputs are a seeded block of 65537 uniform(-1, 1) values
// (posbench::Rng) tiled over each buffer.
//
// Files: parameters (declared params, Config), plan (benchmarks, groups, per-operation bytes and
// elements, memory model), workspaces (buffers and kernels per group), session (Google
// Benchmark), statistics (medians, time pairing, fractions of the probe), record (results),
// reliability (marks on figures from a busy or drifting machine, noisy or implausible ones).
// What the figures mean: results/README.md#speed.
#include <algorithm>
#include <memory>
#include <vector>

#include "encoders/experiment.h"
#include "harness/experiments/speed/parameters.h"
#include "harness/experiments/speed/plan.h"
#include "harness/experiments/speed/record.h"
#include "harness/experiments/speed/reliability.h"
#include "harness/experiments/speed/session.h"
#include "harness/experiments/speed/workspaces.h"
#include "harness/kernels/simd.h"

namespace posbench {
namespace {

using speed::Config;

// Everything that depends on the storage type T, picked once by speed::with_storage_type.
template <class T>
struct Typed {
  static uint64_t memory_bytes(const Config& c, const EncoderInstance* enc) {
    return speed::peak_bytes<T>(c, enc);
  }

  static ExperimentResult run(const Config& c, const std::vector<EncoderInstance>& encoders,
                              const RunContext& ctx) {
    const std::string isa = kernels::simd_isa();
    speed::Plan plan = speed::make_plan(c, encoders, sizeof(T));
    const auto make = [&](const speed::Group& g) {
      return speed::make_workspace<T>(g, c, encoders, ctx.seed);
    };
    speed::RunFacts facts;
    facts.isa = isa;
    const auto load = speed::system_load_source();
    facts.session = speed::run_plan(plan, make, c, ctx.artifact_prefix, *load, facts.thresholds,
                                    speed::wait_for_quiet_seconds());
    speed::assess_reliability(plan.benches, facts.session.load, c, facts.thresholds);
    facts.memory_bytes_estimate = memory_bytes(c, nullptr);
    for (const auto& enc : encoders)
      facts.memory_bytes_estimate = std::max(facts.memory_bytes_estimate, memory_bytes(c, &enc));
    ExperimentResult result = speed::assemble(c, encoders, plan.benches, facts);
    if (!facts.session.gbench_path.empty())
      result.side_files.push_back({facts.session.gbench_path, facts.session.gbench_json});
    return result;
  }
};

class Speed final : public Experiment {
 public:
  explicit Speed(const Params& p) : c_(speed::config_from(p)) {}

  void check(const EncoderInstance& enc) const override {
    for (const speed::Shape& s : c_.shapes) {
      // Additive schemes add to the whole [seq, heads * head_dim] embedding.
      const int64_t dim = enc.family == Family::additive ? s.heads * s.head_dim : s.head_dim;
      enc.encoder->check_shape(dim, s.heads);
    }
  }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    return speed::with_storage_type(
        c_.dtype, [&](auto t) { return Typed<decltype(t)>::memory_bytes(c_, &enc); });
  }

  // Its benchmarks of `enc` and the probes measured next to them, each run in `repetitions`
  // rounds of at least min_time (an iteration longer than min_time: guessed at 1 ns per byte
  // and flop), plus Google Benchmark's estimation of the iteration count in the first round
  // (about two more), plus 5 ms per call (Google Benchmark's and the round's own work: 0.64 s
  // for ~64 calls of min_time 1 ms in configs/studies/sweep.json on a busy machine). The
  // reference probes and the attention baseline, shared by all encoders, are left out.
  double estimated_seconds(const EncoderInstance& enc) const override {
    const size_t elem = speed::with_storage_type(c_.dtype, [](auto t) { return sizeof(t); });
    const speed::Plan plan = speed::make_plan(c_, {enc}, elem);
    double seconds = 0;
    for (const speed::Bench& b : plan.benches)
      if (b.encoder == 0 || !b.next_to.empty())
        seconds +=
            (c_.repetitions + 2) * (std::max(c_.min_time, (b.bytes + b.flops) * 1e-9) + 5e-3);
    return seconds;
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    return run_all({enc}, ctx).outcomes.at(0);
  }

  ExperimentResult run_all(const std::vector<EncoderInstance>& encoders,
                           const RunContext& ctx) const override {
    return speed::with_storage_type(
        c_.dtype, [&](auto t) { return Typed<decltype(t)>::run(c_, encoders, ctx); });
  }

 private:
  Config c_;
};

const ExperimentRegistration kRegistration{{
    .name = "speed",
    .description = "cost of each scheme's operations (Google Benchmark, xsimd, OpenMP) next to "
                   "this machine's memory bandwidth",
    .params = speed::param_specs(),
    .metrics =
        {
            {"<benchmark>_median_ms", "ms",
             "median time of one call; benchmark = <operation>_<implementation>_t<threads>, plus "
             "_<shape> when several shapes",
             ""},
            {"<benchmark>_gb_per_s", "GB/s", "bytes moved per second (median)", ""},
            {"<benchmark>_gflop_per_s", "GFLOP/s", "floating-point operations per second (median)",
             ""},
            {"<benchmark>_fraction_of_probe", "1",
             "GB/s over this machine's measured memory bandwidth (probe)",
             "memory-bound operations: <= 1"},
            {"<benchmark>_max_abs_error", "1",
             "the largest |output - float64 reference| of the benchmarked kernel",
             "float32 kernels: ~1e-7 of the values' scale"},
        },
    .factory = [](const Params& p) { return std::make_unique<Speed>(p); },
}};

}  // namespace
}  // namespace posbench
