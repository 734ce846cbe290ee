// resolution: minimum/mean pairwise distance, nearest-neighbour decoding (nearest_is_self) and
// locality (nearest_is_adjacent), checked on the experiment's output against float64 reference
// loops written from the closed forms, and on tables with known answers (one-hot rows, a
// constant table, a ramp) loaded into a learned scheme from .npy files.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

EncoderOutcome run_resolution(const json& params, const json& spec) {
  return run_experiment("resolution", params, spec).outcomes.at(0);
}

struct Reference {
  double min_distance, mean_distance, nearest_is_adjacent, nearest_is_self;
};

// From a distance function dist(p, q) over [0, n): the definitions, literally.
template <class Dist>
Reference resolution_reference(int64_t n, Dist dist) {
  double mn = INFINITY, sum = 0;
  int64_t hits = 0;
  std::vector<double> nearest(n, INFINITY);
  for (int64_t p = 0; p < n; ++p) {
    double near = INFINITY, far = INFINITY;
    for (int64_t q = 0; q < n; ++q) {
      if (q == p) continue;
      const double d = dist(p, q);
      if (q == p - 1 || q == p + 1)
        near = std::min(near, d);
      else
        far = std::min(far, d);
      nearest[p] = std::min(nearest[p], d);
      if (q > p) mn = std::min(mn, d), sum += d;
    }
    hits += near < far;  // a neighbour strictly nearer than every other position
  }
  const double mean = sum / (double(n) * double(n - 1) / 2);
  int64_t self = 0;  // every other encoding beyond rounding (1e-6 of the mean distance)
  for (int64_t p = 0; p < n; ++p) self += nearest[p] > 1e-6 * mean;
  return {mn, mean, double(hits) / double(n), double(self) / double(n)};
}

TEST(Resolution, SinusoidalMatchesClosedFormDistances) {
  // ||PE(p) - PE(q)||^2 = sum_i 2 (1 - cos((p - q) theta_i)),  theta_i = 1e4^(-2i/d).
  const int64_t d = 32, n = 200;
  std::vector<double> f(n);
  for (int64_t k = 0; k < n; ++k)
    for (int i = 0; i < d / 2; ++i)
      f[k] += 2 * (1 - std::cos(double(k) * std::pow(1e4, -2.0 * i / d)));
  const Reference r =
      resolution_reference(n, [&](int64_t p, int64_t q) { return std::sqrt(f[std::abs(p - q)]); });
  const auto o = run_resolution({{"dim", d}, {"positions", n}}, {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_NEAR(metric(o, "min_distance"), r.min_distance, 1e-9);
  EXPECT_NEAR(metric(o, "mean_distance"), r.mean_distance, 1e-9);
  EXPECT_NEAR(metric(o, "min_distance_ratio"), r.min_distance / r.mean_distance, 1e-9);
  EXPECT_EQ(metric(o, "nearest_is_adjacent"), r.nearest_is_adjacent);
  EXPECT_EQ(r.nearest_is_adjacent, 1.0);  // f is smallest at k = 1 for this shape
  EXPECT_EQ(metric(o, "nearest_is_self"), r.nearest_is_self);
  EXPECT_EQ(r.nearest_is_self, 1.0);
}

TEST(Resolution, BiasSchemesAreNotApplicableAsInPositionProbe) {
  // b_h(i, j) belongs to a query-key pair: no encoding of p alone (position_probe's answer).
  for (const std::string type : {"resolution", "position_probe"}) {
    const auto o = run_experiment(type, {{"dim", 8}, {"heads", 4}}, {{"name", "alibi"}});
    const EncoderOutcome& r = o.outcomes.at(0);
    EXPECT_EQ(r.status, Status::not_applicable) << type;
    EXPECT_NE(r.note.find("bias schemes have no encoding of a position alone"), std::string::npos)
        << type << ": " << r.note;
    EXPECT_TRUE(r.metrics.empty()) << type;
  }
  const auto e = make_experiment("resolution", {{"positions", 4096}});
  EXPECT_EQ(e->memory_bytes(make_encoder({{"name", "alibi"}})), 0u);
}

// Runs resolution on a learned scheme whose table [n, d] (row-major) is read from a .npy.
EncoderOutcome run_table(const TempDir& dir, const std::vector<double>& table, int64_t n,
                         int64_t d) {
  NpyArray a;
  a.shape = {n, d};
  a.f64 = table;
  const auto file = dir / ("table" + std::to_string(n) + "x" + std::to_string(d) + ".npy");
  write_npy(file, a);
  const json spec = {{"name", "learned"},
                     {"params", {{"max_len", n}, {"init", "file"}, {"path", file.string()}}}};
  const EncoderInstance enc = make_encoder(spec);
  enc.encoder->load();
  const auto e = make_experiment("resolution", {{"dim", d}, {"positions", n}});
  return run_with(*e, enc);
}

TEST(Resolution, OneHotRowsAreDecodableButNotLocal) {
  // e_p = one-hot(p): d(p, q) = sqrt(2) for every pair. Every position decodes to itself, but
  // for n >= 4 every p has a non-neighbour as near as its neighbours: nearest_is_adjacent 0.
  const TempDir dir("posbench-resolution-test");
  for (int64_t n : {4, 9, 32}) {
    std::vector<double> eye(size_t(n * n), 0.0);
    for (int64_t p = 0; p < n; ++p) eye[size_t(p * n + p)] = 1.0;
    const EncoderOutcome o = run_table(dir, eye, n, n);
    ASSERT_EQ(o.status, Status::ok) << o.note;
    EXPECT_EQ(metric(o, "nearest_is_self"), 1.0) << n;
    EXPECT_EQ(metric(o, "nearest_is_adjacent"), 0.0) << n;
    EXPECT_NEAR(metric(o, "min_distance"), std::sqrt(2.0), 1e-12) << n;
    EXPECT_NEAR(metric(o, "mean_distance"), std::sqrt(2.0), 1e-12) << n;
    EXPECT_NEAR(metric(o, "min_distance_ratio"), 1.0, 1e-12) << n;
  }
  // n = 3: the middle position has only neighbours (1 of 3 hits).
  const EncoderOutcome o3 = run_table(dir, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3);
  EXPECT_DOUBLE_EQ(metric(o3, "nearest_is_adjacent"), 1.0 / 3.0);
}

TEST(Resolution, ConstantTableDecodesNothing) {
  // Every row equal: all distances 0, no position can be told apart.
  const TempDir dir("posbench-resolution-test");
  const EncoderOutcome o = run_table(dir, std::vector<double>(16 * 4, 0.25), 16, 4);
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "nearest_is_self"), 0.0);
  EXPECT_EQ(metric(o, "nearest_is_adjacent"), 0.0);
  EXPECT_EQ(metric(o, "min_distance_ratio"), 0.0);
  EXPECT_EQ(metric(o, "mean_distance"), 0.0);
}

TEST(Resolution, RampIsLocalEverywhere) {
  // e_p = p v, |v| = 1: d(p, q) = |p - q|; the nearest of every p is a neighbour; min d = 1,
  // mean d over pairs = (n + 1) / 3.
  const TempDir dir("posbench-resolution-test");
  const int64_t n = 50, d = 2;
  std::vector<double> ramp(size_t(n * d));
  for (int64_t p = 0; p < n; ++p) ramp[size_t(p * d)] = 0.6 * p, ramp[size_t(p * d + 1)] = 0.8 * p;
  const EncoderOutcome o = run_table(dir, ramp, n, d);
  EXPECT_EQ(metric(o, "nearest_is_adjacent"), 1.0);
  EXPECT_EQ(metric(o, "nearest_is_self"), 1.0);
  EXPECT_NEAR(metric(o, "min_distance"), 1.0, 1e-12);
  EXPECT_NEAR(metric(o, "mean_distance"), (n + 1) / 3.0, 1e-10);
  EXPECT_NEAR(metric(o, "min_distance_ratio"), 3.0 / (n + 1), 1e-12);
}

TEST(Resolution, RopeAdjacentDistanceIsTranslationInvariant) {
  // ||R(p+1) u - R(p) u|| = ||R(1) u - u|| for every p (rotations compose).
  const auto o = run_resolution({{"dim", 32}, {"positions", 300}}, {{"name", "rope"}});
  const Curve& adj = curve(o, "adjacent_distance");
  ASSERT_EQ(adj.y.size(), 299u);
  for (double v : adj.y) EXPECT_NEAR(v, adj.y[0], 1e-9 * adj.y[0]);
  EXPECT_GT(adj.y[0], 0.0);
}

TEST(Resolution, RandomLearnedTableHasChanceNeighbours) {
  // Random rows: the nearest row is p +- 1 with probability 2 / (n - 1) (here ~0.008).
  const auto o = run_resolution({{"dim", 32}, {"positions", 256}},
                                {{"name", "learned"}, {"params", {{"max_len", 256}}}});
  EXPECT_LT(metric(o, "nearest_is_adjacent"), 0.05);
  EXPECT_GT(metric(o, "min_distance_ratio"), 0.3);
  EXPECT_EQ(metric(o, "nearest_is_self"), 1.0);  // well separated: every row decodes
}

TEST(Resolution, ClampedLearnedTableCollides) {
  // Positions >= max_len all return the last row: distance 0 between distinct positions.
  const auto o = run_resolution(
      {{"dim", 16}, {"positions", 64}},
      {{"name", "learned"}, {"params", {{"max_len", 32}, {"out_of_range", "clamp"}}}});
  EXPECT_LT(metric(o, "min_distance_ratio"), 1e-6);
  // Positions 33..62 have two identical neighbours but also identical non-neighbours: misses.
  EXPECT_LE(metric(o, "nearest_is_adjacent"), 34.0 / 64.0);
  // Positions 31..63 share the last row: only 0..30 decode to themselves.
  EXPECT_DOUBLE_EQ(metric(o, "nearest_is_self"), 31.0 / 64.0);
  const auto e = run_resolution({{"dim", 16}, {"positions", 64}},
                                {{"name", "learned"}, {"params", {{"max_len", 32}}}});
  EXPECT_EQ(e.status, Status::unsupported);
  EXPECT_NE(e.note.find("32"), std::string::npos) << e.note;
}

TEST(Resolution, IdenticalForAnyThreadCount) {
  for (const json& spec :
       {json{{"name", "sinusoidal"}}, json{{"name", "rope"}}, json{{"name", "alibi"}},
        json{{"name", "learned"}, {"params", {{"max_len", 300}}}}}) {
    const json params = {{"dim", 32}, {"heads", 4}, {"positions", 300}};
    expect_same_values_for_1_and_2_omp_threads("resolution", params, spec, 5);
  }
}

TEST(Resolution, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("resolution", {{"positions", -4}}), "experiments[0].positions",
                 {"-4"});
  expect_problem(config_problems("resolution", {{"positions", 1}}), "experiments[0].positions",
                 {">= 2"});
  expect_problem(config_problems("resolution", {{"dim", 0}}), "experiments[0].dim", {"0"});
  expect_problem(config_problems("resolution", {{"possitions", 8}}), "experiments[0].possitions",
                 {"positions"});
  // An odd dim is the scheme's shape error, reported at the encoder.
  Diagnostics diag;
  build_plan(
      {{"name", "t"},
       {"seed", 0},
       {"experiments", {{{"type", "resolution"}, {"dim", 7}, {"encoders", {{{"name", "rope"}}}}}}}},
      diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path.rfind("experiments[0].encoders[0]", 0), 0u)
      << diag.problems()[0].str();
}

}  // namespace
}  // namespace posbench::test
