// Units of a run (harness/run/units.h): one per encoder of a separable experiment, one for all
// encoders of another (speed), the snapshot unit; ids from content only; LPT shards.
#include "harness/run/units.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "harness/run/runner.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

json units_config(double base) {
  return json::parse(R"({"name": "u", "seed": 1, "experiments": [
    {"type": "offset_linearity", "dim": 8, "positions": 16, "offsets": [1, 2],
     "encoders": [{"name": "sinusoidal"}, {"name": "rope", "sweep": {"base": [10000, )" +
                     std::to_string(base) + R"(]}}]},
    {"type": "speed", "operations": ["table"], "shapes": [{"seq": 8, "dim": 8}],
     "encoders": [{"name": "rope"}, {"name": "alibi"}]}]})");
}

Plan plan_of(const json& c) {
  Diagnostics diag;
  Plan p = build_plan(c, diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return p;
}

TEST(Units, SeparableExperimentsSplitPerEncoderOthersStayTogether) {
  const Plan plan = plan_of(units_config(500000));
  const auto units = plan_units(plan);
  ASSERT_EQ(units.size(), 5u);  // 3 offset_linearity encoders, 1 speed, 1 snapshots
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(units[k].experiment, 0u);
    EXPECT_EQ(units[k].encoders, std::vector<size_t>{k});
  }
  EXPECT_EQ(units[1].what, "experiments[0] offset_linearity: rope[base=1e4]");
  EXPECT_EQ(units[3].experiment, 1u);
  EXPECT_EQ(units[3].encoders, (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(units[4].snapshots);
  std::set<std::string> ids;
  for (const auto& u : units) {
    EXPECT_EQ(u.id.size(), 16u);
    EXPECT_GE(u.cost, 1e-3);  // seconds: 1 ms per unit at least
    ids.insert(u.id);
  }
  EXPECT_EQ(ids.size(), units.size());
  // The memory a unit needs is the experiment's plus the scheme's (the memory guard's count).
  const auto& e = plan.experiments[0];
  EXPECT_EQ(units[1].memory_bytes, e.experiment->memory_bytes(e.encoders[1]) +
                                       scheme_memory_bytes(*e.experiment, e.encoders[1]));
}

TEST(Units, IdsComeFromContentOnly) {
  const auto a = plan_units(plan_of(units_config(500000)));
  const auto b = plan_units(plan_of(units_config(500000)));
  const auto c = plan_units(plan_of(units_config(250000)));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);
  // Changing the second rope's base changes its unit (and the config's hash, so the snapshot
  // unit), and nothing else.
  EXPECT_EQ(a[0].id, c[0].id);
  EXPECT_EQ(a[1].id, c[1].id);
  EXPECT_NE(a[2].id, c[2].id);
  EXPECT_EQ(a[3].id, c[3].id);
  EXPECT_NE(a[4].id, c[4].id);
  EXPECT_NE(config_hash(plan_of(units_config(500000))), config_hash(plan_of(units_config(250000))));
}

TEST(Units, Fnv1aMatchesPublishedVectors) {
  // FNV-1a 64 test vectors (Fowler, Noll, Vo: "" and "a").
  EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a_hex("a"), "af63dc4c8601ec8c");
}

TEST(Units, ShardsAreLongestProcessingTimeFirst) {
  // Costs 7, 5, 4, 3, 1 on 2 shards, by hand: 7 -> s0; 5 -> s1; 4 -> s1 (5 < 7); 3 -> s0 (7 <
  // 9); 1 -> s1 (10 > 9). s0 = {7, 3}, s1 = {5, 4, 1}.
  std::vector<Unit> units;
  for (double c : {3.0, 7.0, 1.0, 5.0, 4.0}) {
    Unit u;
    u.cost = c;
    u.id = "id" + std::to_string(int(c));
    units.push_back(u);
  }
  EXPECT_EQ(shard_units(units, 0, 2), (std::vector<size_t>{0, 1}));     // costs 3, 7
  EXPECT_EQ(shard_units(units, 1, 2), (std::vector<size_t>{2, 3, 4}));  // costs 1, 5, 4
  EXPECT_EQ(shard_units(units, 0, 1).size(), 5u);
  // More shards than units: the extra shards are empty, every unit in exactly one.
  std::multiset<size_t> seen;
  for (size_t k = 0; k < 7; ++k)
    for (size_t u : shard_units(units, k, 7)) seen.insert(u);
  EXPECT_EQ(seen, (std::multiset<size_t>{0, 1, 2, 3, 4}));
  // Equal costs: by id, so every machine shares them out alike.
  std::vector<Unit> same(3);
  same[0].id = "c", same[1].id = "a", same[2].id = "b";
  for (auto& u : same) u.cost = 1;
  EXPECT_EQ(shard_units(same, 0, 2), (std::vector<size_t>{0, 1}));  // "a" then "c"
  EXPECT_EQ(shard_units(same, 1, 2), (std::vector<size_t>{2}));     // "b"
}

TEST(Units, CostIsEstimatedSecondsThatGrowWithTheWork) {
  // offset_linearity keeps Experiment::estimated_seconds' default: 1 ns per byte it allocates,
  // plus 10 ms per unit.
  const Plan plan = plan_of(units_config(500000));
  const auto units = plan_units(plan);
  for (size_t k = 0; k < 3; ++k)
    EXPECT_DOUBLE_EQ(units[k].cost, 0.01 + 1e-9 * double(units[k].memory_bytes)) << k;
  EXPECT_DOUBLE_EQ(units[4].cost, 0.01);  // snapshots
  // speed: benchmarks x (repetitions + 2) x (min_time + 5 ms) (an iteration of 8 x 8 is far
  // below min_time), less the unit's 10 ms; alibi has no table (a bias scheme), so only rope's
  // benchmarks count, sinusoidal's as many again.
  const auto speed_cost = [](double min_time, int repetitions, const char* encoders) {
    const json c =
        json::parse(std::string(R"({"name": "u", "seed": 1, "experiments": [
      {"type": "speed", "operations": ["table"], "shapes": [{"seq": 8, "dim": 8}],
       "implementations": ["simd"], "threads": [1], "min_time": )") +
                    std::to_string(min_time) + R"(, "repetitions": )" +
                    std::to_string(repetitions) + R"(, "encoders": )" + encoders + "}]}");
    return plan_units(plan_of(c)).at(0).cost - 0.01;
  };
  const double base = speed_cost(0.1, 3, R"([{"name": "rope"}])");
  // A whole number of benchmarks (the rope table and the probe measured next to it), each
  // (3 + 2) x (0.1 + 0.005) s.
  const double n = std::round(base / (5 * 0.105));
  EXPECT_GE(n, 1);
  EXPECT_NEAR(base, n * 5 * 0.105, 1e-12);
  EXPECT_NEAR(speed_cost(0.2, 3, R"([{"name": "rope"}])"), n * 5 * 0.205, 1e-12);
  EXPECT_NEAR(speed_cost(0.1, 8, R"([{"name": "rope"}])"), n * 10 * 0.105, 1e-12);
  EXPECT_NEAR(speed_cost(0.1, 3, R"([{"name": "rope"}, {"name": "alibi"}])"), base, 1e-12);
  EXPECT_NEAR(speed_cost(0.1, 3, R"([{"name": "rope"}, {"name": "sinusoidal"}])"), 2 * base, 1e-12);
}

}  // namespace
}  // namespace posbench
