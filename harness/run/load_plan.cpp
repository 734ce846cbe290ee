#include "harness/run/load_plan.h"

#include "harness/run/plugins.h"
#include "harness/run/runner.h"

namespace posbench {

using nlohmann::json;

void load_config_plugins(const json& config) {
  Diagnostics diag;
  for (const auto& p : config_plugins(config, diag)) load_plugin(p);
  diag.throw_if_any();
}

Plan load_plan(const json& config, const std::filesystem::path& base_dir) {
  load_config_plugins(config);
  Diagnostics diag;
  Plan plan = build_plan(config, diag, base_dir);
  diag.throw_if_any();
  return plan;
}

std::vector<Problem> validate_config(const json& config, const std::filesystem::path& base_dir,
                                     uint64_t max_memory, Plan* plan_out) {
  // Malformed "plugins" entries are reported by build_plan with the rest of the config.
  Diagnostics diag, reported_by_build_plan;
  for (const auto& p : config_plugins(config, reported_by_build_plan)) load_plugin(p);
  Plan plan = build_plan(config, diag, base_dir);
  if (diag.ok()) {
    try {
      check_memory(plan, max_memory ? max_memory : default_memory_limit());
    } catch (const UserError& e) {
      for (const auto& p : e.problems()) diag.error(p.path, p.message);
    }
  }
  if (plan_out) *plan_out = std::move(plan);
  return diag.problems();
}

}  // namespace posbench
