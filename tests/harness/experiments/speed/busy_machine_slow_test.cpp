// Integration (ctest label `slow`, run serially; part of the README's test command): a tiny speed
// run while busy-loop processes occupy every online core must come out with every record marked
// unreliable for a load reason, and say so on the console. It asserts the marks, never a speed.
//
// Why it is reliable although the load average lags by a minute: the check that fires is the
// CPU time other processes used during each group (/proc/stat's busy time less this process's
// own; reliability.h), which counts the busy loops from their first second. With N loops on N
// cores and at most N benchmark threads, the loops get at least half of the machine, twice the
// threshold (a quarter of the cores).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

// One busy-loop child per online core, killed (by pid) when this goes out of scope; each child
// also dies with this process (PR_SET_PDEATHSIG).
class BusyLoops {
 public:
  BusyLoops() {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < std::max(1L, cores); ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile unsigned long spin = 0;
        for (;;) spin = spin + 1;
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~BusyLoops() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  size_t count() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

const char* kTinySpeed = R"({
  "name": "busy",
  "experiments": [{
    "type": "speed",
    "operations": ["apply"],
    "shapes": [{"seq": 64, "heads": 2, "head_dim": 16}],
    "threads": [1, 2],
    "implementations": ["simd"],
    "min_time": 0.01,
    "repetitions": 3,
    "probe_mib": 1,
    "encoders": [{"name": "rope"}, {"name": "sinusoidal"}]
  }]
})";

bool load_reason(const json& record) {
  if (!record.contains("unreliable")) return false;
  for (const json& r : record["unreliable"]["reasons"])
    if (r["check"] == "other_cpu" || r["check"] == "load_average") return true;
  return false;
}

TEST(SpeedBusyMachineSlow, BusyLoopsOnEveryCoreMarkEveryRecordUnreliable) {
  test::TempDir dir("posbench-busy-test");
  const auto config = dir / "busy.json";
  std::ofstream(config) << kTinySpeed;
  const auto out = dir / "busy-results.json";

  BusyLoops loops;
  ASSERT_GE(loops.count(), 1u);
  const test::BinaryResult r =
      test::run_posbench("run " + test::quoted(config) + " -o " + test::quoted(out), dir.path());
  ASSERT_EQ(r.code, 0) << r.err;

  json doc;
  std::ifstream(out) >> doc;
  const json& e = doc["experiments"][0];
  int records = 0;
  for (const json& enc : e["encoders"])
    for (const json& b : enc["extra"]["benchmarks"]) {
      ++records;
      EXPECT_TRUE(load_reason(b)) << b["name"] << ": " << b.value("unreliable", json()).dump();
    }
  for (const json& p : e["extra"]["probes"]) {
    ++records;
    EXPECT_TRUE(load_reason(p)) << p["name"];
  }
  EXPECT_GT(records, 0);
  EXPECT_EQ(e["extra"]["reliability"]["unreliable_records"], records);
  // The console says so: the live warning on stderr and the summary's WARNING line.
  EXPECT_TRUE(test::has(r.err, "speed: warning:")) << r.err;
  EXPECT_TRUE(test::has(r.out, "WARNING:")) << r.out;
  EXPECT_TRUE(test::has(r.out, "other_cpu") || test::has(r.out, "load_average")) << r.out;
}

}  // namespace
}  // namespace posbench
