// The speed experiment's statistics on crafted inputs, against values computed by hand: the
// summaries of repetitions, the pairing of reported repetitions with logged calls, the choice of
// the probe repetition nearest in time, and the fractions of the probe.
#include "harness/experiments/speed/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace posbench::speed {
namespace {

TEST(SpeedStatistics, MedianOfAnOddCount) {
  const Stats s = stats_of({3, 1, 2});
  EXPECT_DOUBLE_EQ(s.median, 2);
  EXPECT_DOUBLE_EQ(s.mean, 2);
  EXPECT_DOUBLE_EQ(s.stddev, 1);  // sqrt((1 + 0 + 1) / (3 - 1))
  EXPECT_DOUBLE_EQ(s.cv, 0.5);
  EXPECT_DOUBLE_EQ(median_of({9, 1, 5, 7, 3}), 5);
}

TEST(SpeedStatistics, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  const Stats s = stats_of({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(5.0 / 3.0));  // (2.25 + 0.25 + 0.25 + 2.25) / 3
  EXPECT_DOUBLE_EQ(median_of({5, 1}), 3);
}

TEST(SpeedStatistics, OneValueAndNone) {
  const Stats one = stats_of({7});
  EXPECT_DOUBLE_EQ(one.median, 7);
  EXPECT_DOUBLE_EQ(one.stddev, 0);
  EXPECT_DOUBLE_EQ(one.cv, 0);
  const Stats none = stats_of({});
  EXPECT_TRUE(std::isnan(none.median));
  EXPECT_TRUE(std::isnan(none.stddev));
  const nlohmann::json j = none.to_json({});
  EXPECT_TRUE(j["median"].is_null());
  EXPECT_TRUE(j["cv"].is_null());
  EXPECT_TRUE(j["all"].empty());
}

// Round 1: Google Benchmark tries 1 and 10 iterations, then reports 100; round 2 runs 100 once.
Repetitions two_rounds() {
  Repetitions r;
  r.seconds = {0.01, 0.02};  // reported: 1.0 s and 2.0 s of timed loop
  r.iterations = {100, 100};
  r.calls = {{0.0, 0.001, 1}, {0.1, 0.2, 10}, {1.0, 2.2, 100}, {5.0, 7.1, 100}};
  return r;
}

TEST(SpeedStatistics, CallsThatLineUpOneForOneGiveMidTimes) {
  const std::vector<double> at = repetition_times(two_rounds());
  ASSERT_EQ(at.size(), 2u);
  EXPECT_DOUBLE_EQ(at[0], 1.6);   // (1.0 + 2.2) / 2
  EXPECT_DOUBLE_EQ(at[1], 6.05);  // (5.0 + 7.1) / 2
}

TEST(SpeedStatistics, ACallExactlyAsLongAsReportedIsAccepted) {
  Repetitions r = two_rounds();
  r.calls[2] = {1.0, 2.0, 100};  // 1.0 s, as reported
  const std::vector<double> at = repetition_times(r);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_DOUBLE_EQ(at[0], 1.5);
}

void expect_all_unknown(const std::vector<double>& at, size_t n) {
  ASSERT_EQ(at.size(), n);
  for (double t : at) EXPECT_TRUE(std::isnan(t)) << t;
}

TEST(SpeedStatistics, AnExtraCallWithAReportedCountLeavesEveryTimeUnknown) {
  Repetitions r = two_rounds();
  r.calls.insert(r.calls.begin() + 2, {0.5, 0.9, 100});  // an estimation trial hit 100 too
  expect_all_unknown(repetition_times(r), 2);            // not shifted onto the wrong calls
}

TEST(SpeedStatistics, AMissingCallLeavesEveryTimeUnknown) {
  Repetitions r = two_rounds();
  r.calls.pop_back();
  expect_all_unknown(repetition_times(r), 2);
}

TEST(SpeedStatistics, ACallShorterThanItsReportedTimeLeavesEveryTimeUnknown) {
  Repetitions r = two_rounds();
  r.calls[3] = {5.0, 6.5, 100};  // 1.5 s, but 2.0 s was reported for it
  expect_all_unknown(repetition_times(r), 2);
}

TEST(SpeedStatistics, CallsInAnotherOrderThanTheRepetitionsLeaveEveryTimeUnknown) {
  Repetitions r;
  r.seconds = {0.01, 0.01};
  r.iterations = {100, 200};
  r.calls = {{0.0, 5.0, 200}, {6.0, 9.0, 100}};
  expect_all_unknown(repetition_times(r), 2);
}

TEST(SpeedStatistics, NearestInTimeAndTies) {
  EXPECT_EQ(nearest_in_time({1, 4, 9}, 5), 1u);
  EXPECT_EQ(nearest_in_time({1, 4, 9}, 7), 2u);
  EXPECT_EQ(nearest_in_time({1, 4, 9}, -3), 0u);
  EXPECT_EQ(nearest_in_time({1, 3}, 2), 0u);      // a tie: the first
  EXPECT_EQ(nearest_in_time({6, 2, 2}, 4), 0u);   // a tie between three: the first
  EXPECT_EQ(nearest_in_time({10, 2, 2}, 3), 1u);  // the first of the nearest
}

// op: 1000 B per iteration; probe: 2000 B. Bytes/s are given in the comments.
TEST(SpeedStatistics, EachRepetitionIsPairedWithTheProbeRepetitionNearestInTime) {
  const Timed op{1000, {1e-3, 5e-4, 1e-3}, {10, 20, 13}};    // 1e6, 2e6, 1e6
  const Timed probe{2000, {1e-3, 4e-3, 2e-3}, {9, 14, 21}};  // 2e6, 5e5, 1e6
  const std::vector<double> f = paired_fractions(op, probe);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(f[0], 0.5);  // at 10: the probe at 9
  EXPECT_DOUBLE_EQ(f[1], 2.0);  // at 20: the probe at 21
  EXPECT_DOUBLE_EQ(f[2], 2.0);  // at 13: the probe at 14
  EXPECT_DOUBLE_EQ(median_of(f), 2.0);
  // The ratio of the medians: 1e6 / (2000 / 2e-3 = 1e6).
  EXPECT_DOUBLE_EQ(fraction_of_medians(op, probe), 1.0);
}

TEST(SpeedStatistics, APairingTieTakesTheEarlierProbeRepetition) {
  const Timed op{1000, {1e-3, 1e-3}, {15, 30}};     // 1e6, 1e6
  const Timed probe{1000, {2e-3, 5e-4}, {10, 20}};  // 5e5, 2e6
  const std::vector<double> f = paired_fractions(op, probe);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_DOUBLE_EQ(f[0], 2.0);  // at 15: 10 and 20 equally near, the first (5e5)
  EXPECT_DOUBLE_EQ(f[1], 0.5);  // at 30: the probe at 20
  EXPECT_DOUBLE_EQ(median_of(f), 1.25);
  // Medians: 1e6 over 1000 / 1.25e-3 = 8e5.
  EXPECT_DOUBLE_EQ(fraction_of_medians(op, probe), 1.25);
}

TEST(SpeedStatistics, NoPairsWhenAnyTimeIsUnknown) {
  const Timed op{1000, {1e-3, 1e-3}, {15, 30}};
  EXPECT_TRUE(paired_fractions(op, {1000, {1e-3, 1e-3}, {10, NAN}}).empty());
  EXPECT_TRUE(paired_fractions({1000, {1e-3, 1e-3}, {NAN, NAN}}, op).empty());
  EXPECT_TRUE(paired_fractions(op, {1000, {}, {}}).empty());
  // The medians need no times.
  EXPECT_DOUBLE_EQ(fraction_of_medians(op, {4000, {2e-3, 2e-3}, {NAN, NAN}}), 0.5);
}

}  // namespace
}  // namespace posbench::speed
