#include "harness/run/runner.h"

#include <omp.h>

#include <fmt/format.h>
#include <chrono>
#include <cmath>

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

RunOutput run_plan(const Plan& plan, const RunOptions& options) {
  const uint64_t limit = options.max_memory ? options.max_memory : default_memory_limit();
  check_memory(plan, limit);
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  omp_set_num_threads(threads);

  RunOutput out;
  out.plan = &plan;
  out.threads = threads;
  out.max_memory = limit;
  out.context = run_context();
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    RunContext ctx{
        plan.seed, threads, limit,
        options.artifact_prefix.empty() ? "" : options.artifact_prefix + "." + std::to_string(i)};
    const auto t0 = std::chrono::steady_clock::now();
    ExperimentRun run{&e, e.experiment->run_all(e.encoders, ctx), 0};
    run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.experiments.push_back(std::move(run));
  }
  out.total_wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace posbench
