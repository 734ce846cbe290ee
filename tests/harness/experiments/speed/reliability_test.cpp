// The speed experiment's reliability checks on made-up machine readings, against values worked
// out by hand: the /proc parsers, other processes' CPU use, each check's threshold (just inside
// and just outside), the window that reaches back to earlier groups, and --wait-for-quiet with a
// fake clock (no sleeping, no timing asserted).
#include "harness/experiments/speed/reliability.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace posbench::speed {
namespace {

bool has_check(const std::vector<Reason>& why, const std::string& check) {
  for (const Reason& r : why)
    if (r.check == check) return true;
  return false;
}

TEST(SpeedReliability, ParsesTheLoadAverage) {
  EXPECT_DOUBLE_EQ(parse_loadavg_1min("14.60 9.10 3.25 5/812 40213\n"), 14.6);
  EXPECT_TRUE(std::isnan(parse_loadavg_1min("")));
  EXPECT_TRUE(std::isnan(parse_loadavg_1min("busy")));
}

TEST(SpeedReliability, ParsesProcStat) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const std::string text =
      "cpu  100 5 50 1000 20 3 2 10 7 0\n"
      "cpu0 50 2 25 500 10 1 1 5 0 0\n"
      "intr 12345\n"
      "procs_running 3\n"
      "procs_blocked 0\n";
  double busy = 0;
  int running = 0;
  parse_proc_stat(text, 100, busy, running);
  EXPECT_DOUBLE_EQ(busy, (100 + 5 + 50 + 3 + 2 + 10) / 100.0);  // idle, iowait, guest excluded
  EXPECT_EQ(running, 3);
  parse_proc_stat("nothing here\n", 100, busy, running);
  EXPECT_TRUE(std::isnan(busy));
  EXPECT_EQ(running, -1);
}

LoadSample at(double wall, double busy, double own, double avg = 0.1) {
  LoadSample s;
  s.wall_s = wall;
  s.busy_cpu_s = busy;
  s.own_cpu_s = own;
  s.loadavg_1min = avg;
  return s;
}

TEST(SpeedReliability, OtherCoresIsTheMachinesBusyTimeLessOursOverTheWall) {
  // 2 s: the machine was busy 3 CPU-s, 1 of them ours: others used 1 core.
  EXPECT_DOUBLE_EQ(other_cores(at(10, 100, 5), at(12, 103, 6)), 1.0);
  // Tick rounding can make ours exceed the machine's count: never below 0.
  EXPECT_DOUBLE_EQ(other_cores(at(10, 100, 5), at(11, 100.5, 5.6)), 0.0);
  EXPECT_TRUE(std::isnan(other_cores(at(10, 100, 5), at(10, 101, 5))));  // no time passed
  EXPECT_TRUE(std::isnan(other_cores(at(10, NAN, 5), at(11, 101, 5))));
}

// Two cores, a 2-thread experiment: load-average limit 2 + 2 = 4; other CPU limit 0.5 cores.
MachineLoad two_groups(double others_in_group1) {
  MachineLoad m;
  m.cores = 2;
  m.before_start = at(0.0, 0.0, 0.0);
  m.before_end = at(0.5, 0.0, 0.0);
  m.groups = {{at(0.5, 0.0, 0.0), at(2.5, 2.0, 2.0)},  // 2 s, all busy time ours
              {at(2.5, 2.0, 2.0), at(4.5, 2.0 + 2 * (1 + others_in_group1), 4.0)}};
  return m;
}

TEST(SpeedReliability, OtherProcessesAboveAQuarterOfTheCoresMarkTheGroup) {
  const Thresholds t;
  EXPECT_TRUE(load_reasons(two_groups(0.0), 1, 2, t).empty());
  EXPECT_TRUE(load_reasons(two_groups(0.49), 1, 2, t).empty());
  const auto why = load_reasons(two_groups(0.51), 1, 2, t);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_EQ(why[0].check, "other_cpu");
  EXPECT_TRUE(why[0].figure.empty());  // the whole record
  EXPECT_NE(why[0].detail.find("0.51 of 2 cores"), std::string::npos) << why[0].detail;
  EXPECT_TRUE(load_reasons(two_groups(0.51), 0, 2, t).empty());  // group 0 was quiet
}

TEST(SpeedReliability, AShortGroupsWindowReachesBackToEarlierGroups) {
  // Group 1 lasts 0.2 s; with min_window_s = 1 its window starts at group 0's start (t = 0.5),
  // whose 1.0 s held 0.9 CPU-s of others: (0.9 + 0) / 1.2 s = 0.75 cores > 0.5.
  MachineLoad m;
  m.cores = 2;
  m.before_start = at(0.0, 0.0, 0.0);
  m.before_end = at(0.5, 0.0, 0.0);
  m.groups = {{at(0.5, 0.0, 0.0), at(1.5, 1.9, 1.0)}, {at(1.5, 1.9, 1.0), at(1.7, 2.3, 1.4)}};
  const Thresholds t;
  const auto why = load_reasons(m, 1, 2, t);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].detail.find("0.75 of 2 cores over the 1.20 s"), std::string::npos)
      << why[0].detail;
  // Group 0's own window (1 s) is long enough: 0.9 cores.
  EXPECT_NE(load_reasons(m, 0, 2, t)[0].detail.find("0.90 of 2 cores over the 1.00 s"),
            std::string::npos);
}

TEST(SpeedReliability, LoadAverageAboveCoresPlusOurThreadsMarksEveryGroup) {
  const Thresholds t;
  MachineLoad m = two_groups(0.0);
  m.before_end.loadavg_1min = 4.0;  // = 2 cores + 2 threads: not above
  EXPECT_TRUE(load_reasons(m, 0, 2, t).empty());
  m.before_end.loadavg_1min = 14.6;                     // the machine
  for (size_t g : {size_t(0), size_t(1), size_t(2)}) {  // 2: before the experiment only
    const auto why = load_reasons(m, g, 2, t);
    ASSERT_EQ(why.size(), 1u) << g;
    EXPECT_EQ(why[0].check, "load_average");
    EXPECT_NE(why[0].detail.find("14.60"), std::string::npos);
  }
  m.before_end.loadavg_1min = 1.0;
  m.groups[1].start.loadavg_1min = 4.5;  // at the start of group 1 only
  EXPECT_TRUE(load_reasons(m, 0, 2, t).empty());
  EXPECT_TRUE(has_check(load_reasons(m, 1, 2, t), "load_average"));
  EXPECT_TRUE(load_reasons(m, 1, 3, t).empty());  // 3 threads: limit 5
}

TEST(SpeedReliability, ProbeDriftComparesTheFirstAndLastRepetition) {
  const Thresholds t;  // +-30%
  // GB/s ratio last / first = seconds first / last.
  EXPECT_TRUE(drift_reasons("p", {1.0, 2.0, 1.2}, t).empty());  // 1 / 1.2 = 0.833
  const auto slower = drift_reasons("p", {1.0, 1.1, 1.5}, t);   // 1 / 1.5 = 0.667
  ASSERT_EQ(slower.size(), 1u);
  EXPECT_EQ(slower[0].check, "probe_drift");
  EXPECT_NE(slower[0].detail.find("0.67x"), std::string::npos) << slower[0].detail;
  EXPECT_FALSE(drift_reasons("p", {1.4, 1.0}, t).empty());  // 1.4 x faster
  EXPECT_TRUE(drift_reasons("p", {1.25, 1.0}, t).empty());  // 1.25 x
  EXPECT_TRUE(drift_reasons("p", {1.0}, t).empty());        // one repetition: no drift to see
}

TEST(SpeedReliability, CoefficientOfVariationAboveAQuarter) {
  const Thresholds t;
  EXPECT_TRUE(cv_reasons({1, 1, 1}, t).empty());
  // mean 1, sample stddev sqrt((0.04 + 0 + 0.04) / 2) = 0.2: cv 0.2.
  EXPECT_TRUE(cv_reasons({0.8, 1.0, 1.2}, t).empty());
  // mean 2, stddev 1: cv 0.5.
  const auto why = cv_reasons({1, 2, 3}, t);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_EQ(why[0].check, "repetition_cv");
  EXPECT_NE(why[0].detail.find("0.50"), std::string::npos);
}

TEST(SpeedReliability, RatiosOutsideTheirPlausibleRange) {
  const Thresholds t;
  // The figures: fraction_of_probe 240 and 8.86, a share of -0.21.
  for (double v : {240.0, 8.86, 1.51, 0.0, -1.0})
    EXPECT_TRUE(has_check(ratio_reasons("fraction_of_probe", v, t), "implausible_ratio")) << v;
  for (double v : {0.01, 0.9, 1.5}) EXPECT_TRUE(ratio_reasons("fraction_of_probe", v, t).empty());
  for (double v : {-0.21, 1.01})
    EXPECT_FALSE(ratio_reasons("scheme_share_of_attention", v, t).empty()) << v;
  for (double v : {-0.1, 0.0, 0.4, 1.0})
    EXPECT_TRUE(ratio_reasons("scheme_share_of_attention", v, t).empty()) << v;
  // 2 threads against 1: ideal 2, plausible up to 1.5 * 2 = 3; 10x slower is not plausible.
  EXPECT_TRUE(ratio_reasons("speedup_vs_1_thread", 2.9, t, 2, 1).empty());
  EXPECT_FALSE(ratio_reasons("speedup_vs_1_thread", 3.1, t, 2, 1).empty());
  EXPECT_FALSE(ratio_reasons("speedup_vs_1_thread", 0.05, t, 2, 1).empty());
  EXPECT_TRUE(ratio_reasons("speedup_vs_1_thread", 0.5, t, 2, 1).empty());
  EXPECT_FALSE(ratio_reasons("speedup_vs_2_threads", 3.1, t, 4, 2).empty());  // 1.5 * 4 / 2
  EXPECT_TRUE(ratio_reasons("speedup_vs_reference", 40, t).empty());
  EXPECT_FALSE(ratio_reasons("speedup_vs_reference", 101, t).empty());
  const auto why = ratio_reasons("scheme_share_of_attention", -0.21, t);
  EXPECT_EQ(why[0].figure, "scheme_share_of_attention");
}

// A machine whose readings are scripted; sleep() moves its clock, nothing waits.
class FakeMachine final : public LoadSource {
 public:
  FakeMachine(int cores, std::vector<double> loadavg, double others_cores)
      : cores_(cores), loadavg_(std::move(loadavg)), others_(others_cores) {}
  LoadSample sample() override {
    LoadSample s;
    s.wall_s = clock_;
    s.loadavg_1min = loadavg_[std::min(samples_, loadavg_.size() - 1)];
    s.busy_cpu_s = others_ * clock_;  // others at a constant rate, we use nothing
    ++samples_;
    return s;
  }
  int online_cores() const override { return cores_; }
  void sleep(double seconds) override {
    clock_ += seconds;
    slept_.push_back(seconds);
  }
  std::vector<double> slept_;

 private:
  int cores_;
  std::vector<double> loadavg_;
  double others_;
  double clock_ = 100;
  size_t samples_ = 0;
};

TEST(SpeedReliability, WaitForQuietStopsWhenTheLoadAverageFallsBelowHalfTheCores) {
  FakeMachine m(2, {3.0, 2.0, 1.5, 0.8, 0.1}, 0.0);
  const Thresholds t;  // quiet: load average < 0.5 * 2 = 1
  const auto w = wait_for_quiet(m, 60, t);
  EXPECT_TRUE(w["quiet"].get<bool>());
  EXPECT_DOUBLE_EQ(w["waited_s"].get<double>(), 3.0);  // polls at 1, 2, 3 s: 2.0, 1.5, 0.8
  EXPECT_DOUBLE_EQ(w["loadavg_1min"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(w["threshold_loadavg_1min"].get<double>(), 1.0);
  EXPECT_EQ(m.slept_.size(), 3u);
}

TEST(SpeedReliability, WaitForQuietGivesUpAfterItsSecondsAndSaysSo) {
  FakeMachine m(2, {5.0}, 0.0);
  const auto w = wait_for_quiet(m, 2.5, Thresholds{});
  EXPECT_FALSE(w["quiet"].get<bool>());
  EXPECT_DOUBLE_EQ(w["waited_s"].get<double>(), 2.5);  // 1 + 1 + 0.5: never past the limit
  EXPECT_DOUBLE_EQ(w["asked_s"].get<double>(), 2.5);
}

TEST(SpeedReliability, WaitForQuietAlsoWaitsForOtherProcessesCpu) {
  // A low load average (it lags) but others busy on 1.5 of 2 cores right now: not quiet.
  FakeMachine m(2, {0.2}, 1.5);
  const auto w = wait_for_quiet(m, 3, Thresholds{});
  EXPECT_FALSE(w["quiet"].get<bool>());
  EXPECT_DOUBLE_EQ(w["other_cores"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(w["threshold_other_cores"].get<double>(), 0.5);
}

}  // namespace
}  // namespace posbench::speed
