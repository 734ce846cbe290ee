// The machine and build context of a results file (harness/run/context.h): the documented keys,
// UTC timestamps in both forms, physical memory, and build facts checked against what this test
// binary was built with (CMakeCache.txt of POSBENCH_BUILD_DIR), never against context.cpp.
#include "harness/run/context.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace posbench {
namespace {

using nlohmann::json;

TEST(RunContext, HasTheDocumentedKeys) {
  const json c = run_context();
  for (const char* key :
       {"utc_time", "host", "cpu_model", "cores", "physical_memory_bytes", "widest_simd", "caches",
        "compiler", "flags", "isa_flags", "build_type", "git_describe", "libraries"})
    EXPECT_TRUE(c.contains(key)) << key;
  for (const char* lib : {"eigen", "nlohmann_json", "xsimd", "google_benchmark", "openmp"})
    EXPECT_TRUE(c.at("libraries").contains(lib)) << lib;
  for (const char* cache : {"L1d", "L2", "L3"}) EXPECT_TRUE(c.at("caches").contains(cache));
}

TEST(RunContext, MachineFacts) {
  const json c = run_context();
  EXPECT_TRUE(std::regex_match(c.at("utc_time").get<std::string>(),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")))
      << c.at("utc_time");
  char host[256] = {0};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(c.at("host"), std::string(host));
  EXPECT_FALSE(c.at("cpu_model").get<std::string>().empty());
  EXPECT_EQ(c.at("cores"), std::thread::hardware_concurrency());
  EXPECT_GT(c.at("physical_memory_bytes").get<uint64_t>(), 0u);
  const std::string simd = c.at("widest_simd");
  EXPECT_TRUE(simd == "avx512bw" || simd == "avx2" || simd == "sse4.2" || simd == "sse2" ||
              simd == "scalar")
      << simd;
}

// A value of CMakeCache.txt in the build directory this test was configured in ("" if absent).
std::string cmake_cache(const std::string& key) {
  std::ifstream in(std::string(POSBENCH_BUILD_DIR) + "/CMakeCache.txt");
  std::string line;
  while (std::getline(in, line)) {
    const std::string prefix = key + ":";
    if (line.rfind(prefix, 0) == 0) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) return line.substr(eq + 1);
    }
  }
  return "";
}

TEST(RunContext, BuildFacts) {
  const json c = run_context();
  const std::string flags = c.at("flags");
  EXPECT_NE(flags.find("-std=c++20"), std::string::npos) << flags;
  EXPECT_NE(flags.find("-Wall"), std::string::npos) << flags;
  const std::string isa = c.at("isa_flags");
  EXPECT_NE(isa.find("avx2"), std::string::npos) << isa;
  EXPECT_NE(isa.find("-mavx2"), std::string::npos) << isa;
  EXPECT_FALSE(c.at("compiler").get<std::string>().empty());
  // Captured when the binary was built: only that it is there, not what it says.
  EXPECT_FALSE(c.at("git_describe").get<std::string>().empty());

  // A sanitizer build (POSBENCH_SANITIZE) says so in its recorded flags: its timings are not
  // those of a normal build.
  EXPECT_EQ(flags.find("-fsanitize=address,undefined") != std::string::npos,
            cmake_cache("POSBENCH_SANITIZE") == "ON")
      << flags;

  const std::string build_type = cmake_cache("CMAKE_BUILD_TYPE");
  if (build_type.empty()) GTEST_SKIP() << "no CMAKE_BUILD_TYPE in " << POSBENCH_BUILD_DIR;
  EXPECT_EQ(c.at("build_type"), build_type);
  // What each layer adds (CMakeLists.txt): in an optimised build other than the fuzz build,
  // -O1 for the cold layers, experiments among them (GCC: and -Wno-maybe-uninitialized), and -O2
  // for analysis and the trained module where the build type's own level (its last -O) is -O3.
  const bool optimised =
      build_type == "Release" || build_type == "RelWithDebInfo" || build_type == "MinSizeRel";
  const bool tiered = optimised && cmake_cache("POSBENCH_FUZZ") != "ON";
  std::string upper = build_type;
  for (char& ch : upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  const std::string type_flags =
      cmake_cache("CMAKE_CXX_FLAGS") + " " + cmake_cache("CMAKE_CXX_FLAGS_" + upper);
  const std::regex o_flag(R"((?:^| )(-O[0-9a-z]*))");
  std::string level;
  for (auto it = std::sregex_iterator(type_flags.begin(), type_flags.end(), o_flag);
       it != std::sregex_iterator(); ++it)
    level = (*it)[1];
  const bool gcc = c.at("compiler").get<std::string>().rfind("GNU", 0) == 0;
  const std::string cold = tiered ? (gcc ? "-O1 -Wno-maybe-uninitialized" : "-O1") : "";
  const std::string warm = tiered && level == "-O3" ? "-O2" : "";
  EXPECT_EQ(c.at("cold_flags"), cold);
  json expected = {{"encoders", ""}, {"kernels", ""},  {"analysis", warm}, {"experiments", cold},
                   {"run", cold},    {"report", cold}, {"cli", cold}};
  if (cmake_cache("POSBENCH_TORCH") == "ON") expected["trained"] = warm;
  EXPECT_EQ(c.at("layer_flags"), expected);
}

TEST(RunContext, LibraryVersions) {
  const json libs = run_context().at("libraries");
  const std::regex version(R"(\d+\.\d+\.\d+)");
  for (const char* lib : {"eigen", "nlohmann_json", "xsimd"})
    EXPECT_TRUE(std::regex_match(libs.at(lib).get<std::string>(), version))
        << lib << " " << libs.at(lib);
  // The project requires Eigen 3.4 and nlohmann_json 3.11 (CMakeLists.txt, Debian 12).
  EXPECT_EQ(libs.at("eigen").get<std::string>().rfind("3.4.", 0), 0u) << libs.at("eigen");
  EXPECT_EQ(libs.at("nlohmann_json").get<std::string>().rfind("3.", 0), 0u);
  // _OPENMP is a yyyymm date: OpenMP 3.0 (200805) or later.
  ASSERT_TRUE(libs.at("openmp").is_number_integer()) << libs.at("openmp");
  EXPECT_GE(libs.at("openmp").get<int64_t>(), 200805);
}

TEST(UtcTimestamp, BothFormsAreNowInUtc) {
  for (bool compact : {false, true}) {
    const std::time_t before = std::time(nullptr);
    const std::string s = utc_timestamp(compact);
    const std::time_t after = std::time(nullptr);
    const char* pattern = compact ? R"(\d{8}T\d{6}Z)" : R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)";
    ASSERT_TRUE(std::regex_match(s, std::regex(pattern))) << s;
    std::tm tm{};
    ASSERT_NE(strptime(s.c_str(), compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr)
        << s;
    const std::time_t stamp = timegm(&tm);  // read back as UTC, not local time
    EXPECT_GE(stamp, before) << s;
    EXPECT_LE(stamp, after) << s;
  }
}

TEST(PhysicalMemory, MatchesProcMeminfo) {
  const uint64_t bytes = physical_memory_bytes();
  ASSERT_GT(bytes, 0u);
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemTotal:") break;
  if (key != "MemTotal:") GTEST_SKIP() << "no MemTotal in /proc/meminfo";
  // Both come from the kernel's total RAM; allow 1% for how each rounds.
  EXPECT_NEAR(double(bytes), double(kib) * 1024.0, 0.01 * double(kib) * 1024.0);
}

}  // namespace
}  // namespace posbench
