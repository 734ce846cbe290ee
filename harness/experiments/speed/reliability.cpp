#include "harness/experiments/speed/reliability.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/experiments/speed/statistics.h"

namespace posbench::speed {

using nlohmann::json;

namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_of(const timeval& t) { return double(t.tv_sec) + 1e-6 * double(t.tv_usec); }

class ProcLoadSource final : public LoadSource {
 public:
  LoadSample sample() override {
    LoadSample s;
    s.wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    s.loadavg_1min = parse_loadavg_1min(read_text("/proc/loadavg"));
    parse_proc_stat(read_text("/proc/stat"), double(sysconf(_SC_CLK_TCK)), s.busy_cpu_s,
                    s.procs_running);
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) == 0)
      s.own_cpu_s = seconds_of(u.ru_utime) + seconds_of(u.ru_stime);
    return s;
  }
  int online_cores() const override {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
  }
  void sleep(double seconds) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  }
};

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

std::unique_ptr<LoadSource> system_load_source() { return std::make_unique<ProcLoadSource>(); }

double parse_loadavg_1min(const std::string& text) {
  std::istringstream in(text);
  double v = NAN;
  if (!(in >> v)) return NAN;
  return v;
}

void parse_proc_stat(const std::string& text, double ticks_per_s, double& busy_cpu_s,
                     int& procs_running) {
  busy_cpu_s = NAN;
  procs_running = -1;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "cpu") {
      // user nice system idle iowait irq softirq steal [guest guest_nice: already in user, nice]
      double v[8] = {};
      int n = 0;
      while (n < 8 && fields >> v[n]) ++n;
      if (n >= 4 && ticks_per_s > 0)
        busy_cpu_s = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / ticks_per_s;
    } else if (key == "procs_running") {
      int r = -1;
      if (fields >> r) procs_running = r;
    }
  }
}

json Thresholds::to_json() const {
  return {{"load_average", "1-min load average > online cores + the experiment's most threads"},
          {"other_cpu_fraction_of_cores", other_cpu_fraction},
          {"other_cpu_min_window_s", min_window_s},
          {"before_window_s", before_window_s},
          {"probe_drift", probe_drift},
          {"repetition_cv", max_cv},
          {"fraction_of_probe_max", max_fraction_of_probe},
          {"scheme_share_of_attention", {min_share, max_share}},
          {"speedup_min", min_speedup},
          {"speedup_vs_reference_or_materialized_max", max_speedup},
          {"thread_speedup_max", fmt::format("{} * t / T", thread_speedup_slack)},
          {"quiet_loadavg_per_core", quiet_load_per_core},
          {"quiet_poll_s", quiet_poll_s}};
}

json Reason::to_json() const {
  json j = {{"check", check}, {"detail", detail}};
  if (!figure.empty()) j["figure"] = figure;
  return j;
}

double other_cores(const LoadSample& from, const LoadSample& to) {
  const double wall = to.wall_s - from.wall_s;
  if (!(wall > 0) || !std::isfinite(from.busy_cpu_s) || !std::isfinite(to.busy_cpu_s)) return NAN;
  const double others = (to.busy_cpu_s - from.busy_cpu_s) - (to.own_cpu_s - from.own_cpu_s);
  return std::max(0.0, others) / wall;
}

std::vector<Reason> load_reasons(const MachineLoad& load, size_t g, int max_threads,
                                 const Thresholds& t) {
  std::vector<Reason> out;
  const double limit = load.cores * (1 + t.load_extra_per_core) + max_threads;
  auto check_avg = [&](double avg, const char* when) {
    if (std::isfinite(avg) && avg > limit)
      out.push_back({"load_average",
                     fmt::format("1-min load average {:.2f} {} > {} online cores + {} threads of "
                                 "this experiment",
                                 avg, when, load.cores, max_threads),
                     ""});
  };
  check_avg(load.before_end.loadavg_1min, "before the experiment");
  if (g < load.groups.size()) check_avg(load.groups[g].start.loadavg_1min, "at the group's start");

  // Other processes' CPU over a window ending at the group's end, at least min_window_s long.
  // g past the groups: the before window alone.
  const bool before = g >= load.groups.size();
  const LoadSample& end = before ? load.before_end : load.groups[g].end;
  const LoadSample* from = before ? &load.before_start : &load.groups[g].start;
  for (size_t k = g; !before && end.wall_s - from->wall_s < t.min_window_s;) {
    if (k == 0) {
      from = &load.before_start;
      break;
    }
    --k;
    if (load.groups[k].start.wall_s > 0) from = &load.groups[k].start;  // 0: a group not run
  }
  const double others = other_cores(*from, end);
  const double limit_cores = t.other_cpu_fraction * load.cores;
  if (std::isfinite(others) && others > limit_cores)
    out.push_back({"other_cpu",
                   fmt::format("other processes used {:.2f} of {} cores over the {:.2f} s up to "
                               "{} (limit {:.2f})",
                               others, load.cores, end.wall_s - from->wall_s,
                               before ? "the first group" : "the group's end", limit_cores),
                   ""});
  return out;
}

std::vector<Reason> drift_reasons(const std::string& probe_name, const std::vector<double>& seconds,
                                  const Thresholds& t) {
  if (seconds.size() < 2 || !(seconds.front() > 0) || !(seconds.back() > 0)) return {};
  // GB/s ratio of the last repetition to the first (same bytes): first / last seconds.
  const double ratio = seconds.front() / seconds.back();
  if (std::abs(ratio - 1) <= t.probe_drift) return {};
  return {{"probe_drift",
           fmt::format("bandwidth probe {} drifted to {:.2f}x its first repetition's GB/s by the "
                       "group's last (limit +-{:.0f}%)",
                       probe_name, ratio, t.probe_drift * 100),
           ""}};
}

std::vector<Reason> cv_reasons(const std::vector<double>& seconds, const Thresholds& t) {
  const double cv = stats_of(seconds).cv;
  if (!(cv > t.max_cv)) return {};
  return {{"repetition_cv",
           fmt::format("coefficient of variation of the {} repetitions {:.2f} > {}", seconds.size(),
                       cv, t.max_cv),
           ""}};
}

std::vector<Reason> ratio_reasons(const std::string& figure, double v, const Thresholds& t,
                                  int threads, int base_threads) {
  double lo = t.min_speedup, hi = t.max_speedup;
  if (figure == "fraction_of_probe") {
    lo = 0;
    hi = t.max_fraction_of_probe;
  } else if (figure == "scheme_share_of_attention") {
    lo = t.min_share;
    hi = t.max_share;
  } else if (figure.starts_with("speedup_vs_") && figure.find("_thread") != std::string::npos) {
    hi = t.thread_speedup_slack * double(threads) / double(std::max(1, base_threads));
  }
  const bool ok = figure == "fraction_of_probe" ? (v > lo && v <= hi) : (v >= lo && v <= hi);
  if (ok) return {};
  return {{"implausible_ratio",
           fmt::format("{} = {:.4g} is outside its plausible range [{:.4g}, {:.4g}]", figure, v, lo,
                       hi),
           figure}};
}

namespace {
double g_wait_for_quiet_s = 0;
bool g_verbose = false;
}  // namespace

void set_wait_for_quiet_seconds(double seconds) { g_wait_for_quiet_s = seconds; }
double wait_for_quiet_seconds() { return g_wait_for_quiet_s; }

void set_verbose(bool verbose) { g_verbose = verbose; }
bool verbose() { return g_verbose; }

json wait_for_quiet(LoadSource& source, double seconds, const Thresholds& t) {
  const int cores = source.online_cores();
  const double max_avg = t.quiet_load_per_core * cores;
  const double max_others = t.other_cpu_fraction * cores;
  LoadSample first = source.sample(), prev = first, now = first;
  double others = NAN;
  bool quiet = false;
  for (;;) {
    source.sleep(std::min(t.quiet_poll_s, std::max(0.0, seconds - (now.wall_s - first.wall_s))));
    prev = now;
    now = source.sample();
    others = other_cores(prev, now);
    quiet = std::isfinite(now.loadavg_1min) && now.loadavg_1min < max_avg && !(others > max_others);
    if (quiet || now.wall_s - first.wall_s >= seconds) break;
  }
  return {{"asked_s", seconds},
          {"waited_s", now.wall_s - first.wall_s},
          {"quiet", quiet},
          {"loadavg_1min", num(now.loadavg_1min)},
          {"other_cores", num(others)},
          {"threshold_loadavg_1min", max_avg},
          {"threshold_other_cores", max_others}};
}

}  // namespace posbench::speed
