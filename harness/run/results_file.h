#pragma once
// Where results go by default (writing is encoders/files.h: atomic, never overwriting).

#include <filesystem>
#include <string>

#include "encoders/files.h"

namespace posbench {

// "results/<config-stem>-<UTC timestamp>.json" (with "-2", "-3", ... if that exists).
std::filesystem::path default_results_path(const std::filesystem::path& config_file);

}  // namespace posbench
