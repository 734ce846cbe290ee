#pragma once
// The registry as JSON: what `posbench list --json` and `describe --json` print, and what the
// Python module's schemes(), experiments() and describe() return (harness/python).

#include <nlohmann/json.hpp>
#include <string>

#include "encoders/experiment.h"

namespace posbench {

// {"name", "kind": "encoder", "family", "version", "description", "params": [...], "source"}
nlohmann::json encoder_json(const EncoderInfo& e);

// {"name", "kind": "experiment", "description", "params": [...], "metrics": [...], "source"}
nlohmann::json experiment_json(const ExperimentInfo& e);

// {"encoders": [encoder_json...], "experiments": [experiment_json...]}, in registry order.
nlohmann::json registry_json();

// The scheme or experiment called `name`; an unknown name is a UserError with a did-you-mean.
nlohmann::json describe_json(const std::string& name);

}  // namespace posbench
