// Progress lines (harness/run/progress.h) with a hand-driven clock.
#include "harness/run/progress.h"

#include <gtest/gtest.h>

#include <cmath>

namespace posbench {
namespace {

TEST(Progress, ClockText) {
  EXPECT_EQ(Progress::clock_text(7), "0:07");
  EXPECT_EQ(Progress::clock_text(754), "12:34");
  EXPECT_EQ(Progress::clock_text(3723), "1:02:03");
  EXPECT_EQ(Progress::clock_text(std::nan("")), "?");
}

TEST(Progress, LineSaysDoneTotalElapsedLeftAndTheUnit) {
  EXPECT_EQ(Progress::line(3, 12, 12, 36, "experiments[0] x: rope"),
            "[3/12] 25% 0:12 elapsed, ~0:36 left: experiments[0] x: rope");
}

TEST(Progress, PipedPrintsAtMostEveryIntervalWithAnEstimate) {
  double now = 100;
  std::string out;
  Progress p(
      4, 1, false, 10, [&] { return now; }, [&](const std::string& s) { out += s; });
  p.begin("u1");  // at 0 s: too soon
  now = 104;
  p.finish();
  EXPECT_EQ(out, "");
  now = 111;
  p.begin("u2");  // 11 s in, 1 unit of this process done in 11 s, 2 left: ~22 s
  EXPECT_EQ(out, "posbench: [2/4] 50% 0:11 elapsed, ~0:22 left: u2\n");
  now = 115;
  p.finish();
  p.begin("u3");  // 4 s after the last line: nothing
  EXPECT_EQ(out, "posbench: [2/4] 50% 0:11 elapsed, ~0:22 left: u2\n");
}

TEST(Progress, TerminalRewritesOneLineInPlace) {
  double now = 0;
  std::string out;
  Progress p(
      2, 0, true, 10, [&] { return now; }, [&](const std::string& s) { out += s; });
  p.begin("a");
  EXPECT_EQ(out, "\r[0/2] 0% 0:00 elapsed, ~? left: a\033[K");
  out.clear();
  now = 3;
  p.finish();
  EXPECT_EQ(out, "\r[1/2] 50% 0:03 elapsed, ~0:03 left: a\033[K");
  out.clear();
  p.close();
  EXPECT_EQ(out, "\r\033[K");
}

}  // namespace
}  // namespace posbench
