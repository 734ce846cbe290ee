#include "harness/experiments/speed/session.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include "harness/kernels/buffer.h"

namespace posbench::speed {
namespace {

using kernels::Buffer;
using nlohmann::json;

// Collects every repetition into the Bench records and, with `keep_json`, forwards the runs to
// Google Benchmark's JSONReporter (its own JSON, written beside the results): one reporter per
// session, merged into one document (the first session's context, every session's benchmarks).
class Collector final : public benchmark::BenchmarkReporter {
 public:
  Collector(std::vector<Bench>& benches, bool keep_json) : benches_(benches), keep_(keep_json) {
    for (size_t i = 0; i < benches.size(); ++i) index_[benches[i].name] = i;
  }
  void begin_session() {
    if (!keep_) return;
    session_text_.str("");
    json_ = std::make_unique<benchmark::JSONReporter>();
    json_->SetOutputStream(&session_text_);
    json_->SetErrorStream(&std::cerr);
  }
  void end_session() {
    if (!json_) return;
    json_.reset();
    json doc = json::parse(session_text_.str(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      gbench_["unparsed_sessions"].push_back(session_text_.str());
      return;
    }
    if (!gbench_.contains("context")) gbench_["context"] = doc["context"];
    if (!gbench_.contains("benchmarks")) gbench_["benchmarks"] = json::array();
    for (auto& r : doc["benchmarks"]) gbench_["benchmarks"].push_back(std::move(r));
  }
  const json& gbench_json() const { return gbench_; }
  bool ReportContext(const Context& context) override {
    const auto& cpu = context.cpu_info;
    cpu_ = {{"num_cpus", cpu.num_cpus},
            {"mhz_per_cpu", cpu.cycles_per_second / 1e6},
            {"cpu_scaling", cpu.scaling == benchmark::CPUInfo::ENABLED    ? "enabled"
                            : cpu.scaling == benchmark::CPUInfo::DISABLED ? "disabled"
                                                                          : "unknown"},
            {"load_avg", cpu.load_avg}};
    json caches = json::array();
    for (const auto& c : cpu.caches)
      caches.push_back(
          {{"type", c.type}, {"level", c.level}, {"size", c.size}, {"num_sharing", c.num_sharing}});
    cpu_["caches"] = caches;
    return json_ ? json_->ReportContext(context) : true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      auto it = index_.find(r.run_name.function_name);
      if (it == index_.end()) continue;
      Bench& b = benches_[it->second];
      if (r.error_occurred) {
        if (b.error.empty()) b.error = r.error_message;
        continue;
      }
      const double iterations = double(std::max<int64_t>(1, r.iterations));
      b.reps.seconds.push_back(r.real_accumulated_time / iterations);
      b.reps.cpu_seconds.push_back(r.cpu_accumulated_time / iterations);
      b.reps.iterations.push_back(r.iterations);
    }
    if (json_) json_->ReportRuns(runs);
  }
  // With --verbose (speed::verbose()), one line per benchmark of a group, once all its rounds
  // have run, with a warning if its repetitions vary too much to be trusted (the machine's load
  // is said per group, run_plan); errors always.
  void print(const std::vector<size_t>& members, const Thresholds& thresholds) const {
    auto mark = [&](const Bench& b) {
      const auto why = cv_reasons(b.reps.seconds, thresholds);
      return why.empty() ? std::string() : " (warning: unreliable: " + why.front().detail + ")";
    };
    for (size_t i : members) {
      const Bench& b = benches_[i];
      if (!b.error.empty())
        fmt::print(stderr, "speed: {}: error: {}\n", b.name, b.error);
      else if (verbose())
        fmt::print(stderr, "speed: {}: median {:.4g} ms over {}{}\n", b.name,
                   median_of(b.reps.seconds) * 1e3,
                   count_of((long long)b.reps.seconds.size(), "repetition"), mark(b));
    }
  }
  void Finalize() override {
    if (json_) json_->Finalize();
  }
  const json& cpu() const { return cpu_; }

 private:
  std::vector<Bench>& benches_;
  bool keep_;
  std::map<std::string, size_t> index_;
  std::ostringstream session_text_;
  std::unique_ptr<benchmark::JSONReporter> json_;
  json gbench_ = json::object();
  json cpu_ = json::object();
};

void initialize_google_benchmark() {
  static bool done = false;
  if (done) return;
  // Google Benchmark reads its flags from argv; posbench passes none of its own, but
  // Initialize also records the executable name its JSON reporter prints.
  // Random interleaving: see the comment at the top of this file.
  static char arg0[] = "posbench";
  static char arg1[] = "--benchmark_enable_random_interleaving=true";
  static char* argv[] = {arg0, arg1, nullptr};
  int argc = 2;
  benchmark::Initialize(&argc, argv);
  done = true;
}

// "1.99", or "unknown" for null.
std::string two_decimals(const json& v) {
  return v.is_number() ? fmt::format("{:.2f}", v.get<double>()) : "unknown";
}

double seconds_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The benchmark function of b: a warm-up call outside the timing (it also surfaces a scheme's
// errors), the timed loop with its call logged (statistics.h repetition_times), the check once.
void time_bench(benchmark::State& st, Bench& b, Workspace& workspace) {
  try {
    if (!b.warmed) {
      workspace.run(b);
      b.warmed = true;
    }
  } catch (const std::exception& ex) {
    b.error = ex.what();
    st.SkipWithError(b.error.c_str());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : st) workspace.run(b);
  const auto end = std::chrono::steady_clock::now();
  b.reps.calls.push_back({seconds_of(start), seconds_of(end), int64_t(st.iterations())});
  // (No zero counters: Google Benchmark's CV of a zero counter is NaN, which its JSON
  // reporter writes as an invalid literal.)
  if (b.bytes > 0) st.SetBytesProcessed(int64_t(double(st.iterations()) * b.bytes));
  st.SetItemsProcessed(int64_t(double(st.iterations()) * b.elements));
  st.counters["threads"] = b.threads;
  if (!b.checked) {
    b.checked = true;
    try {
      workspace.check(b);
    } catch (const std::exception& ex) {
      b.detail["check_error"] = ex.what();
    }
  }
}

// Round 0 lets Google Benchmark find the iteration count for min_time; later rounds run that
// count (no estimation calls).
void register_bench(Bench& b, Workspace& workspace, int round, double min_time) {
  auto* bench = benchmark::RegisterBenchmark(
      b.name.c_str(), [&b, &workspace](benchmark::State& st) { time_bench(st, b, workspace); });
  bench->UseRealTime()->Repetitions(1)->Unit(benchmark::kMillisecond);
  if (round == 0 || b.reps.iterations.empty())
    bench->MinTime(min_time);
  else
    bench->Iterations(b.reps.iterations.front());
}

// One group: its workspace is created before its sessions and freed after them, so only one
// group's memory is alive. Every benchmark of the group runs once per round, in a random order,
// so each repetition of an operation has its probe's within seconds.
void run_group(std::vector<Bench>& benches, const std::vector<size_t>& members,
               const std::function<std::unique_ptr<Workspace>()>& make, const Config& config,
               const Thresholds& thresholds, Collector& collector) {
  std::unique_ptr<Workspace> workspace;
  try {
    workspace = make();
  } catch (const std::exception& ex) {  // e.g. a scheme refusing the shape
    for (size_t i : members) {
      Bench& b = benches[i];
      b.error = is_probe(b.op) && !b.next_to.empty()
                    ? fmt::format("not run: the workspace of {} failed: {}", b.next_to, ex.what())
                    : ex.what();
      fmt::print(stderr, "speed: {}: error: {}\n", b.name, b.error);
    }
    return;
  }
  for (int round = 0; round < config.repetitions; ++round) {
    benchmark::ClearRegisteredBenchmarks();
    int registered = 0;
    for (size_t i : members)
      if (benches[i].error.empty()) {
        register_bench(benches[i], *workspace, round, config.min_time);
        ++registered;
      }
    if (registered == 0) break;
    collector.begin_session();
    benchmark::RunSpecifiedBenchmarks(&collector);
    collector.end_session();
  }
  benchmark::ClearRegisteredBenchmarks();
  collector.print(members, thresholds);
}

}  // namespace

SessionResult run_plan(Plan& plan, const WorkspaceFactory& make, const Config& config,
                       const std::string& artifact_prefix, LoadSource& load_source,
                       const Thresholds& thresholds, double wait_s) {
  initialize_google_benchmark();
  benchmark::ClearRegisteredBenchmarks();
  const int saved_dynamic = omp_get_dynamic();
  omp_set_dynamic(0);  // OpenMP must give exactly the threads asked for
  Buffer::reset_peak();
  const uint64_t live_before = Buffer::live_bytes();

  SessionResult out;
  MachineLoad& load = out.load;
  load.cores = load_source.online_cores();
  load.groups.resize(plan.groups.size());
  if (wait_s > 0) {
    fmt::print(stderr,
               "speed: waiting up to {} s for a quiet machine (1-min load average below {:.2f}, "
               "other processes below {:.2f} cores)\n",
               wait_s, thresholds.quiet_load_per_core * load.cores,
               thresholds.other_cpu_fraction * load.cores);
    load.wait_for_quiet = wait_for_quiet(load_source, wait_s, thresholds);
    const json& w = load.wait_for_quiet;
    if (w["quiet"].get<bool>())
      fmt::print(stderr, "speed: quiet after {:.1f} s\n", w["waited_s"].get<double>());
    else
      fmt::print(stderr,
                 "speed: warning: still busy after {:.1f} s (1-min load average {}, other "
                 "processes {} cores); going on, and busy figures will be marked unreliable\n",
                 w["waited_s"].get<double>(), two_decimals(w["loadavg_1min"]),
                 two_decimals(w["other_cores"]));
  }
  load.before_start = load_source.sample();
  load_source.sleep(thresholds.before_window_s);
  load.before_end = load_source.sample();
  for (const Reason& why : load_reasons(load, plan.groups.size(), config.max_threads(), thresholds))
    fmt::print(stderr, "speed: warning: the machine is busy: {}\n", why.detail);

  Collector collector(plan.benches, !artifact_prefix.empty());
  bool announced = false;
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    std::vector<size_t> members;
    for (size_t i = 0; i < plan.benches.size(); ++i)
      if (plan.benches[i].group == int(g)) members.push_back(i);
    if (members.empty()) continue;
    load.groups[g].start = load_source.sample();
    run_group(
        plan.benches, members, [&] { return make(plan.groups[g]); }, config, thresholds, collector);
    load.groups[g].end = load_source.sample();
    // Said at once, so a person watching can stop a run on a busy machine (the first busy
    // group only: the summary counts them all).
    for (const Reason& why : load_reasons(load, g, config.max_threads(), thresholds))
      if (why.check == "other_cpu" && !announced) {
        announced = true;
        fmt::print(stderr,
                   "speed: warning: {} and its group are marked unreliable: {} (later busy "
                   "groups are not announced; the summary counts them)\n",
                   plan.benches[members.front()].name, why.detail);
      }
  }
  if (!artifact_prefix.empty()) {
    out.gbench_path = artifact_prefix + ".gbench.json";
    out.gbench_json = collector.gbench_json().dump(2) + "\n";
  }
  benchmark::ClearRegisteredBenchmarks();
  omp_set_dynamic(saved_dynamic);
  out.peak_buffer_bytes = Buffer::peak_bytes() - live_before;
  out.cpu = collector.cpu();
  return out;
}

}  // namespace posbench::speed
