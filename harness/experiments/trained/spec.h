#pragma once
// What trained_extrapolation declares (no torch; see spec.cpp).
#include <vector>

#include "encoders/experiment.h"

namespace posbench::trained {

extern const char* const kDescription;
std::vector<ParamSpec> param_specs();
std::vector<MetricSpec> metric_specs();

// Whether this process can build the experiment: its torch module (libposbench_trained.so) is
// linked in or can be found (registration.cpp); cheap (a dlsym and a few stat calls, no dlopen).
bool available();

}  // namespace posbench::trained
