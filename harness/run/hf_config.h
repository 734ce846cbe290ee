#pragma once
// A HuggingFace config.json as the source of an encoder entry's params:
//
//   {"name": "rope", "hf_config": "../hf/llama-3.1-8b.json", "params": {...}}
//
// The path is relative to the directory of the config file that names it (`apply --hf-config`:
// to the current directory). The file's rope fields become rope's params:
//
//   rope_theta                          -> base
//   rope_scaling (transformers v4), or
//   rope_parameters (v5)                -> scaling (v5's rope_theta and partial_rotary_factor
//                                          inside it -> base and rotary_fraction)
//   partial_rotary_factor               -> rotary_fraction
//   max_position_embeddings             -> max_position_embeddings
//   original_max_position_embeddings    -> scaling.original_max_position_embeddings, for
//     (top level, as Phi-3 keeps it)       longrope only (what transformers reads)
//   qk_rope_head_dim (DeepSeek), else
//   head_dim, else
//   hidden_size / num_attention_heads   -> head_dim (rope then refuses any other head_dim)
//   rope_interleave                     -> layout ("interleaved" if true, else "half")
//
// Every other key is listed as ignored. A file without rope_theta, rope_scaling and
// rope_parameters is not a RoPE model's and is refused.
//
// Params given beside hf_config override the file's, key by key: a study starts from a real
// model and changes one thing ("Llama 3.1 at base 1e6", "... without scaling"). Inside
// `scaling` they override key by key too, unless they name another rope_type (then their dict
// replaces the file's); null drops the file's value (the param takes its default:
// "scaling": null is the unscaled model, "head_dim": null lifts the head_dim check). Every
// override is recorded.
//
// What was read is recorded in the resolved config beside the entry's params:
//   "hf_config": {"path", "file", "model_type", "read": {HF key: value}, "params_from_file":
//                 {param: HF key, for the values still from the file},
//                 "overridden_by_params": {param: {"file", "params"}},
//                 "ignored": [HF keys], "notes": [...]}
// A problem with a value that came from the file is reported at the entry's hf_config with
// the file and the JSON path inside it:
//   experiments[0].encoders[1].hf_config: configs/hf/x.json: rope_scaling.factor: got -1, ...

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "encoders/params.h"

namespace posbench {

class HfRopeSource {
 public:
  // Reads `given` (relative to `base_dir` unless absolute). Problems (missing file, malformed
  // JSON, not a RoPE model, a field of the wrong kind) go to `diag` at `key_path` (the entry's
  // "hf_config"), each message starting with the file and the JSON path inside it; nullopt
  // then.
  static std::optional<HfRopeSource> read(const std::string& given,
                                          const std::filesystem::path& base_dir,
                                          const std::string& key_path, Diagnostics& diag);

  // The params from the file (posbench's names), before any override.
  const nlohmann::json& file_params() const { return params_; }

  // The entry's params: the file's, with `given` (the entry's "params", under the names the user
  // wrote, aliases included) laid over them as described above. `specs` are rope's.
  nlohmann::json merge(const nlohmann::json& given, const std::vector<ParamSpec>& specs);

  // `p` unchanged if its value was given in params (or is not about one value), else moved to
  // the hf_config key: "<file>: <JSON path in the file>: <message>". `params_path` is the
  // entry's "params" path that p.path starts with.
  Problem locate(const Problem& p, const std::string& params_path) const;

  // The record written into the resolved config.
  nlohmann::json record() const;

 private:
  void map_fields(const nlohmann::json& root, Diagnostics& file_problems);
  // Drops `path` and everything below it from from_ (a value params replaced).
  void forget_file_origin(const std::string& path);

  std::string given_, shown_, key_path_;
  nlohmann::json params_ = nlohmann::json::object();  // posbench names
  nlohmann::json read_ = nlohmann::json::object();    // HF key -> value, as in the file
  nlohmann::json model_type_;
  std::map<std::string, std::string> from_;  // param path ("scaling.x") -> HF path
  std::set<std::string> explicit_;           // param paths given in params (canonical names)
  nlohmann::json overridden_ = nlohmann::json::object();
  std::vector<std::string> ignored_, notes_;
  const std::vector<ParamSpec>* specs_ = nullptr;
};

}  // namespace posbench
