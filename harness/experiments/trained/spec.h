#pragma once
// What trained_extrapolation declares (no torch; see spec.cpp).
#include <vector>

#include "encoders/experiment.h"

namespace posbench::trained {

extern const char* const kDescription;
std::vector<ParamSpec> param_specs();
std::vector<MetricSpec> metric_specs();

}  // namespace posbench::trained
