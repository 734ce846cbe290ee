// The per-operation bytes, elements and working sets of the speed experiment (plan.h cost_of),
// against closed-form counts for one shape, and the benchmarks and groups of a small plan.
#include "harness/experiments/speed/plan.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace posbench::speed {
namespace {

using nlohmann::json;

// [seq, heads, head_dim] = [40, 2, 12]: 960 embedding elements, 3200 bias elements,
// 40 * 41 / 2 * 2 = 1640 causal (query, key) pairs.
const Shape kShape{40, 2, 12, false};

void expect_cost(const Cost& c, double elements, double bytes, uint64_t working_set,
                 double flops = 0) {
  EXPECT_DOUBLE_EQ(c.elements, elements);
  EXPECT_DOUBLE_EQ(c.bytes, bytes);
  EXPECT_EQ(c.working_set, working_set);
  EXPECT_DOUBLE_EQ(c.flops, flops);
}

TEST(SpeedPlan, AdditiveTableAndApply) {
  const auto enc = test::make_scheme("sinusoidal", json::object());
  // table: PE [40, 24] written, float32.
  expect_cost(cost_of(Op::table, enc.get(), kShape, 4), 960, 960 * 4, 960 * 4);
  // apply: x and PE read, x written; the working set is x and PE.
  const Cost apply = cost_of(Op::apply, enc.get(), kShape, 4);
  expect_cost(apply, 960, 3 * 960 * 4, 2 * 960 * 4);
  EXPECT_TRUE(apply.memory_bound);
  EXPECT_EQ(apply.probe, Op::probe_inplace);
}

TEST(SpeedPlan, RotaryApplyReadsAndWritesQAndK) {
  const auto enc = test::make_scheme("rope", json::object());
  // q and k [40, 2, 12], each read and written: 2 * 40 * 2 * 12 * 4 = 7680 bytes each.
  expect_cost(cost_of(Op::apply, enc.get(), kShape, 4), 2 * 960, 2 * 7680, 2 * 960 * 4);
  // float64: twice the bytes, the same elements.
  expect_cost(cost_of(Op::apply, enc.get(), kShape, 8), 2 * 960, 2 * 2 * 960 * 8, 2 * 960 * 8);
  // table: cos and sin [40, 6] each.
  const Cost table = cost_of(Op::table, enc.get(), kShape, 4);
  expect_cost(table, 480, 480 * 4, 480 * 4);
  EXPECT_FALSE(table.memory_bound);
  EXPECT_EQ(table.probe, Op::probe_fill);
}

TEST(SpeedPlan, PartialRotaryCountsOnlyTheRotatedChannels) {
  const auto enc = test::make_scheme("rope", {{"rotary_fraction", 0.5}});
  const Shape sh{40, 2, 10, false};  // floor(0.5 * 10) = 5, rounded down to even: 4 channels
  expect_cost(cost_of(Op::apply, enc.get(), sh, 4), 2 * 40 * 2 * 4, 2 * 2 * 40 * 2 * 4 * 4,
              2 * 40 * 2 * 4 * 4);
  expect_cost(cost_of(Op::table, enc.get(), sh, 4), 2 * 40 * 2, 2 * 40 * 2 * 4, 2 * 40 * 2 * 4);
}

TEST(SpeedPlan, BiasApplyAndMaterialize) {
  const auto enc = test::make_scheme("alibi", json::object());
  // logits [2, 40, 40] read and written; the bias written.
  expect_cost(cost_of(Op::apply, enc.get(), kShape, 4), 3200, 2 * 3200 * 4, 3200 * 4);
  const Cost m = cost_of(Op::materialize_bias, enc.get(), kShape, 4);
  expect_cost(m, 3200, 3200 * 4, 3200 * 4);
  EXPECT_EQ(m.probe, Op::probe_fill);
  EXPECT_THROW(cost_of(Op::table, enc.get(), kShape, 4), std::logic_error);
}

TEST(SpeedPlan, AttentionCountsFlopsNotBytes) {
  const auto enc = test::make_scheme("alibi", json::object());
  // 1640 pairs, 4 * head_dim = 48 flops each.
  expect_cost(cost_of(Op::attention, enc.get(), kShape, 4), 1640, 0, 0, 1640 * 48);
  expect_cost(cost_of(Op::attention_fused, enc.get(), kShape, 4), 1640, 0, 0, 1640 * 48);
  expect_cost(cost_of(Op::attention_none, nullptr, kShape, 8), 1640, 0, 0, 1640 * 48);
}

TEST(SpeedPlan, ProbesAndTheirSizes) {
  expect_cost(probe_cost(Op::probe_inplace, 1024), 256, 2048, 1024);
  expect_cost(probe_cost(Op::probe_fill, 1024), 256, 1024, 1024);
  expect_cost(probe_cost(Op::probe_copy, 1024), 256, 1024, 1024);
  EXPECT_EQ(probe_size(0), 64u);
  EXPECT_EQ(probe_size(1), 64u);
  EXPECT_EQ(probe_size(64), 64u);
  EXPECT_EQ(probe_size(65), 128u);
}

TEST(SpeedPlan, OneOperationGroupWithItsProbe) {
  Config c;
  c.operations = {"apply", "materialize_bias"};  // materialize_bias: not for rotary
  c.shapes = {kShape};
  c.threads = {1, 2};
  c.impls = {kernels::Impl::reference, kernels::Impl::simd};
  c.probe_bytes = 1 << 20;
  EncoderInstance rope;
  rope.name = rope.label = "rope";
  rope.family = Family::rotary;
  rope.encoder = test::make_scheme("rope", json::object());
  const Plan plan = make_plan(c, {rope}, 4);
  ASSERT_EQ(plan.groups.size(), 2u);             // the reference probes, rope's apply
  EXPECT_EQ(plan.groups[1].probe_bytes, 7680u);  // q and k: 2 * 960 * 4
  // 3 kinds x 2 threads of reference probes, 2 in-place probes next to apply, 2 x 2 applies.
  ASSERT_EQ(plan.benches.size(), 12u);
  EXPECT_EQ(plan.benches[0].name, "probe/inplace/1048576B/threads:1");
  EXPECT_EQ(plan.benches[6].name, "probe/inplace/7680B/threads:1/next_to:rope/apply/40x2x12");
  EXPECT_DOUBLE_EQ(plan.benches[6].bytes, 2 * 7680);  // read and written
  const Bench& apply = plan.benches[8];
  EXPECT_EQ(apply.name, "rope/apply/40x2x12/threads:1/reference");
  EXPECT_DOUBLE_EQ(apply.bytes, 15360);
  EXPECT_EQ(apply.working_set, 7680u);
  EXPECT_EQ(apply.group, 1);
  EXPECT_EQ(apply.probe, Op::probe_inplace);
  EXPECT_EQ(not_applicable(c, Family::rotary),
            std::vector<std::string>{"materialize_bias: only bias schemes have a bias"});
}

}  // namespace
}  // namespace posbench::speed
