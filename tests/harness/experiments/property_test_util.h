#pragma once
// Helpers shared by the property-experiment tests (translation_invariance, monotonicity,
// symmetry, long_term_decay): build an experiment and an encoder the way a config does, run it
// with a given thread count, and read metrics/curves from the outcome.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/config.h"
#include "harness/experiment.h"

namespace posbench::test {

inline std::unique_ptr<Experiment> make_experiment(const std::string& type,
                                                   const nlohmann::json& params) {
  const ExperimentInfo& info = ExperimentRegistry::instance().get(type, "experiment");
  Diagnostics diag;
  const nlohmann::json resolved = resolve_params(info.params, params, "params", diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return info.factory(Params(resolved));
}

inline EncoderInstance make_encoder(const nlohmann::json& spec) {
  Diagnostics diag;
  EncoderInstance enc = build_encoder(spec, "encoders[0]", diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return enc;
}

// check() then run_all() on one encoder with `threads` OpenMP threads (restored afterwards).
inline EncoderOutcome run_with(const Experiment& e, const EncoderInstance& enc, uint64_t seed = 0,
                               int threads = 1) {
  e.check(enc);
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  ExperimentResult r = e.run_all({enc}, RunContext{seed, threads, 0, ""});
  omp_set_num_threads(before);
  EXPECT_EQ(r.outcomes.size(), 1u);
  return r.outcomes.empty() ? EncoderOutcome{} : r.outcomes[0];
}

inline double metric(const EncoderOutcome& o, const std::string& name) {
  for (const auto& m : o.metrics)
    if (m.name == name) return m.value;
  ADD_FAILURE() << "no metric " << name << " in outcome " << o.label;
  return 0;
}

inline std::string unit_of(const EncoderOutcome& o, const std::string& name) {
  for (const auto& m : o.metrics)
    if (m.name == name) return m.unit;
  ADD_FAILURE() << "no metric " << name;
  return "";
}

inline const Curve& curve(const EncoderOutcome& o, const std::string& name) {
  for (const auto& c : o.curves)
    if (c.name == name) return c;
  ADD_FAILURE() << "no curve " << name << " in outcome " << o.label;
  static const Curve empty;
  return empty;
}

// Metrics and curves of two outcomes are bitwise equal.
inline void expect_identical(const EncoderOutcome& a, const EncoderOutcome& b) {
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    EXPECT_EQ(a.metrics[i].name, b.metrics[i].name);
    // NaN == NaN for "never rises" style metrics.
    if (!(std::isnan(a.metrics[i].value) && std::isnan(b.metrics[i].value))) {
      EXPECT_EQ(a.metrics[i].value, b.metrics[i].value) << a.metrics[i].name;
    }
  }
  ASSERT_EQ(a.curves.size(), b.curves.size());
  for (size_t i = 0; i < a.curves.size(); ++i) {
    EXPECT_EQ(a.curves[i].x, b.curves[i].x) << a.curves[i].name;
    EXPECT_EQ(a.curves[i].y, b.curves[i].y) << a.curves[i].name;
  }
}

// Problems of a one-experiment config whose experiment has `params` and one sinusoidal
// encoder (paths are "experiments[0]...").
inline std::vector<Problem> config_problems(const std::string& type, nlohmann::json params) {
  params["type"] = type;
  params["encoders"] = nlohmann::json::array({{{"name", "sinusoidal"}}});
  Diagnostics diag;
  build_plan({{"name", "t"}, {"seed", 0}, {"experiments", {params}}}, diag);
  return diag.problems();
}

// The one problem at `path`, whose message contains every part of `parts`.
inline void expect_problem(const std::vector<Problem>& ps, const std::string& path,
                           const std::vector<std::string>& parts) {
  std::string all;
  for (const auto& p : ps) all += "\n  " + p.str();
  ASSERT_EQ(ps.size(), 1u) << all;
  EXPECT_EQ(ps[0].path, path) << all;
  for (const auto& part : parts)
    EXPECT_NE(ps[0].message.find(part), std::string::npos) << "missing '" << part << "' in" << all;
}

}  // namespace posbench::test
