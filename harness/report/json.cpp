#include "harness/report/json.h"

#include <cmath>

#include "encoders/experiment.h"
#include "harness/run/context.h"

namespace posbench {

using nlohmann::json;

static json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

static json outcome_json(const EncoderInstance& enc, const EncoderOutcome& o) {
  json metrics = json::object();
  for (const auto& m : o.metrics) {
    metrics[m.name] = {{"value", number_or_null(m.value)}, {"unit", m.unit}};
    if (!m.at.empty()) metrics[m.name]["at"] = m.at;
  }
  json curves = json::array();
  for (const auto& c : o.curves) {
    json ys = json::array();
    for (double y : c.y) ys.push_back(number_or_null(y));
    curves.push_back({{"name", c.name},
                      {"x_name", c.x_name},
                      {"x_unit", c.x_unit},
                      {"y_unit", c.y_unit},
                      {"x", c.x},
                      {"y", ys}});
  }
  return {{"name", enc.name},       {"label", enc.label},
          {"version", enc.version}, {"family", to_string(enc.family)},
          {"params", enc.params},   {"status", to_string(o.status)},
          {"note", o.note},         {"metrics", metrics},
          {"curves", curves},       {"extra", o.extra}};
}

// The declarations (ExperimentInfo::metrics) of the metrics the outcomes report, each once, in
// declaration order; a plugin experiment that declares nothing gives [].
static json metric_declarations(const std::string& type, const ExperimentResult& result) {
  json out = json::array();
  const ExperimentInfo* info = ExperimentRegistry::instance().find(type);
  if (!info) return out;
  for (const MetricSpec& spec : info->metrics) {
    bool reported = false;
    for (const auto& o : result.outcomes)
      for (const auto& m : o.metrics) reported |= spec.matches(m.name);
    if (reported) out.push_back(spec.to_json());
  }
  return out;
}

static json experiment_json(const ExperimentRun& run, uint64_t config_seed) {
  const PlannedExperiment& e = *run.planned;
  json encoders = json::array();
  for (size_t k = 0; k < e.encoders.size() && k < run.result.outcomes.size(); ++k)
    encoders.push_back(outcome_json(e.encoders[k], run.result.outcomes[k]));
  json out = {{"type", e.type},
              {"metric_declarations", metric_declarations(e.type, run.result)},
              {"path", e.path},
              {"params", e.params},
              {"seed", e.seeded ? e.seed : config_seed},
              {"wall_seconds", run.wall_seconds},
              {"hosts", run.hosts},
              {"encoders", encoders},
              {"extra", run.result.extra}};
  if (!e.point.empty()) {
    out["point"] = e.point;
    out["sweep_point"] = e.sweep_values;
  }
  if (e.seeded) out["seeded"] = true;
  return out;
}

// Mean and spread across seeds (harness/run/seeds.h), beside the per-seed values.
static json seed_summaries_json(const std::vector<SeedSummary>& summaries) {
  json out = json::array();
  for (const auto& s : summaries) {
    json encoders = json::array();
    for (const auto& enc : s.encoders) {
      json metrics = json::array();
      for (const auto& m : enc.metrics) {
        json values = json::array();
        for (double v : m.values) values.push_back(number_or_null(v));
        json one = {{"metric", m.metric},
                    {"unit", m.unit},
                    {"values", values},
                    {"n", m.n},
                    {"mean", number_or_null(m.mean)},
                    {"std", number_or_null(m.std)},
                    {"min", number_or_null(m.min)},
                    {"max", number_or_null(m.max)}};
        if (!m.at.empty()) one["at"] = m.at;
        metrics.push_back(one);
      }
      encoders.push_back({{"label", enc.label}, {"metrics", metrics}});
    }
    json one = {{"type", s.type},
                {"path", s.path},
                {"point", s.point},
                {"seeds", s.seeds},
                {"experiments", s.experiments},
                {"encoders", encoders}};
    if (!s.host.empty()) one["host"] = s.host;
    out.push_back(one);
  }
  return out;
}

json results_document(const RunOutput& run) {
  const Plan& plan = *run.plan;
  json experiments = json::array();
  for (const auto& e : run.experiments) experiments.push_back(experiment_json(e, plan.seed));
  return {{"schema_version", kResultsSchemaVersion},
          {"posbench_version", posbench_version()},
          {"context", run.context},
          {"config", plan.given},
          {"config_hash", run.config_hash},
          {"resolved_config", plan.resolved},
          {"seeds", {{"config", plan.seed}}},
          {"threads", run.threads},
          {"max_memory_bytes", run.max_memory},
          {"units", run.unit_ids},
          {"unit_provenance", run.unit_provenance},
          {"experiments", experiments},
          {"seed_summaries", seed_summaries_json(run.seed_summaries)},
          {"snapshots", run.snapshots},
          {"total_wall_seconds", run.total_wall_seconds}};
}

namespace {
class JsonReporter final : public Reporter {
 public:
  std::string render(const RunOutput& run) const override {
    return results_document(run).dump(2) + "\n";
  }
};
}  // namespace

std::unique_ptr<Reporter> make_json_reporter() { return std::make_unique<JsonReporter>(); }

}  // namespace posbench
