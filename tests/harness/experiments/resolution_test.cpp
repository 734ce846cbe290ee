// resolution: minimum/mean pairwise distance and nearest-neighbour accuracy, checked on the
// experiment's output against float64 reference loops written from the closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "property_test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

EncoderOutcome run(const json& params, const json& spec) {
  return run_experiment("resolution", params, spec).outcomes.at(0);
}

struct Reference {
  double min_distance, mean_distance, nn_accuracy;
};

// From a distance function dist(p, q) over [0, n): the definitions, literally.
template <class Dist>
Reference reference(int64_t n, Dist dist) {
  double mn = INFINITY, sum = 0;
  int64_t hits = 0;
  for (int64_t p = 0; p < n; ++p) {
    double near = INFINITY, far = INFINITY;
    for (int64_t q = 0; q < n; ++q) {
      if (q == p) continue;
      const double d = dist(p, q);
      if (q == p - 1 || q == p + 1)
        near = std::min(near, d);
      else
        far = std::min(far, d);
      if (q > p) mn = std::min(mn, d), sum += d;
    }
    hits += near < far;  // a neighbour strictly nearer than every other position
  }
  return {mn, sum / (double(n) * double(n - 1) / 2), double(hits) / double(n)};
}

TEST(Resolution, SinusoidalMatchesClosedFormDistances) {
  // ||PE(p) - PE(q)||^2 = sum_i 2 (1 - cos((p - q) theta_i)),  theta_i = 1e4^(-2i/d).
  const int64_t d = 32, n = 200;
  std::vector<double> f(n);
  for (int64_t k = 0; k < n; ++k)
    for (int i = 0; i < d / 2; ++i)
      f[k] += 2 * (1 - std::cos(double(k) * std::pow(1e4, -2.0 * i / d)));
  const Reference r =
      reference(n, [&](int64_t p, int64_t q) { return std::sqrt(f[std::abs(p - q)]); });
  const auto o = run({{"dim", d}, {"positions", n}}, {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_NEAR(metric(o, "min_distance"), r.min_distance, 1e-9);
  EXPECT_NEAR(metric(o, "mean_distance"), r.mean_distance, 1e-9);
  EXPECT_NEAR(metric(o, "min_distance_ratio"), r.min_distance / r.mean_distance, 1e-9);
  EXPECT_EQ(metric(o, "nn_accuracy"), r.nn_accuracy);
  EXPECT_EQ(r.nn_accuracy, 1.0);  // f is smallest at k = 1 for this shape
}

TEST(Resolution, AlibiRowsAreResolvedByTheSlopes) {
  // e_p = [b_h(p, j)]_{h, j}, b_h = -m_h |p - j|: ||e_p - e_q||^2 = sum_h m_h^2 sum_j
  // (|p - j| - |q - j|)^2; adjacent rows differ by m_h at every key: sqrt(n sum_h m_h^2).
  const int64_t n = 64, heads = 4;
  double m2 = 0;
  for (int h = 0; h < heads; ++h) m2 += std::pow(2.0, -16.0 * (h + 1) / heads);  // m_h^2
  const Reference r = reference(n, [&](int64_t p, int64_t q) {
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::pow(double(std::abs(p - j) - std::abs(q - j)), 2);
    return std::sqrt(m2 * s);
  });
  const auto o = run({{"dim", 8}, {"heads", heads}, {"positions", n}}, {{"name", "alibi"}});
  EXPECT_NEAR(metric(o, "min_distance"), std::sqrt(double(n) * m2), 1e-9);
  EXPECT_NEAR(r.min_distance, std::sqrt(double(n) * m2), 1e-12);
  EXPECT_NEAR(metric(o, "mean_distance"), r.mean_distance, 1e-9);
  EXPECT_EQ(metric(o, "nn_accuracy"), 1.0);
  EXPECT_EQ(r.nn_accuracy, 1.0);
  EXPECT_EQ(metric(o, "closest_pair_offset"), 1.0);
}

TEST(Resolution, RopeAdjacentDistanceIsTranslationInvariant) {
  // ||R(p+1) u - R(p) u|| = ||R(1) u - u|| for every p (rotations compose).
  const auto o = run({{"dim", 32}, {"positions", 300}}, {{"name", "rope"}});
  const Curve& adj = curve(o, "adjacent_distance");
  ASSERT_EQ(adj.y.size(), 299u);
  for (double v : adj.y) EXPECT_NEAR(v, adj.y[0], 1e-9 * adj.y[0]);
  EXPECT_GT(adj.y[0], 0.0);
}

TEST(Resolution, RandomLearnedTableHasChanceNeighbours) {
  // Random rows: the nearest row is p +- 1 with probability 2 / (n - 1) (here ~0.008).
  const auto o =
      run({{"dim", 32}, {"positions", 256}}, {{"name", "learned"}, {"params", {{"max_len", 256}}}});
  EXPECT_LT(metric(o, "nn_accuracy"), 0.05);
  EXPECT_GT(metric(o, "min_distance_ratio"), 0.3);
}

TEST(Resolution, ClampedLearnedTableCollides) {
  // Positions >= max_len all return the last row: distance 0 between distinct positions.
  const auto o =
      run({{"dim", 16}, {"positions", 64}},
          {{"name", "learned"}, {"params", {{"max_len", 32}, {"out_of_range", "clamp"}}}});
  EXPECT_LT(metric(o, "min_distance_ratio"), 1e-6);
  // Positions 33..62 have two identical neighbours but also identical non-neighbours: misses.
  EXPECT_LE(metric(o, "nn_accuracy"), 34.0 / 64.0);
  const auto e =
      run({{"dim", 16}, {"positions", 64}}, {{"name", "learned"}, {"params", {{"max_len", 32}}}});
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
