// The default results file name: results/<stem>-<YYYYmmddTHHMMSSZ>.json, never an existing one.
// (Writing results files atomically is encoders/files.h, tested in tests/encoders/files_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "encoders/error.h"
#include "harness/run/results_file.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::CwdGuard;

class ResultsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("posbench-results-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(ResultsFile, DefaultPathFormat) {
  CwdGuard cwd(dir_);
  const std::time_t before = std::time(nullptr);
  const fs::path p = default_results_path("configs/my-config.json");
  const std::time_t after = std::time(nullptr);
  std::smatch m;
  const std::string s = p.string();
  ASSERT_TRUE(std::regex_match(s, m, std::regex(R"(results/my-config-(\d{8}T\d{6}Z)\.json)"))) << s;
  // The timestamp is UTC "now".
  std::tm tm{};
  ASSERT_NE(strptime(m[1].str().c_str(), "%Y%m%dT%H%M%SZ", &tm), nullptr);
  const std::time_t stamp = timegm(&tm);
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);

  // Never the name of an existing file: with that one taken, the next differs and is free.
  fs::create_directories(dir_ / "results");
  std::ofstream(dir_ / p) << "taken";
  const fs::path q = default_results_path("configs/my-config.json");
  EXPECT_NE(q, p);
  EXPECT_FALSE(fs::exists(dir_ / q));
  EXPECT_TRUE(
      std::regex_match(q.string(), std::regex(R"(results/my-config-\d{8}T\d{6}Z(-2)?\.json)")))
      << q;
}

}  // namespace
}  // namespace posbench
