#pragma once
// A config (JSON, already parsed) to a runnable Plan, the way `posbench validate` and `run`
// do it, shared by the command line (harness/cli) and the Python module (harness/python), so
// both report the same problems and run the same plan.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/error.h"
#include "harness/run/config.h"

namespace posbench {

// Loads the plugins the config's "plugins" lists; a malformed list or a plugin that cannot load
// throws UserError.
void load_config_plugins(const nlohmann::json& config);

// Plugins loaded, then build_plan; throws UserError with every problem. Relative hf_config
// paths are taken from `base_dir` (the config file's directory; "" = the current one).
Plan load_plan(const nlohmann::json& config, const std::filesystem::path& base_dir);

// Every problem `posbench validate` reports, in its order: the config's (build_plan, with
// malformed "plugins" entries among them), then, only when there are none, the memory guard's
// against `max_memory` (0: half of RAM). A plugin that cannot load throws UserError (the
// schemes it would register are then unknown). `plan`, if given, receives the plan (usable
// only when nothing was returned).
std::vector<Problem> validate_config(const nlohmann::json& config,
                                     const std::filesystem::path& base_dir, uint64_t max_memory,
                                     Plan* plan = nullptr);

}  // namespace posbench
