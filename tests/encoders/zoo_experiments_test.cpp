// Every registered experiment runs on every scheme of the zoo (xpos, t5, kerple, fire, nope)
// without special cases: the plan builds (each experiment's check() accepts the scheme), and
// run_all returns one outcome per scheme with status ok, not_applicable or unsupported, without
// throwing. The experiments are iterated from the registry, so one added later is covered too.
// Params are shrunk generically (widths to 16, heads to 2, samples to 4, large integers divided)
// so the whole sweep stays quick; an experiment that refuses the shrunk values is retried with
// milder shrinking and finally with its defaults. "speed" is a timing benchmark, not a property,
// and is skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/config.h"
#include "encoders/experiment.h"

namespace posbench {
namespace {

using nlohmann::json;

const json kZoo = json::array({
    {{"name", "xpos"}},
    {{"name", "xpos"},
     {"label", "xpos-centred-half"},
     {"params", {{"centre", true}, {"layout", "half"}}}},
    {{"name", "t5"}},
    {{"name", "t5"}, {"label", "t5-causal"}, {"params", {{"bidirectional", false}}}},
    {{"name", "kerple"}},
    {{"name", "kerple"}, {"label", "kerple-power"}, {"params", {{"variant", "power"}}}},
    {{"name", "fire"}},
    {{"name", "nope"}},
});

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The integer params of `info`, made smaller: divisor 0 means "keep the defaults".
json shrunk_params(const ExperimentInfo& info, int64_t divisor) {
  json out = json::object();
  if (divisor == 0) return out;
  for (const ParamSpec& spec : info.params) {
    if (spec.type != ParamType::integer || !spec.default_value.is_number_integer()) continue;
    const int64_t dflt = spec.default_value.get<int64_t>();
    int64_t v = dflt;
    if (contains(spec.name, "dim"))
      v = std::min<int64_t>(dflt, 16);
    else if (contains(spec.name, "heads"))
      v = std::min<int64_t>(dflt, 2);
    else if (spec.name == "samples")
      v = std::min<int64_t>(dflt, 4);
    else if (dflt > 64)
      v = std::max<int64_t>(dflt / divisor, 64);
    if (spec.min) v = std::max<int64_t>(v, int64_t(std::ceil(*spec.min)));
    if (spec.max) v = std::min<int64_t>(v, int64_t(std::floor(*spec.max)));
    if (v != dflt) out[spec.name] = v;
  }
  return out;
}

// The first of the candidate param sets the experiment's factory accepts.
std::optional<json> buildable_params(const ExperimentInfo& info, std::string& why) {
  for (int64_t divisor : {8, 4, 2, 0}) {
    const json given = shrunk_params(info, divisor);
    Diagnostics diag;
    const json resolved = resolve_params(info.params, given, "params", diag);
    if (!diag.ok()) {
      why = diag.problems()[0].str();
      continue;
    }
    try {
      info.factory(Params(resolved));
      return given;
    } catch (const UserError& e) {
      why = e.path() + ": " + e.what();
    }
  }
  return std::nullopt;
}

TEST(ZooExperiments, EveryExperimentRunsOnEveryNewScheme) {
  const std::vector<const ExperimentInfo*> experiments = ExperimentRegistry::instance().all();
  ASSERT_FALSE(experiments.empty());
  int ran = 0;
  for (const ExperimentInfo* info : experiments) {
    if (info->name == "speed") continue;  // a timing benchmark, not a property
    SCOPED_TRACE("experiment " + info->name);
    std::string why;
    const std::optional<json> params = buildable_params(*info, why);
    ASSERT_TRUE(params.has_value()) << "no buildable params (even the defaults): " << why;
    json experiment = *params;
    experiment["type"] = info->name;
    experiment["encoders"] = kZoo;
    const json config = {{"name", "zoo"}, {"seed", 3}, {"experiments", json::array({experiment})}};
    Diagnostics diag;
    Plan plan = build_plan(config, diag);
    ASSERT_TRUE(diag.ok()) << "params " << params->dump() << ": " << diag.problems()[0].str()
                           << (diag.problems().size() > 1 ? " (and more)" : "");
    ASSERT_EQ(plan.experiments.size(), 1u);
    const PlannedExperiment& planned = plan.experiments[0];
    ASSERT_EQ(planned.encoders.size(), kZoo.size());
    for (const EncoderInstance& enc : planned.encoders)
      EXPECT_NO_THROW(planned.experiment->memory_bytes(enc)) << enc.label;
    RunContext ctx;
    ctx.seed = 3;
    ExperimentResult result;
    try {
      result = planned.experiment->run_all(planned.encoders, ctx);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "run_all threw: " << e.what() << " (params " << params->dump() << ")";
      continue;
    }
    ASSERT_EQ(result.outcomes.size(), kZoo.size());
    for (size_t i = 0; i < result.outcomes.size(); ++i) {
      const EncoderOutcome& out = result.outcomes[i];
      EXPECT_EQ(out.label, planned.encoders[i].label);
      std::cout << "[ zoo      ] " << info->name << " / " << out.label << ": "
                << to_string(out.status) << (out.note.empty() ? "" : " (" + out.note + ")") << "\n";
      if (out.status == Status::ok)
        for (const Metric& m : out.metrics)
          EXPECT_FALSE(std::isinf(m.value)) << out.label << " metric " << m.name;
      else
        EXPECT_FALSE(out.note.empty())
            << out.label << " has status " << to_string(out.status) << " without a note";
    }
    ++ran;
  }
  EXPECT_GE(ran, 1);
}

}  // namespace
}  // namespace posbench
