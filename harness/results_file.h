#pragma once
// Writing results so that a failure never leaves a partial file and nothing is overwritten.

#include <filesystem>
#include <string>

namespace posbench {

// "results/<config-stem>-<UTC timestamp>.json" (with "-2", "-3", ... if that exists).
std::filesystem::path default_results_path(const std::filesystem::path& config_file);

// Writes `content` to a temporary file beside `target`, flushes it to disk, then links it
// into place; fails (UserError) if `target` already exists. Creates the parent directory.
void write_file_atomically(const std::filesystem::path& target, const std::string& content);

}  // namespace posbench
