// Every registered experiment runs on every registered scheme without special cases: the plan
// builds (each experiment's check() accepts the scheme), and run_all returns one outcome per
// scheme with status ok, not_applicable or unsupported, without throwing. Every scheme also
// runs its family's operation (additive_table / rotary_coefficients / bias) with finite outputs.
// Schemes and experiments are iterated from the registries (EncoderRegistry::all,
// ExperimentRegistry::all), so one added later is covered without editing this file. Schemes
// are built with their defaults, except the few listed with the params they need in
// tests/encoders/scheme_params.h; a few extra variants (kVariants) cover non-default paths.
// Params are shrunk generically (widths to 16, heads to 2, samples to 4, large integers divided)
// so the whole sweep stays quick; an experiment that refuses the shrunk values is retried with
// milder shrinking and finally with its defaults. "speed" is a timing benchmark, not a property,
// and heavy: it is skipped here and tested only through its own CI config tests
// (tests/harness/experiments/speed).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "encoders/registry.h"
#include "harness/experiments/trained/spec.h"
#include "harness/run/config.h"
#include "tests/encoders/scheme_params.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::has;

// Non-default variants run in addition to every registered scheme with its minimal params.
const json kVariants = json::array({
    {{"name", "xpos"},
     {"label", "xpos-centred-half"},
     {"params", {{"centre", true}, {"layout", "half"}}}},
    {{"name", "t5"}, {"label", "t5-causal"}, {"params", {{"bidirectional", false}}}},
    {{"name", "kerple"}, {"label", "kerple-power"}, {"params", {{"variant", "power"}}}},
});

// The encoders of the sweep: every registered scheme (label = its name, params from
// scheme_params.h), then kVariants.
json zoo() {
  json out = json::array();
  for (const EncoderInfo* info : EncoderRegistry::instance().all())
    out.push_back({{"name", info->name}, {"params", test::minimal_params(info->name)}});
  for (const json& v : kVariants) out.push_back(v);
  return out;
}

// The integer params of `info`, made smaller: divisor 0 means "keep the defaults".
json shrunk_params(const ExperimentInfo& info, int64_t divisor) {
  json out = json::object();
  if (divisor == 0) return out;
  for (const ParamSpec& spec : info.params) {
    if (spec.type != ParamType::integer || !spec.default_value.is_number_integer()) continue;
    const int64_t dflt = spec.default_value.get<int64_t>();
    int64_t v = dflt;
    if (has(spec.name, "dim"))
      v = std::min<int64_t>(dflt, 16);
    else if (has(spec.name, "heads"))
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

TEST(ZooExperiments, CoversEveryRegisteredScheme) {
  const json kZoo = zoo();
  std::set<std::string> covered;
  for (const json& e : kZoo) covered.insert(e["name"].get<std::string>());
  for (const std::string& name : EncoderRegistry::instance().names())
    EXPECT_TRUE(covered.count(name)) << "scheme '" << name << "' is not in the sweep";
  // The schemes this sweep was first written for are still registered.
  for (const char* name : {"xpos", "t5", "kerple", "fire", "nope"})
    EXPECT_TRUE(covered.count(name)) << name;
  for (const auto& [name, params] : test::schemes_needing_params())
    EXPECT_NE(EncoderRegistry::instance().find(name), nullptr) << "stale exception " << name;
}

TEST(ZooExperiments, EveryExperimentRunsOnEveryScheme) {
  const json kZoo = zoo();
  const std::vector<const ExperimentInfo*> experiments = ExperimentRegistry::instance().all();
  ASSERT_FALSE(experiments.empty());
  int ran = 0;
  for (const ExperimentInfo* info : experiments) {
    // A timing benchmark, not a property, and heavy: covered by its own CI config tests.
    if (info->name == "speed") continue;
    // A build without libtorch lists trained_extrapolation as unavailable and refuses to build
    // it (tests/harness/experiments/trained_availability_test.cpp).
    if (info->name == "trained_extrapolation" && !trained::available()) continue;
    SCOPED_TRACE("experiment " + info->name);
    std::string why;
    std::optional<json> params = buildable_params(*info, why);
    // Training is heavy even shrunk: two steps of a one-layer model show every scheme trains.
    if (info->name == "trained_extrapolation")
      params = json{{"steps", 2},  {"warmup_steps", 1}, {"train_length", 2}, {"eval_samples", 2},
                    {"layers", 1}, {"d_model", 16},     {"heads", 2}};
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

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Each scheme's own operation, float64, at positions near 0 and near 1000: finite values of
// the documented shape. Closed forms state a column layout exactly when they are additive.
TEST(ZooOperations, EverySchemeRunsItsFamilysOperationWithFiniteOutputs) {
  const json kZoo = zoo();
  constexpr int64_t kDim = 16, kHeads = 2;
  std::vector<int64_t> positions(24);
  std::iota(positions.begin(), positions.end(), int64_t(0));
  for (int64_t p = 1000; p < 1008; ++p) positions.push_back(p);
  const size_t n = positions.size();
  for (size_t k = 0; k < kZoo.size(); ++k) {
    Diagnostics diag;
    const EncoderInstance inst =
        build_encoder(kZoo[k], "encoders[" + std::to_string(k) + "]", diag);
    SCOPED_TRACE("scheme " + inst.label + " (" + to_string(inst.family) + ")");
    ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
    ASSERT_NE(inst.encoder, nullptr);
    const Encoder& enc = *inst.encoder;
    ASSERT_NO_THROW(enc.check_shape(kDim, kHeads));
    switch (inst.family) {
      case Family::additive: {
        std::vector<double> table(n * kDim, std::nan(""));
        enc.additive_table(positions, kDim, table.data());
        EXPECT_TRUE(all_finite(table));
        if (const auto form = enc.angular_form(kDim, RotaryContext{})) {
          EXPECT_TRUE(form->columns.has_value()) << "an additive angular_form states its columns";
        }
        break;
      }
      case Family::rotary: {
        const int64_t rd = enc.rotary_dims(kDim);
        EXPECT_TRUE(rd >= 2 && rd <= kDim && rd % 2 == 0) << "rotary_dims " << rd;
        EXPECT_NO_THROW(enc.rotary_pairing());
        for (Role role : {Role::query, Role::key}) {
          std::vector<double> c(n * size_t(rd / 2), std::nan("")), s(c.size(), std::nan(""));
          enc.rotary_coefficients(positions, kDim, RotaryContext{role, 0}, c.data(), s.data());
          EXPECT_TRUE(all_finite(c)) << (role == Role::key ? "key" : "query");
          EXPECT_TRUE(all_finite(s)) << (role == Role::key ? "key" : "query");
          if (const auto form = enc.angular_form(kDim, RotaryContext{role, 0})) {
            EXPECT_FALSE(form->columns.has_value()) << "rotary coefficients have no columns";
          }
        }
        break;
      }
      case Family::bias: {
        std::vector<double> out(size_t(kHeads) * n * n, std::nan(""));
        enc.bias(positions, positions, kHeads, out.data());
        EXPECT_TRUE(all_finite(out));
        break;
      }
    }
    std::cout << "[ zoo      ] " << to_string(inst.family) << " operation / " << inst.label
              << ": finite\n";
  }
}

}  // namespace
}  // namespace posbench
