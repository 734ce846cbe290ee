#pragma once
// Config loading: JSON -> a Plan with every encoder and experiment constructed. All problems
// are collected with their JSON paths (so `validate` reports every one at once).
//
// {
//   "name": "default", "seed": 0, "plugins": ["path/lib.so"],
//   "experiments": [
//     {"type": "offset_linearity", "positions": 1024,          <- the experiment's params
//      "encoders": [{"name": "rope", "label": "rope-10k", "params": {"base": 10000}},
//                   {"name": "rope", "label": "llama", "hf_config": "hf/llama-3.1-8b.json"}]},
//     {"type": "length_extrapolation", "encoders": [{"name": "rope", "params": {...},
//      "reference": {"name": "rope", "params": {"base": 10000}, "length": 4096}}]}
//                                       <- only where Experiment::takes_reference()
//   ]
// }
// An encoder entry's hf_config (rope only) is a HuggingFace config.json whose rope fields are
// read as params (harness/run/hf_config.h), relative to the config file's directory.

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"

namespace posbench {

// One instance of an experiment entry: the entry itself, or one point of its "sweep" at one of
// its "seeds" (harness/run/sweep.h). An encoder entry's sweep gives one EncoderInstance per
// point, labelled by it ("rope[base=5e5,scaling.factor=4]").
struct PlannedExperiment {
  std::string type;
  std::string path;       // "experiments[2]": the entry in the config as given
  nlohmann::json params;  // resolved experiment params
  std::unique_ptr<Experiment> experiment;
  std::vector<EncoderInstance> encoders;
  size_t entry = 0;   // index of the entry in the config's "experiments"
  std::string point;  // its sweep point, "train_length=256" ("" without a sweep)
  nlohmann::json sweep_values = nlohmann::json::object();  // dotted name -> value at the point
  uint64_t seed = 0;    // one of "seeds" (RunContext::seed); without them, Plan::seed is
  bool seeded = false;  // the entry has "seeds"
  // "position_probe[train_length=256,seed=1]"; "" for an entry without sweep or seeds.
  std::string name() const;
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

// Builds a plan; problems go to `diag` (the plan is only usable when diag.ok()). Relative
// hf_config paths are taken from `base_dir` (the config file's directory; "" = the current one).
Plan build_plan(const nlohmann::json& config, Diagnostics& diag,
                const std::filesystem::path& base_dir = {});

class HfRopeSource;

// What an encoder entry read besides itself: its hf_config file, if any.
struct EntrySource {
  std::shared_ptr<const HfRopeSource> hf;  // null without hf_config
  // Where a problem found later in the entry's params (e.g. by Experiment::check) lies: in
  // params, or in the hf_config file. `params_path` is the entry's "params" path.
  Problem locate(const Problem& p, const std::string& params_path) const;
  nlohmann::json record() const;  // for the resolved config; null without hf_config
};

// Builds one encoder from {"name", "params", "label", "hf_config"} at `path`. Returns an
// instance with a null encoder if it could not be built (problems are in diag). `source`, if
// given, receives what the entry read besides itself.
EncoderInstance build_encoder(const nlohmann::json& spec, const std::string& path,
                              Diagnostics& diag, const std::filesystem::path& base_dir = {},
                              EntrySource* source = nullptr);

// build_encoder, with the entry's optional "reference" {"name", "params", "length"} built
// into EncoderInstance::reference (at "<path>.reference") when `allow_reference`; without it,
// the key is refused (a reference's own entry).
EncoderInstance build_encoder_entry(const nlohmann::json& spec, const std::string& path,
                                    Diagnostics& diag, bool allow_reference,
                                    const std::filesystem::path& base_dir = {},
                                    EntrySource* source = nullptr);

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
