#pragma once
// The results document: what `posbench run` writes (schema in results/README.md, with its
// history). Every value comes from the run's structs; numbers that are not finite are null.

#include <nlohmann/json.hpp>

#include "harness/report/reporter.h"

namespace posbench {

// Bump when a field changes meaning, and add a line to results/README.md's schema history.
inline constexpr int kResultsSchemaVersion = 7;

nlohmann::json results_document(const RunOutput& run);

}  // namespace posbench
