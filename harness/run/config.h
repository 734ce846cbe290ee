#pragma once
// Config loading: JSON -> a Plan with every encoder and experiment constructed. All problems
// are collected with their JSON paths (so `validate` reports every one at once).
//
// {
//   "name": "default", "seed": 0, "plugins": ["path/lib.so"],
//   "experiments": [
//     {"type": "offset_linearity", "positions": 1024,          <- the experiment's params
//      "encoders": [{"name": "rope", "label": "rope-10k", "params": {"base": 10000}}]},
//     {"type": "length_extrapolation", "encoders": [{"name": "rope", "params": {...},
//      "reference": {"name": "rope", "params": {"base": 10000}, "length": 4096}}]}
//                                       <- only where Experiment::takes_reference()
//   ]
// }

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"

namespace posbench {

struct PlannedExperiment {
  std::string type;
  std::string path;       // "experiments[2]"
  nlohmann::json params;  // resolved experiment params
  std::unique_ptr<Experiment> experiment;
  std::vector<EncoderInstance> encoders;
};

struct Plan {
  std::string name;
  uint64_t seed = 0;
  nlohmann::json given;     // the config exactly as given
  nlohmann::json resolved;  // with every default filled in
  std::vector<std::string> plugins;
  std::vector<PlannedExperiment> experiments;
};

// Reads and parses a JSON file; malformed JSON is a UserError naming the file, line and column.
nlohmann::json read_json_file(const std::filesystem::path& file);

// Parses a JSON text given on the command line (e.g. --params); `what` names it in errors.
nlohmann::json parse_json_text(const std::string& text, const std::string& what);

// Plugin paths listed in a config (loaded before build_plan resolves names).
std::vector<std::string> config_plugins(const nlohmann::json& config, Diagnostics& diag);

// Builds a plan; problems go to `diag` (the plan is only usable when diag.ok()).
Plan build_plan(const nlohmann::json& config, Diagnostics& diag);

// Builds one encoder from {"name", "params", "label"} at `path`. Returns an instance with a
// null encoder if it could not be built (problems are in diag).
EncoderInstance build_encoder(const nlohmann::json& spec, const std::string& path,
                              Diagnostics& diag);

// build_encoder, with the entry's optional "reference" {"name", "params", "length"} built
// into EncoderInstance::reference (at "<path>.reference") when `allow_reference`; without it,
// the key is refused (a reference's own entry).
EncoderInstance build_encoder_entry(const nlohmann::json& spec, const std::string& path,
                                    Diagnostics& diag, bool allow_reference);

// Declarations of a reference's keys besides "params" (for `describe`, docs and tests).
const std::vector<ParamSpec>& reference_specs();

// Runs encoder/experiment constructors that may throw UserError (paths relative to `path`),
// recording their problems under `path`.
template <class F>
bool record_param_errors(Diagnostics& diag, const std::string& path, F&& f) {
  try {
    f();
    return true;
  } catch (const UserError& e) {
    diag.add(e, path);
  }
  return false;
}

}  // namespace posbench
