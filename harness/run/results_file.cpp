#include "harness/run/results_file.h"

#include "harness/run/context.h"

namespace posbench {

namespace fs = std::filesystem;

fs::path default_results_path(const fs::path& config_file) {
  const std::string stem = config_file.stem().string();
  const std::string ts = utc_timestamp(true);
  fs::path p = fs::path("results") / (stem + "-" + ts + ".json");
  for (int i = 2; fs::exists(p); ++i)
    p = fs::path("results") / (stem + "-" + ts + "-" + std::to_string(i) + ".json");
  return p;
}

}  // namespace posbench
