#pragma once
// Helpers shared by the experiment tests (every tests/harness/experiments/*_test.cpp but
// speed's): build an experiment and an encoder the way a config does, run it (with a given
// thread count, or OpenMP's as the test set it), read metrics/curves from the outcome, compare
// outcomes across thread counts, and check the problems of a bad config. One copy, so each test
// file holds only what it checks.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "harness/run/config.h"

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

// Runs experiment `type` on the one encoder `spec` as a config run does: check(), then
// run_all() with `seed` and RunContext's other defaults. Unlike run_with, it leaves OpenMP's
// thread count as the test set it.
inline ExperimentResult run_experiment(const std::string& type, const nlohmann::json& params,
                                       const nlohmann::json& spec, uint64_t seed = 0) {
  const auto e = make_experiment(type, params);
  const EncoderInstance enc = make_encoder(spec);
  e->check(enc);
  RunContext ctx;
  ctx.seed = seed;
  return e->run_all({enc}, ctx);
}

// PE(p) for p in [0, rows) of an additive encoder, row-major [rows, dim]: the table W that
// reference computations start from.
inline std::vector<double> table_rows(const EncoderInstance& enc, int64_t rows, int64_t dim) {
  std::vector<int64_t> pos(rows);
  for (int64_t p = 0; p < rows; ++p) pos[p] = p;
  std::vector<double> W(rows * dim);
  enc.encoder->additive_table(pos, dim, W.data());
  return W;
}

// NaN when missing, so that no tolerance check can pass on it (the failure is recorded anyway).
inline double metric(const EncoderOutcome& o, const std::string& name) {
  for (const auto& m : o.metrics)
    if (m.name == name) return m.value;
  ADD_FAILURE() << "no metric " << name << " in outcome " << o.label;
  return NAN;
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

// Value of curve `name` at x (NaN, and a failure, if it has no such point).
inline double curve_at(const EncoderOutcome& o, const std::string& name, double x) {
  const Curve& c = curve(o, name);
  for (size_t i = 0; i < c.x.size(); ++i)
    if (c.x[i] == x) return c.y[i];
  ADD_FAILURE() << "curve " << name << " has no x = " << x;
  return NAN;
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

// The thread-count check of the property experiments: `e` gives identical outcomes
// (expect_identical) with 1 and 2 threads, run with `seed`, for one scheme of each family: rope
// (rotary), alibi (bias) and a random learned table of `learned_max_len` rows (additive).
inline void expect_same_result_for_1_and_2_threads(const Experiment& e, int64_t learned_max_len,
                                                   uint64_t seed) {
  using nlohmann::json;
  for (const json& spec : {json{{"name", "rope"}}, json{{"name", "alibi"}},
                           json{{"name", "learned"}, {"params", {{"max_len", learned_max_len}}}}}) {
    const EncoderInstance enc = make_encoder(spec);
    expect_identical(run_with(e, enc, seed, 1), run_with(e, enc, seed, 2));
  }
}

// Every metric value and every curve value of `b` equals `a`'s bitwise, NaN equal to NaN (for
// outcomes that hold NaN, e.g. lengths a scheme does not support); `spec` names the encoder in
// failures.
inline void expect_same_values(const EncoderOutcome& a, const EncoderOutcome& b,
                               const nlohmann::json& spec) {
  auto same = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i)
    EXPECT_TRUE(same(a.metrics[i].value, b.metrics[i].value)) << spec << a.metrics[i].name;
  ASSERT_EQ(a.curves.size(), b.curves.size());
  for (size_t i = 0; i < a.curves.size(); ++i)
    for (size_t k = 0; k < a.curves[i].y.size(); ++k)
      EXPECT_TRUE(same(a.curves[i].y[k], b.curves[i].y[k])) << spec << a.curves[i].name;
}

// The thread-count check of the other experiments: `spec` gives the same values
// (expect_same_values) run by run_experiment with `seed` under 1 and then 2 OpenMP threads
// (RunContext::threads stays 1). OpenMP's thread count is restored afterwards.
inline void expect_same_values_for_1_and_2_omp_threads(const std::string& type,
                                                       const nlohmann::json& params,
                                                       const nlohmann::json& spec, uint64_t seed) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const EncoderOutcome a = run_experiment(type, params, spec, seed).outcomes.at(0);
  omp_set_num_threads(2);
  const EncoderOutcome b = run_experiment(type, params, spec, seed).outcomes.at(0);
  omp_set_num_threads(saved);
  expect_same_values(a, b, spec);
}

// Problems of a one-experiment config whose experiment has `params` and one encoder, `encoder`
// with its default params (paths are "experiments[0]...").
inline std::vector<Problem> config_problems(const std::string& type, nlohmann::json params,
                                            const std::string& encoder = "sinusoidal") {
  params["type"] = type;
  params["encoders"] = nlohmann::json::array({{{"name", encoder}}});
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
