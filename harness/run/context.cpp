#include "harness/run/context.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
// xsimd's CPU detection and version macros only, not its SIMD types (~0.5 CPU-s less to parse).
#include <xsimd/config/xsimd_config.hpp>
#include <xsimd/config/xsimd_cpuid.hpp>

#include "build_info.h"

namespace posbench {

using nlohmann::json;

std::string utc_timestamp(bool compact) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* posbench_version() { return build_info::kVersion; }

uint64_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

static std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

static std::string cache_size(int index) {
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
  std::string s;
  return (in >> s) ? s : "unknown";
}

json run_context() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const auto isa = xsimd::available_architectures();
  std::string simd = isa.avx512bw ? "avx512bw"
                     : isa.avx2   ? "avx2"
                     : isa.sse4_2 ? "sse4.2"
                     : isa.sse2   ? "sse2"
                                  : "scalar";
  json layer_flags = json::parse(build_info::kLayerFlagsJson);
  // The run layer is a cold one (CMakeLists.txt); cold_flags predates layer_flags.
  json cold_flags = layer_flags.at("run");
  return {
      {"utc_time", utc_timestamp(false)},
      {"host", host},
      {"cpu_model", cpuinfo_field("model name")},
      {"cores", std::thread::hardware_concurrency()},
      {"physical_memory_bytes", physical_memory_bytes()},
      {"widest_simd", simd},
      {"caches", {{"L1d", cache_size(0)}, {"L2", cache_size(2)}, {"L3", cache_size(3)}}},
      {"compiler", build_info::kCompiler},
      {"flags", build_info::kFlags},
      {"build_type", build_info::kBuildType},
      {"isa_flags", build_info::kIsaFlags},
      {"cold_flags", std::move(cold_flags)},
      {"layer_flags", std::move(layer_flags)},
      // Captured when the binary was built (cmake/git_describe.cmake), not when it runs.
      {"git_describe", build_info::git_describe()},
      {"libraries",
       {{"eigen", build_info::kEigenVersion},
        {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
        {"xsimd", std::to_string(XSIMD_VERSION_MAJOR) + "." + std::to_string(XSIMD_VERSION_MINOR) +
                      "." + std::to_string(XSIMD_VERSION_PATCH)},
        {"google_benchmark", build_info::kBenchmarkVersion},
        {"openmp", _OPENMP}}},
  };
}

}  // namespace posbench
