#pragma once
// Statistics of the speed experiment: summaries of repetitions, when each reported repetition
// ran (pairing Google Benchmark's reported repetitions with the logged calls of the benchmark
// function), and the fraction of the bandwidth probe formed from them (results/README.md#speed
// says what the figures mean). Plain functions of plain vectors, so tests can call them on
// crafted timelines and on the values a results file holds.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace posbench::speed {

struct Stats {
  double median = NAN, mean = NAN, stddev = NAN, cv = NAN;
  // {median, mean, stddev, cv, all}; non-finite values are written as null.
  nlohmann::json to_json(const std::vector<double>& all) const;
};

// NaN everything for no values; stddev is the sample one (n - 1), 0 for one value.
Stats stats_of(std::vector<double> v);
double median_of(const std::vector<double>& v);

// One call of a benchmark function: its timed loop ran between start and end (seconds on the
// steady clock) for `iterations` iterations.
struct Call {
  double start = 0, end = 0;
  int64_t iterations = 0;
};

// What Google Benchmark reported for one benchmark, per repetition in order, and every call of
// its function in time order (it also calls it while it estimates the iteration count).
struct Repetitions {
  std::vector<double> seconds;  // seconds per iteration (wall clock)
  // CPU seconds per iteration of the thread that ran the timed loop (Google Benchmark's
  // cpu_time): unlike the wall clock it does not count time the thread waited for a core, which
  // on a shared machine is most of the run-to-run variation (`compare` tests 1-thread
  // benchmarks on it).
  std::vector<double> cpu_seconds;
  std::vector<int64_t> iterations;  // iterations
  std::vector<Call> calls;
};

// When each reported repetition ran: the mid-time of the call that produced it, or NaN for all
// of them if the calls cannot be told apart. A benchmark runs once per round (speed.cpp). In
// round 1 Google Benchmark 1.7 estimates the iteration count for min_time with strictly growing
// trial counts and reports the last trial; later rounds run that count in one call. So the calls
// with a reported iteration count are the repetitions, one for one, in order; anything else
// (another number of such calls, a call shorter than the time reported for it, although its
// interval wraps the timed loop on the same steady clock) means that assumption failed, and no
// repetition gets a time.
std::vector<double> repetition_times(const Repetitions& r);

// Index of the time in `at` nearest to t (the first of equally near ones); `at` is not empty.
size_t nearest_in_time(const std::vector<double>& at, double t);

// One side of a bandwidth comparison: bytes per iteration, seconds per iteration of each
// repetition and when each ran (repetition_times).
struct Timed {
  double bytes = 0;
  std::vector<double> seconds;
  std::vector<double> at;
};

// The operation's bandwidth as a fraction of its probe's, paired in time: for every repetition
// of the operation, its GB/s over the GB/s of the probe's repetition nearest in time
// (nearest_in_time). Why: a neighbouring pair cancels the drift of a shared machine's bandwidth
// over seconds, which the ratio of two medians does not. Empty if any repetition of either lacks
// its time (or either has none).
std::vector<double> paired_fractions(const Timed& op, const Timed& probe);

// The ratio of the two medians' GB/s (times are not needed).
double fraction_of_medians(const Timed& op, const Timed& probe);

}  // namespace posbench::speed
