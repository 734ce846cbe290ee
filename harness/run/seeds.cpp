#include "harness/run/seeds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace posbench {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void finish(SeedStatistic& s) {
  std::vector<double> finite;
  for (double v : s.values)
    if (std::isfinite(v)) finite.push_back(v);
  s.n = finite.size();
  if (finite.empty()) {
    s.mean = s.std = s.min = s.max = kNaN;
    return;
  }
  double sum = 0;
  for (double v : finite) sum += v;
  s.mean = sum / double(finite.size());
  double ss = 0;
  for (double v : finite) ss += (v - s.mean) * (v - s.mean);
  s.std = finite.size() > 1 ? std::sqrt(ss / double(finite.size() - 1)) : kNaN;
  s.min = *std::min_element(finite.begin(), finite.end());
  s.max = *std::max_element(finite.begin(), finite.end());
}

}  // namespace

std::vector<SeedSummary> seed_summaries(const Plan& plan,
                                        const std::vector<const ExperimentResult*>& results,
                                        const std::vector<std::string>& hosts) {
  std::vector<SeedSummary> out;
  // (entry, point, host) -> summary
  std::map<std::tuple<size_t, std::string, std::string>, size_t> group;
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    if (!e.seeded) continue;
    const std::string host = i < hosts.size() ? hosts[i] : "";
    const auto key = std::make_tuple(e.entry, e.point, host);
    auto it = group.find(key);
    if (it == group.end()) {
      it = group.emplace(key, out.size()).first;
      SeedSummary fresh;
      fresh.type = e.type;
      fresh.path = e.path;
      fresh.point = e.point;
      fresh.host = host;
      out.push_back(std::move(fresh));
    }
    out[it->second].seeds.push_back(e.seed);
    out[it->second].experiments.push_back(i);
  }
  for (SeedSummary& s : out) {
    const size_t n = s.experiments.size();
    const PlannedExperiment& first = plan.experiments[s.experiments[0]];
    for (size_t k = 0; k < first.encoders.size(); ++k) {
      SeedEncoderSummary enc{first.encoders[k].label, {}};
      std::map<std::string, size_t> metric;
      for (size_t j = 0; j < n; ++j) {
        const ExperimentResult& r = *results[s.experiments[j]];
        if (k >= r.outcomes.size()) continue;
        for (const Metric& m : r.outcomes[k].metrics) {
          auto mt = metric.find(m.name);
          if (mt == metric.end()) {
            mt = metric.emplace(m.name, enc.metrics.size()).first;
            enc.metrics.push_back({m.name, m.unit, m.at, std::vector<double>(n, kNaN)});
          }
          enc.metrics[mt->second].values[j] = m.value;
        }
      }
      for (auto& st : enc.metrics) finish(st);
      s.encoders.push_back(std::move(enc));
    }
  }
  return out;
}

}  // namespace posbench
