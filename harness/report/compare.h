#pragma once
// `posbench compare`: two results files side by side (compare_results), one results file's
// sweep as a table (by_label_tables), and the check that two runs agree in everything but
// timings and provenance (exact_differences). Each returns a JSON document (the structure of
// `compare --json`, documented in harness/cli/README.md) that render_* turn into text. Inputs
// are checked results documents: a malformed one is a UserError naming the file and the JSON
// path (exit 2).
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace posbench {

// Which clock a benchmark's repetitions are compared on: `cpu_time_s.all` (CPU seconds of the
// timing thread) or `time_s.all` (wall). automatic: CPU time for 1-thread benchmarks when both
// files have it (results schema 7), else wall time (with more threads the timing thread's CPU
// time leaves out the other threads' work).
enum class TimeBasis { automatic, wall, cpu };

// The default noise floor of a speed change, in percent: five runs of one config on the shared
// 2-core machine this was written on (load average 8-10) differed by up to 41% in median CPU
// time (a memory-bound probe; 9% for rope's compute-bound table) and 50% in median wall time,
// without any change of code (harness/cli/README.md#posbench-compare: the measurement).
inline constexpr double kDefaultNoisePct = 50;

struct CompareOptions {
  double alpha = 0.05;  // significance level of the Mann-Whitney U test
  // A speed change is significant only when the U test's p < alpha AND the medians differ by
  // more than this many percent: the U test treats repetitions as independent draws, but
  // repetitions of one process share its machine state (neighbours, frequency, placement), so
  // two runs of unchanged code differ by real-but-irrelevant amounts the U test calls
  // significant. google/benchmark's compare.py likewise reports the U test beside the change.
  double noise_pct = kDefaultNoisePct;
  TimeBasis time = TimeBasis::automatic;
  // A non-timing metric differs when |B - A| > atol + rtol |A| (numpy.isclose's rule).
  double rtol = 1e-6, atol = 1e-12;
  // Exit 1 when a scheme's benchmark is significantly slower by more than this many percent.
  std::optional<double> fail_on_regression_pct;
  // Implementation of A -> implementation of B it is compared with (`--map simd=reference`).
  std::map<std::string, std::string> implementation_map;
};

// A results file read and checked enough for compare (UserError otherwise). `name` is how
// messages call it (the path given).
struct ResultsInput {
  std::string name;
  nlohmann::json doc;
};
ResultsInput read_results(const std::string& file);

// The comparison of A and B (see harness/cli/README.md for the fields); "fail" is true when
// --fail-on-regression's threshold is crossed.
nlohmann::json compare_results(const ResultsInput& a, const ResultsInput& b,
                               const CompareOptions& options);
std::string render_comparison(const nlohmann::json& comparison);

// Per experiment of one file: rows = encoder labels, columns = the params that differ between
// the rows (nested ones as "scaling.factor"), then every metric.
nlohmann::json by_label_tables(const ResultsInput& results);
std::string render_by_label(const nlohmann::json& tables);

// Every value of A and B that differs, other than timings and provenance (is_timing_or_provenance,
// harness/run/timing_fields.h):
// {"identical": bool, "ignored": [...], "differences": [{"path", "a", "b"}]} (paths like
// "experiments[0].encoders[1].metrics.max_relative_residual.value"; "<absent>" for a missing
// value).
nlohmann::json exact_differences(const ResultsInput& a, const ResultsInput& b);
std::string render_exact(const nlohmann::json& differences, const std::string& a_name,
                         const std::string& b_name);

// A speed experiment's metric computed from timings (not its simd tables' errors).
bool is_timing_metric(const std::string& experiment_type, const std::string& metric_name);

}  // namespace posbench
