// Fuzz target: a config file's text, through what `posbench validate` does with it
// (harness/cli/app.cpp cmd_validate): parse (nesting, duplicate keys and numbers checked while
// parsing), the "plugins" entries, build_plan (every experiment and encoder resolved and
// constructed, each encoder checked by its experiment) and the memory guard. Plugins are named
// but never loaded: a fuzzer must not dlopen what it invents.
//
// Expected: a UserError. A finding: any other exception, a sanitizer report, a plan that
// validate would call valid whose given or resolved config cannot be written as JSON (the
// results file holds both), or an experiment without its encoders.
#include <cstddef>
#include <cstdint>
#include <string>

#include "encoders/error.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"
#include "tests/fuzz/fuzz_util.h"

using namespace posbench;

namespace {

// --max-memory for the guard: validate's default is half of RAM; any fixed value will do.
constexpr uint64_t kMaxMemory = uint64_t(1) << 30;

void validate(const std::string& text) {
  const nlohmann::json config = parse_json_text(text, "config.json");
  Diagnostics plugin_problems;  // validate reports them again through build_plan
  (void)config_plugins(config, plugin_problems);
  Diagnostics diag;
  Plan plan = build_plan(config, diag);
  if (diag.ok()) check_memory(plan, kMaxMemory);
  diag.throw_if_any();
  // Valid: what `run` would write into the results file must be writable.
  (void)plan.given.dump();
  (void)plan.resolved.dump();
  if (plan.experiments.empty()) fuzz::fail("a valid plan without experiments");
  for (const auto& e : plan.experiments) {
    if (!e.experiment) fuzz::fail(e.path + ": valid but not constructed");
    if (e.encoders.empty()) fuzz::fail(e.path + ": valid without encoders");
    for (const auto& enc : e.encoders)
      if (!enc.encoder) fuzz::fail(enc.path + ": valid but not constructed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_user_errors_only([&] { validate(text); });
  return 0;
}
