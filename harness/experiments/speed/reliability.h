#pragma once
// When the speed figures cannot be trusted: a busy or drifting machine, noisy repetitions, or a
// ratio outside what is physically plausible (results/README.md#speed-reliability says what each
// check means and its threshold).
//
// The machine's load is read through LoadSource, so tests feed made-up samples (the checks and
// the wait are plain functions of them, no timing); system_load_source() reads /proc. Why not
// the load average alone: it is a 1-minute moving average (it lags a busy loop started 10 s ago
// by ~85%) and it counts this process's own benchmark threads. So the headline check is the CPU
// time other processes used over a window: the machine's non-idle time from /proc/stat minus
// this process's own CPU time (getrusage), which is exact and does not lag.
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace posbench::speed {

// One reading of the machine's load.
struct LoadSample {
  double wall_s = 0;          // steady clock, seconds
  double loadavg_1min = NAN;  // /proc/loadavg, first field
  double busy_cpu_s = NAN;    // every CPU's non-idle time since boot, seconds (/proc/stat "cpu":
                              // user + nice + system + irq + softirq + steal)
  double own_cpu_s = 0;       // this process's CPU time, all threads, seconds
  int procs_running = -1;     // /proc/stat: runnable threads right now (ours included)
};

class LoadSource {
 public:
  virtual ~LoadSource() = default;
  virtual LoadSample sample() = 0;
  virtual int online_cores() const = 0;
  virtual void sleep(double seconds) = 0;  // waiting for quiet, and the "before" window
};

// Reads /proc/loadavg, /proc/stat, getrusage and sysconf(_SC_NPROCESSORS_ONLN).
std::unique_ptr<LoadSource> system_load_source();

// Parsers of the /proc files (NaN / -1 for what cannot be read), exposed for tests.
double parse_loadavg_1min(const std::string& proc_loadavg);
// Non-idle seconds of the aggregate "cpu" line (ticks / ticks_per_s) and procs_running.
void parse_proc_stat(const std::string& proc_stat, double ticks_per_s, double& busy_cpu_s,
                     int& procs_running);

// Every threshold of the checks, in one place (results/README.md#speed-reliability).
struct Thresholds {
  // Load average above online cores + the experiment's most threads (its own threads count in
  // the average, and lag: they are not subtracted).
  double load_extra_per_core = 0.0;
  // CPU other processes used over a window, as a fraction of all cores' time.
  double other_cpu_fraction = 0.25;
  double min_window_s = 1.0;      // a group's window reaches back to at least this long
  double before_window_s = 0.25;  // sampled before the first group
  double probe_drift = 0.30;      // |GB/s at the end of a group / at its start - 1|
  double max_cv = 0.25;           // coefficient of variation of a benchmark's repetitions
  double max_fraction_of_probe = 1.5;
  double min_share = -0.1, max_share = 1.0;  // scheme_share_of_attention
  double min_speedup = 0.1;                  // any speedup below: 10x slower
  double max_speedup = 100;                  // speedup_vs_reference, _vs_materialized
  double thread_speedup_slack = 1.5;         // speedup_vs_T_threads above 1.5 * t / T
  // --wait-for-quiet: quiet when the 1-min load average is below this fraction of the cores and
  // other processes' CPU over the last poll is below other_cpu_fraction.
  double quiet_load_per_core = 0.5;
  double quiet_poll_s = 1.0;
  nlohmann::json to_json() const;
};

// One reason a figure is not to be trusted: {"check", "detail", and "figure" if it concerns one
// derived figure of a record rather than the whole record}.
struct Reason {
  std::string check;   // load_average, other_cpu, probe_drift, repetition_cv,
                       // implausible_ratio, derived_from_unreliable
  std::string detail;  // one line for a person
  std::string figure;  // e.g. "speedup_vs_1_thread"; "" for the whole record
  nlohmann::json to_json() const;
};

// Other processes' CPU use between two samples, in cores (NaN if unknown or no time passed).
double other_cores(const LoadSample& from, const LoadSample& to);

// The load facts of the whole experiment: a sample before the first group (after a window of
// before_window_s) and one at the start and at the end of every group.
struct GroupLoad {
  LoadSample start, end;
};
struct MachineLoad {
  int cores = 0;
  LoadSample before_start, before_end;
  std::vector<GroupLoad> groups;  // indexed like Plan::groups (unrun groups: both samples 0)
  nlohmann::json wait_for_quiet;  // what --wait-for-quiet did (null if not asked)
};

// Reasons from the machine's load that apply to every figure of group g: the load average before
// the experiment or at the group's start above cores + max_threads; other processes' CPU over the
// window ending at the group's end (reaching back to min_window_s, into earlier groups and the
// before window) above other_cpu_fraction of the cores. g >= load.groups.size(): the load
// average and other processes' CPU before the experiment (the before window) only.
std::vector<Reason> load_reasons(const MachineLoad& load, size_t g, int max_threads,
                                 const Thresholds& t);

// Probe drift within a group: the probe's GB/s in its first and last repetition (bytes /
// seconds, repetitions in time order). A reason if they differ by more than probe_drift.
std::vector<Reason> drift_reasons(const std::string& probe_name, const std::vector<double>& seconds,
                                  const Thresholds& t);

// A reason if the coefficient of variation of the repetitions exceeds max_cv.
std::vector<Reason> cv_reasons(const std::vector<double>& seconds, const Thresholds& t);

// A reason if a derived ratio is outside its plausible range. `figure` is the record's key
// ("fraction_of_probe", "scheme_share_of_attention", "speedup_vs_reference",
// "speedup_vs_materialized", "speedup_vs_<T>_thread[s]"); for thread speedups, `threads` and
// `base_threads` give the ideal t / T.
std::vector<Reason> ratio_reasons(const std::string& figure, double value, const Thresholds& t,
                                  int threads = 1, int base_threads = 1);

// --wait-for-quiet: polls every quiet_poll_s until the machine is quiet (see Thresholds) or
// `seconds` have passed; never throws. Returns what it saw: {"asked_s", "waited_s", "quiet",
// "loadavg_1min", "other_cores", "threshold_loadavg_1min", "threshold_other_cores"}.
nlohmann::json wait_for_quiet(LoadSource& source, double seconds, const Thresholds& t);

// `posbench run --wait-for-quiet SECONDS`: how long a speed experiment waits for a quiet machine
// before it starts (0: it does not wait). A process-wide setting the CLI makes, because it belongs
// to the run, not to the config (results do not depend on it, only their marks), and
// RunContext is the plugin interface (a field there would change kInterfaceVersion).
void set_wait_for_quiet_seconds(double seconds);
double wait_for_quiet_seconds();

// `posbench run --verbose`: one stderr line per benchmark (its median and repetitions) as each
// group ends. Off by default: warnings (a busy machine, noisy repetitions summarised in the
// results) and errors are printed either way. Process-wide for the same reason as above.
void set_verbose(bool verbose);
bool verbose();

}  // namespace posbench::speed
