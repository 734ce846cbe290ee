// Task generators of trained_extrapolation: exact token layouts (checked by re-deriving each
// output from the input with independent code), lengths, seeds, and the batch's loss mask.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "harness/experiments/trained/tasks.h"

namespace posbench::trained {
namespace {

std::vector<int64_t> slice(const std::vector<int64_t>& v, int64_t from, int64_t to) {
  return {v.begin() + from, v.begin() + to};
}

TEST(TrainedTasks, CopyReverseSortDuplicateLayouts) {
  for (const char* name : {"copy", "reverse", "sort", "duplicate"}) {
    const TaskSpec task{task_from_name(name), 7, true};
    Rng rng(3, "t");
    for (int64_t n : {1, 2, 5, 9}) {
      const Example e = make_example(task, n, rng);
      ASSERT_EQ(int64_t(e.tokens.size()), task.sequence_length(n)) << name;
      ASSERT_EQ(e.output_start, n + 1);
      EXPECT_EQ(e.tokens[size_t(n)], kSep);
      const auto x = slice(e.tokens, 0, n), y = slice(e.tokens, n + 1, int64_t(e.tokens.size()));
      for (int64_t t : x) EXPECT_TRUE(t >= kFirstSymbol && t < kFirstSymbol + 7);
      std::vector<int64_t> want = x;
      if (std::string(name) == "reverse") want.assign(x.rbegin(), x.rend());
      if (std::string(name) == "sort") std::sort(want.begin(), want.end());
      if (std::string(name) == "duplicate") want.insert(want.end(), x.begin(), x.end());
      EXPECT_EQ(y, want) << name << " n=" << n;
      EXPECT_EQ(int64_t(y.size()), task.output_length(n));
    }
  }
}

TEST(TrainedTasks, FixedSeedGivesAFixedSequence) {
  const TaskSpec copy{TaskKind::copy, 10, true};
  Rng a(5, "s"), b(5, "s"), c(6, "s");
  const Example ea = make_example(copy, 12, a), eb = make_example(copy, 12, b),
                ec = make_example(copy, 12, c);
  EXPECT_EQ(ea.tokens, eb.tokens);
  EXPECT_NE(ea.tokens, ec.tokens);  // 10^-12 chance of equality
}

// Digits of `v` (values, not ids) as the number they spell in the given order.
uint64_t number(const std::vector<int64_t>& ids, bool lsb_first) {
  uint64_t v = 0;
  std::vector<int64_t> d = ids;
  if (lsb_first) std::reverse(d.begin(), d.end());
  for (int64_t id : d) v = v * 10 + uint64_t(id - kFirstSymbol);
  return v;
}

TEST(TrainedTasks, AdditionIsTheSumInBothDigitOrders) {
  for (bool lsb : {true, false}) {
    const TaskSpec task{TaskKind::addition, 10, lsb};
    Rng rng(1, "add");
    for (int rep = 0; rep < 50; ++rep) {
      const int64_t n = 1 + rep % 8;
      const Example e = make_example(task, n, rng);
      ASSERT_EQ(int64_t(e.tokens.size()), 3 * n + 3);
      EXPECT_EQ(e.tokens[size_t(n)], kPlus);
      EXPECT_EQ(e.tokens[size_t(2 * n + 1)], kSep);
      EXPECT_EQ(e.output_start, 2 * n + 2);
      const uint64_t a = number(slice(e.tokens, 0, n), lsb);
      const uint64_t b = number(slice(e.tokens, n + 1, 2 * n + 1), lsb);
      const uint64_t c = number(slice(e.tokens, 2 * n + 2, 3 * n + 3), lsb);
      EXPECT_EQ(a + b, c) << "lsb=" << lsb << " n=" << n;
    }
  }
  // A literal: with lsb_first, 21 + 93 (written 1 2 + 3 9) = 114 written 4 1 1.
  const TaskSpec lsb{TaskKind::addition, 10, true};
  Rng rng(0, "x");
  const Example e = make_example(lsb, 2, rng);
  const uint64_t a = number(slice(e.tokens, 0, 2), true), b = number(slice(e.tokens, 3, 5), true);
  const uint64_t s = a + b;
  EXPECT_EQ(e.tokens[6], kFirstSymbol + int64_t(s % 10));
  EXPECT_EQ(e.tokens[7], kFirstSymbol + int64_t(s / 10 % 10));
  EXPECT_EQ(e.tokens[8], kFirstSymbol + int64_t(s / 100));
}

TEST(TrainedTasks, ParityAndLookup) {
  const TaskSpec parity{TaskKind::parity, 10, true};
  Rng rng(2, "p");
  for (int64_t n : {1, 3, 10}) {
    const Example e = make_example(parity, n, rng);
    ASSERT_EQ(int64_t(e.tokens.size()), n + 2);
    int64_t ones = 0;
    for (int64_t t = 0; t < n; ++t) {
      ASSERT_TRUE(e.tokens[size_t(t)] == kFirstSymbol || e.tokens[size_t(t)] == kFirstSymbol + 1);
      ones += e.tokens[size_t(t)] - kFirstSymbol;
    }
    EXPECT_EQ(e.tokens[size_t(n)], kSep);
    EXPECT_EQ(e.tokens.back(), kFirstSymbol + ones % 2);
  }
  const TaskSpec lookup{TaskKind::lookup, 4, true};  // a small alphabet: keys repeat
  for (int64_t n : {1, 6, 12}) {
    const Example e = make_example(lookup, n, rng);
    ASSERT_EQ(int64_t(e.tokens.size()), 2 * n + 3);
    const int64_t q = e.tokens[size_t(2 * n)];
    int64_t found = -1;
    bool present = false;
    for (int64_t i = n - 1; i >= 0 && found < 0; --i)
      if (e.tokens[size_t(2 * i)] == q) found = e.tokens[size_t(2 * i + 1)], present = true;
    EXPECT_TRUE(present);
    EXPECT_EQ(e.tokens[size_t(2 * n + 1)], kSep);
    EXPECT_EQ(e.tokens.back(), found);
  }
}

// With BOS (the experiment's default) every task is the same example, drawn from the same
// random numbers, with one BOS token in front: T and output_start one more.
TEST(TrainedTasks, BosPrependsOneTokenToEveryTask) {
  for (const auto& name : task_names()) {
    const TaskSpec plain{task_from_name(name), 7, true, false};
    const TaskSpec with{task_from_name(name), 7, true, true};
    EXPECT_EQ(with.vocab(), plain.vocab()) << name;  // BOS has its id either way
    for (int64_t n : {1, 4, 11}) {
      Rng a(9, "bos"), b(9, "bos");
      const Example ep = make_example(plain, n, a), ew = make_example(with, n, b);
      ASSERT_EQ(int64_t(ew.tokens.size()), with.sequence_length(n)) << name;
      EXPECT_EQ(with.sequence_length(n), plain.sequence_length(n) + 1);
      EXPECT_EQ(ew.tokens.front(), kBos);
      EXPECT_EQ(slice(ew.tokens, 1, int64_t(ew.tokens.size())), ep.tokens) << name << " " << n;
      EXPECT_EQ(ew.output_start, ep.output_start + 1);
      EXPECT_EQ(std::count(ew.tokens.begin(), ew.tokens.end(), kBos), 1) << name;
    }
  }
  // The ids: PAD 0, SEP 1, PLUS 2, BOS 3, symbols from 4.
  EXPECT_EQ(kBos, 3);
  EXPECT_EQ(kFirstSymbol, 4);
  EXPECT_EQ((TaskSpec{TaskKind::copy, 10, true, true}.vocab()), 14);
  EXPECT_EQ((TaskSpec{TaskKind::copy, 20, true, true}.vocab()), 24);
}

TEST(TrainedTasks, BatchShiftsTargetsPadsAndMasksOnlyOutputs) {
  const TaskSpec copy{TaskKind::copy, 10, true};
  Rng rng(4, "b");
  const std::vector<Example> ex = {make_example(copy, 3, rng), make_example(copy, 1, rng)};
  const Batch b = make_batch(ex);
  ASSERT_EQ(b.rows, 2);
  ASSERT_EQ(b.cols, 6);  // 2 * 3 + 1 - 1
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{6, 2}));
  // Row 0: tokens x0 x1 x2 SEP x0 x1 x2; outputs are tokens 4..6, predicted at t = 3..5.
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_EQ(b.inputs[size_t(t)], ex[0].tokens[size_t(t)]);
    EXPECT_EQ(b.targets[size_t(t)], ex[0].tokens[size_t(t + 1)]);
    EXPECT_EQ(b.loss_mask[size_t(t)], t >= 3 ? 1.0f : 0.0f) << t;
  }
  // Row 1: x0 SEP x0: one output predicted at t = 1, then padding.
  EXPECT_EQ(b.loss_mask[6 + 0], 0.0f);
  EXPECT_EQ(b.loss_mask[6 + 1], 1.0f);
  for (int64_t t = 2; t < 6; ++t) {
    EXPECT_EQ(b.inputs[size_t(6 + t)], kPad);
    EXPECT_EQ(b.targets[size_t(6 + t)], kPad);
    EXPECT_EQ(b.loss_mask[size_t(6 + t)], 0.0f);
  }
  // Masked count = the outputs of every example.
  EXPECT_EQ(std::accumulate(b.loss_mask.begin(), b.loss_mask.end(), 0.0f), 4.0f);
}

}  // namespace
}  // namespace posbench::trained
