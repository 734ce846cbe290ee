#include "harness/run/runner.h"

#include <omp.h>

#include <fmt/format.h>
#include <chrono>
#include <cmath>

#include "build_info.h"
#include "harness/run/context.h"

namespace posbench {

using nlohmann::json;

uint64_t default_memory_limit() { return physical_memory_bytes() / 2; }

void check_memory(const Plan& plan, uint64_t limit) {
  std::vector<Problem> problems;
  for (const auto& e : plan.experiments)
    for (const auto& enc : e.encoders) {
      const uint64_t need = e.experiment->memory_bytes(enc);
      if (need > limit)
        problems.push_back({enc.path, fmt::format("would need {} ({} bytes), above the memory "
                                                  "limit {}; reduce the sizes or raise "
                                                  "--max-memory",
                                                  human_bytes(need), need, human_bytes(limit))});
    }
  if (!problems.empty()) throw UserError(problems);
}

static json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

static json outcome_json(const EncoderInstance& enc, const EncoderOutcome& o) {
  json metrics = json::object();
  for (const auto& m : o.metrics)
    metrics[m.name] = {{"value", number_or_null(m.value)}, {"unit", m.unit}};
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

RunOutput run_plan(const Plan& plan, const RunOptions& options) {
  const uint64_t limit = options.max_memory ? options.max_memory : default_memory_limit();
  check_memory(plan, limit);
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  omp_set_num_threads(threads);

  RunOutput out;
  const auto start = std::chrono::steady_clock::now();
  json experiments = json::array();
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    RunContext ctx{
        plan.seed, threads, limit,
        options.artifact_prefix.empty() ? "" : options.artifact_prefix + "." + std::to_string(i)};
    const auto t0 = std::chrono::steady_clock::now();
    ExperimentRun run{&e, e.experiment->run_all(e.encoders, ctx), 0};
    run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json encoders = json::array();
    for (size_t k = 0; k < e.encoders.size() && k < run.result.outcomes.size(); ++k)
      encoders.push_back(outcome_json(e.encoders[k], run.result.outcomes[k]));
    experiments.push_back({{"type", e.type},
                           {"path", e.path},
                           {"params", e.params},
                           {"seed", plan.seed},
                           {"wall_seconds", run.wall_seconds},
                           {"encoders", encoders},
                           {"extra", run.result.extra}});
    out.experiments.push_back(std::move(run));
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.document = {{"schema_version", kResultsSchemaVersion},
                  {"posbench_version", build_info::kVersion},
                  {"context", run_context()},
                  {"config", plan.given},
                  {"resolved_config", plan.resolved},
                  {"seeds", {{"config", plan.seed}}},
                  {"threads", threads},
                  {"max_memory_bytes", limit},
                  {"experiments", experiments},
                  {"total_wall_seconds", total}};
  return out;
}

}  // namespace posbench
