#pragma once
// The machine and build a result was produced on: written as `context` in every results file.

#include <nlohmann/json.hpp>

namespace posbench {

// UTC time, host, CPU model and flags, cores, memory, compiler and flags, build type,
// `git describe --always --dirty --tags` of the source tree as it was when the binary was
// built, library versions.
nlohmann::json run_context();

// posbench's version ("0.1.0"), as CMake's project() declares it.
const char* posbench_version();

// Physical memory in bytes (0 if unknown).
uint64_t physical_memory_bytes();

// "2026-11-28T05:40:00Z" and the compact form used in file names "20261128T054000Z".
std::string utc_timestamp(bool compact);

}  // namespace posbench
