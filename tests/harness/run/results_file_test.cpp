// Results files: never overwritten, never partial (no temp files left), parent dirs created,
// and the default name results/<stem>-<YYYYmmddTHHMMSSZ>.json.
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

namespace posbench {
namespace {

namespace fs = std::filesystem;

// Restores the working directory even when an assertion returns early.
struct CwdGuard {
  explicit CwdGuard(const fs::path& to) : old(fs::current_path()) { fs::current_path(to); }
  ~CwdGuard() { fs::current_path(old); }
  fs::path old;
};

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

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Every entry below `root`, recursively, relative to it.
  static std::vector<std::string> entries(const fs::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      out.push_back(fs::relative(e.path(), root).string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

TEST_F(ResultsFile, WritesContentAndCreatesParentDirs) {
  const fs::path target = dir_ / "a" / "b" / "out.json";
  const std::string content = "{\"x\": 1}\n" + std::string(100000, 'z');
  write_file_atomically(target, content);
  EXPECT_EQ(read(target), content);
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"a", "a/b", "a/b/out.json"}));
}

TEST_F(ResultsFile, EmptyContent) {
  write_file_atomically(dir_ / "empty.json", "");
  EXPECT_TRUE(fs::exists(dir_ / "empty.json"));
  EXPECT_EQ(fs::file_size(dir_ / "empty.json"), 0u);
}

TEST_F(ResultsFile, RefusesToOverwriteAndLeavesNoTempFiles) {
  const fs::path target = dir_ / "out.json";
  write_file_atomically(target, "first");
  try {
    write_file_atomically(target, "second");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read(target), "first");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"out.json"});
}

TEST_F(ResultsFile, RelativeTargetInCurrentDirectory) {
  {
    CwdGuard cwd(dir_);
    write_file_atomically("plain.json", "x");
    EXPECT_THROW(write_file_atomically("plain.json", "y"), UserError);
  }
  EXPECT_EQ(read(dir_ / "plain.json"), "x");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"plain.json"});
}

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
