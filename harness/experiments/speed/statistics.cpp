#include "harness/experiments/speed/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace posbench::speed {

using nlohmann::json;

json Stats::to_json(const std::vector<double>& all) const {
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  return {{"median", num(median)},
          {"mean", num(mean)},
          {"stddev", num(stddev)},
          {"cv", num(cv)},
          {"all", all}};
}

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(n);
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = n > 1 ? std::sqrt(ss / double(n - 1)) : 0.0;
  s.cv = s.mean != 0 ? s.stddev / s.mean : NAN;
  return s;
}

double median_of(const std::vector<double>& v) { return stats_of(v).median; }

std::vector<double> repetition_times(const Repetitions& r) {
  const std::vector<double> unknown(r.seconds.size(), NAN);
  std::vector<const Call*> calls;
  for (const Call& c : r.calls)
    if (std::find(r.iterations.begin(), r.iterations.end(), c.iterations) != r.iterations.end())
      calls.push_back(&c);
  if (calls.size() != r.seconds.size() || r.iterations.size() != r.seconds.size()) return unknown;
  for (size_t j = 0; j < calls.size(); ++j) {
    const double reported = r.seconds[j] * double(r.iterations[j]);
    if (calls[j]->iterations != r.iterations[j] ||
        calls[j]->end - calls[j]->start < reported * (1 - 1e-9) - 1e-6)
      return unknown;
  }
  std::vector<double> out(calls.size());
  for (size_t j = 0; j < calls.size(); ++j) out[j] = 0.5 * (calls[j]->start + calls[j]->end);
  return out;
}

size_t nearest_in_time(const std::vector<double>& at, double t) {
  size_t best = 0;
  for (size_t k = 1; k < at.size(); ++k)
    if (std::abs(at[k] - t) < std::abs(at[best] - t)) best = k;
  return best;
}

std::vector<double> paired_fractions(const Timed& op, const Timed& probe) {
  auto known = [](const Timed& x) {
    return !x.at.empty() && x.at.size() == x.seconds.size() &&
           std::all_of(x.at.begin(), x.at.end(), [](double t) { return std::isfinite(t); });
  };
  if (!known(op) || !known(probe)) return {};
  std::vector<double> out;
  for (size_t j = 0; j < op.at.size(); ++j) {
    const size_t k = nearest_in_time(probe.at, op.at[j]);
    out.push_back((op.bytes / op.seconds[j]) / (probe.bytes / probe.seconds[k]));
  }
  return out;
}

double fraction_of_medians(const Timed& op, const Timed& probe) {
  const double op_gbs = op.bytes / median_of(op.seconds) / 1e9;
  const double probe_gbs = probe.bytes / median_of(probe.seconds) / 1e9;
  return op_gbs / probe_gbs;
}

}  // namespace posbench::speed
