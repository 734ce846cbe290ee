#pragma once
// The human-readable summary: one table per experiment, schemes as rows, metrics as columns.

#include <string>

#include "harness/report/reporter.h"

namespace posbench {

std::string format_summary(const RunOutput& run);

}  // namespace posbench
