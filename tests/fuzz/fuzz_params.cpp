// Fuzz target: the parameters of any registered scheme or experiment, given as JSON, through
// the public resolve/construct path. Input: "NAME\n{params}" (NAME a registry name: rope's
// nested `scaling` dict and the speed experiment's lists of shapes are what the seeds aim at).
//   scheme NAME     : build_encoder({"name": NAME, "params": PARAMS}) as `apply` and every config
//                     entry do (declared specs resolved, nested ones included, then the factory);
//                     a built scheme is then used at one small shape, whichever its family, and
//                     its numbers must be finite.
//   experiment NAME : build_plan of {"experiments": [{"type": NAME, ...PARAMS, "encoders": ...}]}
//                     (default encoders when PARAMS has none) and the memory guard, as validate.
// PARAMS is parsed by parse_json_text, as `--params` and config files are.
//
// Expected: a UserError (or UnsupportedPosition from the scheme asked for a position directly).
// A finding: any other exception, a sanitizer report, NaN or inf from a scheme built without
// complaint at a supported position.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "encoders/error.h"
#include "encoders/experiment.h"
#include "encoders/registry.h"
#include "harness/analysis/apply.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"
#include "tests/fuzz/fuzz_util.h"

using namespace posbench;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxMemory = uint64_t(1) << 30;

// The shape a built scheme is tried at: dim (additive), head_dim (rotary), heads.
constexpr int64_t kDim = 16, kHeads = 2;
const std::vector<int64_t> kPositions = {0, 1, 2, 3, 17, 100, 4095};

// The scheme at kPositions, on an input of ones, through harness/analysis/apply.h (the ops
// behind `posbench apply`); every output value must be finite. As every caller in posbench, it
// first asks what the scheme would allocate for itself and refuses what exceeds the limit.
void use_scheme(const std::string& name, const Encoder& enc) {
  const int64_t dim = enc.family() == Family::bias ? 0 : kDim;
  if (enc.memory_bytes(dim, kHeads) > kMaxMemory)
    throw UserError("params", "the scheme's own memory exceeds the limit (as apply says)");
  std::vector<double> x;
  switch (enc.family()) {
    case Family::additive:
      enc.check_shape(kDim, 1);
      x.assign(kPositions.size() * kDim, 1.0);
      add_positional(enc, kPositions, kDim, x.data());
      break;
    case Family::rotary:
      enc.check_shape(kDim, kHeads);
      x.assign(kPositions.size() * kHeads * kDim, 1.0);
      rotate(enc, kPositions, kHeads, kDim, RotaryContext{Role::query, 0}, x.data());
      break;
    case Family::bias: {
      enc.check_shape(0, kHeads);
      x.assign(kHeads * kPositions.size() * kPositions.size(), 1.0);
      add_bias(enc, kPositions, kPositions, kHeads, x.data());
      break;
    }
  }
  const long bad = fuzz::first_non_finite(x.data(), x.size());
  if (bad >= 0)
    fuzz::fail(name + ": built without complaint, gives " + std::to_string(x[bad]) +
               " at flat index " + std::to_string(bad));
}

void scheme(const std::string& name, const json& params) {
  Diagnostics diag;
  const EncoderInstance inst = build_encoder({{"name", name}, {"params", params}}, "", diag);
  diag.throw_if_any();
  if (!inst.encoder) fuzz::fail(name + ": no problem reported, but no encoder built");
  (void)inst.params.dump();  // written into resolved_config
  fuzz::expect_user_errors_only([&] { use_scheme(name, *inst.encoder); },
                                fuzz::Positions::may_be_unsupported);
}

void experiment(const std::string& type, const json& params) {
  json spec = params.is_object() ? params : json::object();
  spec["type"] = type;
  if (!spec.contains("encoders"))
    spec["encoders"] = json::array(
        {{{"name", "rope"}}, {{"name", "alibi"}}, {{"name", "sinusoidal"}}, {{"name", "t5"}}});
  const json config = {{"name", "fuzz"}, {"experiments", json::array({spec})}};
  Diagnostics diag;
  Plan plan = build_plan(config, diag);
  if (diag.ok()) check_memory(plan, kMaxMemory);
  diag.throw_if_any();
  (void)plan.resolved.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string name(fuzz::take_line(rest));
  const bool is_scheme = EncoderRegistry::instance().find(name) != nullptr;
  const bool is_experiment = ExperimentRegistry::instance().find(name) != nullptr;
  if (!is_scheme && !is_experiment) return 0;  // nothing of posbench's runs: not interesting
  fuzz::expect_user_errors_only([&] {
    const json params = parse_json_text(std::string(rest), "--params");
    if (is_scheme)
      scheme(name, params);
    else
      experiment(name, params);
  });
  return 0;
}
