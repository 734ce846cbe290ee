#include "harness/run/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "encoders/checked_size.h"
#include "harness/run/runner.h"

namespace posbench {

using nlohmann::json;

std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

std::string config_hash(const Plan& plan) {
  return fnv1a_hex(json{{"given", plan.given}, {"resolved", plan.resolved}}.dump());
}

namespace {

// The content a unit's id is derived from: where its experiment instance sits, and every value
// its run depends on.
json unit_content(const Plan& plan, size_t i, const std::vector<size_t>& encoders) {
  const PlannedExperiment& e = plan.experiments[i];
  json encs = json::array();
  for (size_t k : encoders) {
    const EncoderInstance& enc = e.encoders[k];
    json one = {
        {"name", enc.name}, {"label", enc.label}, {"version", enc.version}, {"params", enc.params}};
    if (enc.reference)
      one["reference"] = {{"name", enc.reference->encoder.name},
                          {"version", enc.reference->encoder.version},
                          {"params", enc.reference->encoder.params},
                          {"length", enc.reference->length}};
    encs.push_back(one);
  }
  return {{"path", e.path}, {"point", e.point},   {"seed", e.seeded ? e.seed : plan.seed},
          {"type", e.type}, {"params", e.params}, {"encoders", encs}};
}

// Seconds every unit costs besides its experiment's estimate: its start and its record (the
// durable unit file). Measured on configs/studies/sweep.json (busy 2-core machine, medians of 3
// runs): 8 ms for the snapshot unit, 6-39 ms for position_probe units of 0.3-1.6 ms of work.
constexpr double kUnitSeconds = 0.01;
// The schemes' own memory (a learned table) is filled once: 1 ns per byte, as that default.
constexpr double kSecondsPerSchemeByte = 1e-9;

}  // namespace

std::vector<Unit> plan_units(const Plan& plan) {
  std::vector<Unit> units;
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    std::vector<std::vector<size_t>> groups;
    if (e.experiment && e.experiment->encoders_separable()) {
      for (size_t k = 0; k < e.encoders.size(); ++k) groups.push_back({k});
    } else {
      groups.emplace_back(e.encoders.size());
      std::iota(groups.back().begin(), groups.back().end(), size_t(0));
    }
    const std::string name = e.name().empty() ? e.type : e.name();
    for (const auto& g : groups) {
      Unit u;
      u.experiment = i;
      u.encoders = g;
      CheckedSize bytes = 0;
      double seconds = 0;
      std::string labels;
      for (size_t k : g) {
        const EncoderInstance& enc = e.encoders[k];
        if (e.experiment) {
          const uint64_t scheme = scheme_memory_bytes(*e.experiment, enc);
          bytes += e.experiment->memory_bytes(enc);
          bytes += scheme;
          seconds += e.experiment->estimated_seconds(enc) + double(scheme) * kSecondsPerSchemeByte;
        }
        labels += (labels.empty() ? "" : ", ") + enc.label;
      }
      u.memory_bytes = bytes.saturated();
      u.cost = kUnitSeconds + seconds;
      u.what = e.path + " " + name + ": " + labels;
      u.id = fnv1a_hex(unit_content(plan, i, g).dump());
      units.push_back(std::move(u));
    }
  }
  Unit snap;
  snap.snapshots = true;
  snap.cost = kUnitSeconds;
  snap.what = "snapshots of every distinct scheme";
  snap.id = fnv1a_hex(json{{"snapshots", config_hash(plan)}}.dump());
  units.push_back(std::move(snap));
  return units;
}

std::vector<size_t> shard_units(const std::vector<Unit>& units, size_t k, size_t n) {
  std::vector<size_t> order(units.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (units[a].cost != units[b].cost) return units[a].cost > units[b].cost;
    return units[a].id < units[b].id;
  });
  std::vector<double> load(n, 0.0);
  std::vector<size_t> mine;
  for (size_t u : order) {
    const size_t s = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    load[s] += units[u].cost;
    if (s == k) mine.push_back(u);
  }
  std::sort(mine.begin(), mine.end());
  return mine;
}

}  // namespace posbench
