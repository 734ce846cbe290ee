#include "harness/experiments/speed/record.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>
#include <tuple>
// xsimd's CPU detection only, not its SIMD types (~0.8 CPU-s less to parse).
#include <xsimd/config/xsimd_cpuid.hpp>

#include "harness/kernels/buffer.h"
#include "harness/kernels/simd.h"

namespace posbench::speed {

using kernels::Impl;
using nlohmann::json;

namespace {

Timed timed(const Bench& b) { return {b.bytes, b.reps.seconds, repetition_times(b.reps)}; }

// The benchmarks a record is compared with, found by key rather than by search.
class Index {
 public:
  explicit Index(const std::vector<Bench>& benches) {
    for (const Bench& b : benches) {
      if (b.encoder >= 0) by_key_[{b.encoder, b.op, b.shape, b.threads, b.impl}] = &b;
      if (is_probe(b.op)) probe_in_group_.emplace(std::tuple{b.group, b.op, b.threads}, &b);
      if (is_probe(b.op) && b.next_to.empty()) fixed_probe_[{b.op, b.threads}] = &b;
      if (b.op == Op::attention_none) baseline_[{b.shape, b.threads, b.impl}] = &b;
      in_group_[{b.group, b.op, b.threads, b.impl}] = &b;
      for (const Call& c : b.reps.calls) epoch_ = std::min(epoch_, c.start);
    }
  }
  // The same encoder, shape and (unless given) operation, with results.
  const Bench* like(const Bench& b, int threads, Impl impl, Op op) const {
    return measured(by_key_, {b.encoder, op, b.shape, threads, impl});
  }
  // The probe measured next to b (in its group) at its thread count.
  const Bench* probe_next_to(const Bench& b) const {
    const auto it = probe_in_group_.find({b.group, b.probe, b.threads});
    return it == probe_in_group_.end() ? nullptr : it->second;
  }
  // The reference probe of b's kind at probe_mib at its thread count.
  const Bench* fixed_probe(const Bench& b) const {
    const auto it = fixed_probe_.find({b.probe, b.threads});
    return it == fixed_probe_.end() ? nullptr : it->second;
  }
  const Bench* in_group(const Bench& b, int threads) const {
    return measured(in_group_, {b.group, b.op, threads, b.impl});
  }
  const Bench* baseline(const Bench& b) const {
    return measured(baseline_, {b.shape, b.threads, b.impl});
  }
  // Repetition times (time_s.at) count from the experiment's first benchmark call.
  double epoch() const { return epoch_; }

 private:
  template <class Map>
  static const Bench* measured(const Map& m, const typename Map::key_type& key) {
    const auto it = m.find(key);
    return it == m.end() || it->second->reps.seconds.empty() ? nullptr : it->second;
  }
  std::map<std::tuple<int, Op, int, int, Impl>, const Bench*> by_key_;
  std::map<std::tuple<int, Op, int>, const Bench*> probe_in_group_;
  std::map<std::tuple<Op, int>, const Bench*> fixed_probe_;
  std::map<std::tuple<int, int, Impl>, const Bench*> baseline_;
  std::map<std::tuple<int, Op, int, Impl>, const Bench*> in_group_;
  double epoch_ = INFINITY;
};

// One record per benchmark (encoders[].extra.benchmarks[], extra.probes[],
// extra.attention_baseline[]).
class Recorder {
 public:
  Recorder(const Config& config, const std::vector<Bench>& benches, const std::string& isa,
           const Thresholds& thresholds)
      : c_(config), index_(benches), isa_(isa), thresholds_(thresholds) {}

  // With "unreliable": {"reasons": [...]} if any of its figures is not to be trusted: its own
  // (Bench::unreliable) and those of the ratios derived from it.
  json record(const Bench& b) const {
    json r = identity(b);
    if (!b.error.empty()) {
      r["error"] = b.error;
      return r;
    }
    std::vector<Reason> why = b.unreliable;
    const Stats t = stats_of(b.reps.seconds);
    timing(b, t, r);
    if (b.encoder >= 0 && b.working_set > 0) versus_probes(b, t, r, why);
    speedups(b, t, r, why);
    for (auto it = b.detail.begin(); it != b.detail.end(); ++it) r[it.key()] = it.value();
    if (!why.empty()) {
      json reasons = json::array();
      for (const Reason& x : why) reasons.push_back(x.to_json());
      r["unreliable"] = {{"reasons", reasons}};
    }
    return r;
  }

 private:
  json identity(const Bench& b) const {
    const bool probe_dtype = b.encoder < 0 && b.op != Op::attention_none;  // probes: float32
    json r = {{"name", b.name},
              {"operation", op_name(b.op)},
              {"threads", b.threads},
              {"dtype", probe_dtype ? "float32" : to_string(c_.dtype)},
              {"repetitions", b.reps.seconds.size()},
              {"iterations", b.reps.iterations}};
    if (!is_probe(b.op)) {
      r["implementation"] = kernels::to_string(b.impl);
      r["isa"] = b.impl == Impl::simd ? isa_ : "baseline x86-64 (plain loops, compiler-vectorised)";
      r["shape"] = c_.shapes[size_t(b.shape)].to_json();
    } else {
      r["isa"] = isa_;
      r["working_set_bytes"] = b.working_set;
      if (!b.next_to.empty()) r["measured_next_to"] = b.next_to;
    }
    return r;
  }

  void timing(const Bench& b, const Stats& t, json& r) const {
    r["time_s"] = t.to_json(b.reps.seconds);
    json at = json::array();
    for (double w : repetition_times(b.reps))
      at.push_back(std::isfinite(w) ? json(w - index_.epoch()) : json(nullptr));
    r["time_s"]["at"] = at;  // mid-time of each repetition (null: unknown)
    // The timing thread's CPU seconds per iteration of each repetition (statistics.h: why).
    if (b.reps.cpu_seconds.size() == b.reps.seconds.size())
      r["cpu_time_s"] = stats_of(b.reps.cpu_seconds).to_json(b.reps.cpu_seconds);
    r["elements"] = b.elements;
    r["ns_per_element"] = t.median * 1e9 / b.elements;
    if (b.bytes > 0) {
      std::vector<double> gbs;
      for (double sec : b.reps.seconds) gbs.push_back(b.bytes / sec / 1e9);
      r["bytes_per_iteration"] = b.bytes;
      r["gb_per_s"] = stats_of(gbs).to_json(gbs);
    }
    if (b.flops > 0) r["gflop_per_s"] = b.flops / t.median / 1e9;
  }

  // A ratio `figure` of r derived from `from`: a reason if it lies outside its plausible range
  // (with check_range) or if `from` is itself marked unreliable.
  void derived(const std::string& figure, const Bench* from, const json& r,
               std::vector<Reason>& why, bool check_range, int threads = 1, int base = 1) const {
    if (!r.contains(figure) || !r[figure].is_number()) return;
    if (check_range)
      for (const Reason& x :
           ratio_reasons(figure, r[figure].get<double>(), thresholds_, threads, base))
        why.push_back(x);
    if (from && !from->unreliable.empty())
      why.push_back({"derived_from_unreliable",
                     fmt::format("{} is computed from {}, itself marked unreliable ({})", figure,
                                 from->name, from->unreliable.front().check),
                     figure});
  }

  // fraction_of_probe[_fixed] with probe[_fixed]: the ratio of the medians' GB/s.
  void versus(const Bench& b, const std::string& key, const Bench* p, json& r) const {
    if (!p || p->reps.seconds.empty()) return;
    r["probe" + key] = {{"name", p->name},
                        {"kind", op_name(b.probe)},
                        {"bytes", p->working_set},
                        {"gb_per_s", p->bytes / median_of(p->reps.seconds) / 1e9}};
    r["fraction_of_probe" + key] = fraction_of_medians(timed(b), timed(*p));
  }

  // Measured in the same rounds: the time-paired fraction is the headline figure, and the ratio
  // of the two medians stays beside it (and stands in, said so, if the repetitions' times are
  // unknown).
  void versus_probes(const Bench& b, const Stats&, json& r, std::vector<Reason>& why) const {
    r["bound"] = b.memory_bound ? "memory" : "arithmetic";
    const Bench* next = index_.probe_next_to(b);
    versus(b, "", next, r);
    if (next && !next->reps.seconds.empty()) {
      r["fraction_of_probe_of_medians"] = r["fraction_of_probe"];
      const std::vector<double> paired = paired_fractions(timed(b), timed(*next));
      if (!paired.empty()) {
        const Stats ps = stats_of(paired);
        r["fraction_of_probe"] = ps.median;
        r["fraction_of_probe_paired"] = ps.to_json(paired);
        r["fraction_of_probe_method"] = "median of time-paired repetitions";
      } else {
        r["fraction_of_probe_method"] =
            "ratio of medians (the repetitions' times are unknown, so none were paired)";
      }
    }
    derived("fraction_of_probe", next, r, why, true);
    // (The fixed probe may run in DRAM while the operation runs in cache: no range.)
    versus(b, "_fixed", index_.fixed_probe(b), r);
    derived("fraction_of_probe_fixed", index_.fixed_probe(b), r, why, false);
  }

  void speedups(const Bench& b, const Stats& t, json& r, std::vector<Reason>& why) const {
    const int first = c_.min_threads();
    if (b.threads != first)
      if (const Bench* one = index_.in_group(b, first)) {
        const std::string key = fmt::format("speedup_vs_{}_thread{}", first, first == 1 ? "" : "s");
        r[key] = median_of(one->reps.seconds) / t.median;
        derived(key, one, r, why, true, b.threads, first);
      }
    if (b.encoder < 0) return;
    if (b.impl == Impl::simd)
      if (const Bench* ref = index_.like(b, b.threads, Impl::reference, b.op)) {
        r["speedup_vs_reference"] = median_of(ref->reps.seconds) / t.median;
        derived("speedup_vs_reference", ref, r, why, true);
      }
    if (b.op == Op::attention_fused)
      if (const Bench* mat = index_.like(b, b.threads, b.impl, Op::attention)) {
        r["speedup_vs_materialized"] = median_of(mat->reps.seconds) / t.median;
        derived("speedup_vs_materialized", mat, r, why, true);
      }
    if ((b.op == Op::attention || b.op == Op::attention_fused) && c_.attention_baseline)
      if (const Bench* none = index_.baseline(b)) {
        const double without = median_of(none->reps.seconds);
        r["attention_without_scheme_s"] = without;
        r["scheme_share_of_attention"] = 1.0 - without / t.median;
        derived("scheme_share_of_attention", none, r, why, true);
      }
  }

  const Config& c_;
  Index index_;
  std::string isa_;
  Thresholds thresholds_;
};

// The checks of a record's "unreliable" reasons, each once ([] for a trusted record).
json unreliable_checks(const json& r) {
  json checks = json::array();
  if (r.contains("unreliable"))
    for (const json& x : r["unreliable"]["reasons"])
      if (std::find(checks.begin(), checks.end(), x["check"]) == checks.end())
        checks.push_back(x["check"]);
  return checks;
}

// Metrics and the curve point of one benchmark's record (r, without error). The metrics of a
// record marked unreliable are listed in `unreliable` (extra.unreliable_metrics: name -> checks),
// so a metric never travels without its mark.
void add_figures(const Config& c, const Bench& b, const json& r, EncoderOutcome& out,
                 std::map<std::string, Curve>& curves, json& unreliable) {
  const size_t first_metric = out.metrics.size();
  const std::string shape = c.shapes[size_t(b.shape)].text();
  const std::string base = fmt::format("{}_{}_t{}{}", op_name(b.op), kernels::to_string(b.impl),
                                       b.threads, c.shapes.size() > 1 ? "_" + shape : "");
  out.metrics.push_back({base + "_median_ms", r["time_s"]["median"].get<double>() * 1e3, "ms"});
  if (r.contains("gb_per_s"))
    out.metrics.push_back({base + "_gb_per_s", r["gb_per_s"]["median"].get<double>(), "GB/s"});
  if (r.contains("gflop_per_s"))
    out.metrics.push_back({base + "_gflop_per_s", r["gflop_per_s"].get<double>(), "GFLOP/s"});
  if (r.contains("fraction_of_probe"))
    out.metrics.push_back({base + "_fraction_of_probe", r["fraction_of_probe"].get<double>(), "1"});
  if (r.contains("max_abs_error_vs_float64"))
    out.metrics.push_back(
        {base + "_max_abs_error", r["max_abs_error_vs_float64"].get<double>(), "1"});
  // One curve over the thread counts per (operation, implementation, shape).
  const std::string cname =
      fmt::format("{}_{}_{}", op_name(b.op), kernels::to_string(b.impl), shape);
  const bool flops = r.contains("gflop_per_s");
  Curve& curve = curves[cname];
  if (curve.name.empty())
    curve = {cname + (flops ? "_gflop_per_s" : "_gb_per_s"),
             "threads",
             "threads",
             flops ? "GFLOP/s" : "GB/s",
             {},
             {}};
  curve.x.push_back(b.threads);
  curve.y.push_back(flops ? r["gflop_per_s"].get<double>() : r["gb_per_s"]["median"].get<double>());
  if (r.contains("unreliable"))
    for (size_t k = first_metric; k < out.metrics.size(); ++k)
      unreliable[out.metrics[k].name] = unreliable_checks(r);
}

// The console shows times, fractions of the probe for memory-bound operations and the simd
// tables' errors (everything else is in the results file).
void add_summary_columns(const EncoderOutcome& out, std::vector<std::string>& columns) {
  for (const Metric& m : out.metrics) {
    const bool shown =
        m.name.ends_with("_median_ms") ||
        (m.name.ends_with("_fraction_of_probe") && !m.name.starts_with("table")) ||
        (m.name.ends_with("_max_abs_error") && m.name.find("_simd_") != std::string::npos);
    if (shown && std::find(columns.begin(), columns.end(), m.name) == columns.end())
      columns.push_back(m.name);
  }
}

EncoderOutcome outcome(const Config& c, const EncoderInstance& enc, int e,
                       const std::vector<Bench>& benches, const Recorder& recorder) {
  EncoderOutcome out;
  out.label = enc.label;
  json records = json::array();
  std::vector<std::string> errors;
  std::map<std::string, Curve> curves;
  json unreliable = json::object();
  for (const Bench& b : benches) {
    if (b.encoder != e) continue;
    const json r = recorder.record(b);
    records.push_back(r);
    if (!b.error.empty())
      errors.push_back(b.name + ": " + b.error);
    else
      add_figures(c, b, r, out, curves, unreliable);
  }
  for (auto& [name, curve] : curves) out.curves.push_back(curve);
  const auto na = not_applicable(c, enc.family);
  out.extra = {{"benchmarks", records}, {"not_applicable", na}};
  if (!unreliable.empty()) out.extra["unreliable_metrics"] = unreliable;
  if (records.empty()) {
    out.status = Status::not_applicable;
    out.note = "none of the operations " + show(json(c.operations)) + " applies to a " +
               std::string(to_string(enc.family)) + " scheme with dtype " + to_string(c.dtype);
    for (size_t k = 0; k < na.size(); ++k) out.note += (k == 0 ? ": " : "; ") + na[k];
  } else if (!errors.empty()) {
    out.status = Status::unsupported;
    out.note = errors.front() +
               (errors.size() > 1 ? fmt::format(" (and {} more)", errors.size() - 1) : "");
  }
  return out;
}

json machine(const RunFacts& facts) {
  const auto avail = xsimd::available_architectures();
  json m = facts.session.cpu;
  m["simd_isa_dispatched"] = facts.isa;
  m["xsimd_available"] = {{"sse2", bool(avail.sse2)},
                          {"sse4_2", bool(avail.sse4_2)},
                          {"avx", bool(avail.avx)},
                          {"avx2", bool(avail.avx2)},
                          {"fma3_avx2", bool(avail.fma3_avx2)},
                          {"avx512f", bool(avail.avx512f)},
                          {"avx512bw", bool(avail.avx512bw)}};
  m["hardware_threads"] = std::thread::hardware_concurrency();
  m["omp_num_procs"] = omp_get_num_procs();
  m["transparent_hugepage"] = kernels::transparent_hugepage_mode();
  return m;
}

// How the figures were made, as facts; what they mean is told once, in results/README.md#speed.
json methods(const Config& c) {
  return {
      {"see", "results/README.md#speed"},
      {"timing",
       {{"clock", "real (wall) time per iteration"},
        {"min_time_s", c.min_time},
        {"repetitions", c.repetitions},
        {"rounds", "one Google Benchmark session per round per group, each benchmark once"},
        {"order_in_round", "random (std::random_device: not reproducible)"},
        {"iteration_count", "found for min_time in round 1, run as found in later rounds"}}},
      {"probes",
       {{"dtype", "float32"},
        {"kinds", {"inplace", "copy", "fill"}},
        {"inplace", "a = s - a"},
        {"vector_width", "widest SIMD dispatched"},
        {"openmp_chunk_bytes", kernels::kElementsPerTask * int64_t(sizeof(float))},
        {"prefetch_ahead_bytes", 8192},  // kRotatePrefetchBytes, like the memory-bound kernels
        {"prefetch", {"inplace", "copy"}}}},
      {"buffers",
       {{"allocated", "once per group of benchmarks sharing data"},
        {"pre_faulted", true},
        {"allocated_in_timing_loop", false},
        {"madv_hugepage", c.huge_pages}}},
      {"sin_cos",
       {{"simd",
         "float64 angle p * inv_freq reduced to [-pi, pi] in float64 (2 pi = hi + lo), "
         "then xsimd::sincos in the dtype"},
        {"reference", "std::sin / std::cos (float64 libm) of the float64 angle"}}},
      {"threads",
       {{"openmp_num_threads", "exactly t"}, {"omp_dynamic", false}, {"eigen_gemm_threads", 1}}},
      {"in_place", {{"alternates_with_inverse", true}}},
      {"inputs",
       {{"block", 65537},
        {"distribution", "uniform(-1, 1)"},
        {"rng", "posbench::Rng"},
        {"tiled", true}}},
      {"fraction_of_probe",
       {{"probe_kind", {{"apply", "inplace"}, {"materialize_bias", "fill"}, {"table", "fill"}}},
        {"pairing", "each repetition with the probe repetition nearest in time"},
        {"headline", "median of the time-paired ratios"},
        {"of_medians", "ratio of the medians"},
        {"fixed", "reference probe at probe_mib, ratio of the medians"}}},
  };
}

json sample_json(const LoadSample& from, const LoadSample& to) {
  const double others = other_cores(from, to);
  return {{"seconds", to.wall_s - from.wall_s},
          {"loadavg_1min", std::isfinite(from.loadavg_1min) ? json(from.loadavg_1min) : json()},
          {"other_cores", std::isfinite(others) ? json(others) : json()},
          {"procs_running", from.procs_running}};
}

// extra.reliability, and the console's warning (summary title) and table of marked records per
// scheme: a person reading the summary sees at once that figures are marked, and why.
void add_reliability(const Config& c, const std::vector<EncoderInstance>& encoders,
                     const RunFacts& facts, ExperimentResult& result) {
  std::vector<std::string> rows;
  std::vector<json> lists;
  for (size_t e = 0; e < encoders.size(); ++e) {
    rows.push_back(encoders[e].label);
    lists.push_back(result.outcomes[e].extra["benchmarks"]);
  }
  rows.push_back("(probes)");
  lists.push_back(result.extra["probes"]);
  rows.push_back("(attention without scheme)");
  lists.push_back(result.extra["attention_baseline"]);

  std::vector<std::string> checks;
  std::map<std::string, std::string> example;
  std::vector<std::map<std::string, int>> per_row(rows.size());
  std::vector<int> marked(rows.size(), 0), total(rows.size(), 0);
  for (size_t k = 0; k < rows.size(); ++k)
    for (const json& r : lists[k]) {
      if (r.contains("error")) continue;
      ++total[k];
      if (!r.contains("unreliable")) continue;
      ++marked[k];
      for (const json& x : r["unreliable"]["reasons"]) {
        const std::string check = x["check"];
        if (std::find(checks.begin(), checks.end(), check) == checks.end()) checks.push_back(check);
        if (!example.count(check))
          example[check] = r["name"].get<std::string>() + ": " + x["detail"].get<std::string>();
      }
      for (const json& check : unreliable_checks(r)) per_row[k][check.get<std::string>()]++;
    }
  int all_marked = 0, all = 0;
  for (size_t k = 0; k < rows.size(); ++k) all_marked += marked[k], all += total[k];

  const MachineLoad& load = facts.session.load;
  json groups = json::array();
  for (const GroupLoad& g : load.groups) groups.push_back(sample_json(g.start, g.end));
  json checks_count = json::object();
  for (const auto& check : checks) {
    int n = 0;
    for (const auto& row : per_row) n += row.count(check) ? row.at(check) : 0;
    checks_count[check] = n;
  }
  result.extra["reliability"] = {{"see", "results/README.md#speed-reliability"},
                                 {"thresholds", facts.thresholds.to_json()},
                                 {"online_cores", load.cores},
                                 {"max_threads", c.max_threads()},
                                 {"before", sample_json(load.before_start, load.before_end)},
                                 {"groups", groups},
                                 {"unreliable_records", all_marked},
                                 {"records", all},
                                 {"records_per_check", checks_count},
                                 {"wait_for_quiet", load.wait_for_quiet}};
  if (all_marked == 0) return;

  std::string names;
  for (const auto& check : checks) names += (names.empty() ? "" : ", ") + check;
  result.summary_title = fmt::format(
      "WARNING: {} of {} speed records are marked unreliable ({}); their figures and the ratios "
      "derived from them are not to be trusted (table below; extra.benchmarks[].unreliable)",
      all_marked, all, names);
  ConsoleTable table;
  table.title = "records marked unreliable, per check (a record may fail several)";
  table.columns = {"marked", "of"};
  for (const auto& check : checks) table.columns.push_back(check);
  for (size_t k = 0; k < rows.size(); ++k) {
    if (total[k] == 0) continue;
    table.rows.push_back(rows[k]);
    std::vector<double> cells = {double(marked[k]), double(total[k])};
    for (const auto& check : checks)
      cells.push_back(per_row[k].count(check) ? per_row[k].at(check) : 0);
    table.cells.push_back(cells);
  }
  for (const auto& check : checks) table.notes.push_back("e.g. " + example[check]);
  result.tables.push_back(table);
}

}  // namespace

void assess_reliability(std::vector<Bench>& benches, const MachineLoad& load, const Config& config,
                        const Thresholds& thresholds) {
  std::map<int, std::vector<Reason>> of_group;
  for (const Bench& b : benches)
    if (!b.reps.seconds.empty() && !of_group.count(b.group))
      of_group[b.group] = load_reasons(load, size_t(b.group), config.max_threads(), thresholds);
  for (const Bench& b : benches)
    if (is_probe(b.op))
      for (const Reason& x : drift_reasons(b.name, b.reps.seconds, thresholds))
        of_group[b.group].push_back(x);
  for (Bench& b : benches) {
    if (b.reps.seconds.empty()) continue;
    b.unreliable = of_group[b.group];
    for (const Reason& x : cv_reasons(b.reps.seconds, thresholds)) b.unreliable.push_back(x);
  }
}

ExperimentResult assemble(const Config& config, const std::vector<EncoderInstance>& encoders,
                          const std::vector<Bench>& benches, const RunFacts& facts) {
  const Recorder recorder(config, benches, facts.isa, facts.thresholds);
  ExperimentResult result;
  for (size_t e = 0; e < encoders.size(); ++e) {
    result.outcomes.push_back(outcome(config, encoders[e], int(e), benches, recorder));
    add_summary_columns(result.outcomes.back(), result.summary_columns);
  }
  json probes = json::array(), baseline = json::array();
  for (const Bench& b : benches)
    if (b.encoder < 0)
      (b.op == Op::attention_none ? baseline : probes).push_back(recorder.record(b));
  const std::string& gbench = facts.session.gbench_path;
  result.extra = {
      {"machine", machine(facts)},
      {"dtype", to_string(config.dtype)},
      {"threads", config.threads},
      {"probes", probes},
      {"attention_baseline", baseline},
      {"google_benchmark_json", gbench.empty() ? json(nullptr) : json(gbench)},
      {"peak_buffer_bytes", facts.session.peak_buffer_bytes},
      {"memory_bytes_estimate", facts.memory_bytes_estimate},
      {"methods", methods(config)},
  };
  add_reliability(config, encoders, facts, result);
  return result;
}

}  // namespace posbench::speed
