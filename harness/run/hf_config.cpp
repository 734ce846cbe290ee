#include "harness/run/hf_config.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness/run/config.h"

namespace posbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool present(const json& o, const std::string& key) { return o.contains(key) && !o[key].is_null(); }

// The scaling dict's rope_type, or its older key "type"; "" if neither is a string.
std::string tag_of(const json& dict) {
  if (!dict.is_object()) return "";
  for (const char* k : {"rope_type", "type"})
    if (dict.contains(k) && dict[k].is_string()) return dict[k].get<std::string>();
  return "";
}

// A whole number > 0 (a JSON integer, or a float with an integral value), else nullopt.
std::optional<int64_t> positive_whole(const json& v) {
  if (v.is_number_integer() && v.get<int64_t>() > 0) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 1 && d < 9e15 && d == double(int64_t(d))) return int64_t(d);
  }
  return std::nullopt;
}

bool rope_like(const std::string& key) {
  return key.find("rope") != std::string::npos || key.find("rotary") != std::string::npos;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::optional<HfRopeSource> HfRopeSource::read(const std::string& given, const fs::path& base_dir,
                                               const std::string& key_path, Diagnostics& diag) {
  HfRopeSource s;
  s.given_ = given;
  s.key_path_ = key_path;
  if (given.empty()) {
    diag.error(key_path, "got \"\", expected the path of a HuggingFace config.json");
    return std::nullopt;
  }
  const fs::path file = fs::path(given).is_absolute() ? fs::path(given) : base_dir / given;
  s.shown_ = file.lexically_normal().string();
  const std::string where =
      base_dir.empty() ? "" : " (a relative path is taken from " + base_dir.string() + "/)";
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    diag.error(key_path, s.shown_ + ": is a directory; expected a config.json file" +
                             (fs::exists(file / "config.json", ec)
                                  ? "; did you mean " + (file / "config.json").string() + "?"
                                  : ""));
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!fs::exists(file, ec) || !in) {
    diag.error(key_path, s.shown_ + (fs::exists(file, ec) ? ": cannot be read" : ": no such file") +
                             "; expected a HuggingFace config.json" + where);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  json root;
  try {
    root = parse_json_text(text.str(), s.shown_);
  } catch (const UserError& e) {
    // Malformed JSON names file:line:column itself; a duplicate key has its JSON path.
    for (const auto& p : e.problems())
      diag.error(key_path,
                 p.path.empty() ? p.message : s.shown_ + ": " + p.path + ": " + p.message);
    return std::nullopt;
  }
  Diagnostics file_problems;  // paths inside the file
  s.map_fields(root, file_problems);
  for (const auto& p : file_problems.problems())
    diag.error(key_path, s.shown_ + ": " + (p.path.empty() ? "" : p.path + ": ") + p.message);
  if (!file_problems.ok()) return std::nullopt;
  return s;
}

void HfRopeSource::map_fields(const json& root, Diagnostics& d) {
  if (!root.is_object()) {
    d.error("", got_expected(root, "a JSON object (a model's config.json)"));
    return;
  }
  std::vector<std::string> rope_keys;  // rope-looking keys of the file, for messages and notes
  for (const auto& [key, value] : root.items())
    if (rope_like(key)) rope_keys.push_back(key);
  if (!root.contains("rope_theta") && !root.contains("rope_scaling") &&
      !root.contains("rope_parameters")) {
    std::string msg =
        "none of rope_theta, rope_scaling, rope_parameters: expected the config.json of a model "
        "with rotary position embeddings";
    if (present(root, "model_type"))
      msg += " (this one's model_type is " + show(root["model_type"]) + ")";
    if (!rope_keys.empty())
      msg += "; its " + joined(rope_keys) +
             " are not read: give rope's params instead (posbench describe rope)";
    d.error("", msg);
    return;
  }
  auto take = [&](const std::string& param, const std::string& hf_key) {
    params_[param] = root[hf_key];
    from_[param] = hf_key;
    read_[hf_key] = root[hf_key];
  };
  model_type_ = root.value("model_type", json());

  if (present(root, "rope_theta"))
    take("base", "rope_theta");
  else if (root.contains("rope_theta"))
    read_["rope_theta"] = nullptr;
  if (present(root, "partial_rotary_factor")) take("rotary_fraction", "partial_rotary_factor");

  // The scaling dict: v5's rope_parameters (its rope_theta and partial_rotary_factor lifted out)
  // or v4's rope_scaling.
  json scaling;
  std::string scaling_from;
  if (present(root, "rope_parameters")) {
    read_["rope_parameters"] = root["rope_parameters"];
    const json& rp = root["rope_parameters"];
    std::vector<std::string> nested;
    if (rp.is_object())
      for (const auto& [key, value] : rp.items())
        if (value.is_object()) nested.push_back(key);
    if (!rp.is_object()) {
      d.error("rope_parameters", got_expected(rp,
                                              "an object (transformers v5's rope parameters: "
                                              "rope_type, rope_theta, ...)"));
    } else if (tag_of(rp).empty() && !nested.empty()) {
      d.error("rope_parameters",
              "holds one dict per layer type (" + joined(nested) +
                  "); posbench reads a single dict: give the one of the layer type you study as "
                  "params.scaling (and its rope_theta as params.base)");
    } else {
      scaling = rp;
      scaling_from = "rope_parameters";
      for (const auto& [hf_key, param] : {std::pair<std::string, std::string>{"rope_theta", "base"},
                                          {"partial_rotary_factor", "rotary_fraction"}}) {
        if (!present(scaling, hf_key)) {
          scaling.erase(hf_key);
          continue;
        }
        const std::string hf_path = "rope_parameters." + hf_key;
        if (params_.contains(param) && params_[param] != scaling[hf_key])
          d.error(hf_path, got_expected(scaling[hf_key], "the same as " + from_[param] + " (" +
                                                             show(params_[param]) + ")"));
        params_[param] = scaling[hf_key];
        from_[param] = hf_path;
        scaling.erase(hf_key);
      }
    }
  }
  if (root.contains("rope_scaling")) {
    read_["rope_scaling"] = root["rope_scaling"];
    const json& rs = root["rope_scaling"];
    if (!rs.is_null() && present(root, "rope_parameters")) {
      if (rs != scaling)
        d.error("rope_scaling", got_expected(rs,
                                             "the same as rope_parameters (without rope_theta "
                                             "and partial_rotary_factor), or no rope_scaling: "
                                             "it is transformers v4's name of v5's "
                                             "rope_parameters"));
      else
        notes_.push_back("rope_scaling is the same as rope_parameters; read once");
    } else if (!rs.is_null()) {
      scaling = rs;
      scaling_from = "rope_scaling";
    }
  }
  if (!scaling_from.empty()) {
    params_["scaling"] = scaling;
    from_["scaling"] = scaling_from;
  }
  if (!params_.contains("base")) notes_.push_back("no rope_theta: base is rope's default 10000");

  // Phi-3 keeps the original context at the top level; transformers reads it for longrope.
  if (present(root, "original_max_position_embeddings")) {
    const json& v = root["original_max_position_embeddings"];
    if (tag_of(scaling) == "longrope") {
      read_["original_max_position_embeddings"] = v;
      if (!present(scaling, "original_max_position_embeddings")) {
        params_["scaling"]["original_max_position_embeddings"] = v;
        from_["scaling.original_max_position_embeddings"] = "original_max_position_embeddings";
      } else if (scaling["original_max_position_embeddings"] != v) {
        d.error(
            "original_max_position_embeddings",
            got_expected(v, "the same as " + scaling_from + ".original_max_position_embeddings (" +
                                show(scaling["original_max_position_embeddings"]) + ")"));
      }
    } else {
      notes_.push_back(
          "original_max_position_embeddings (top level) is not read: transformers reads it for "
          "longrope only; yarn, dynamic and llama3 take it from the scaling dict");
    }
  }
  if (present(root, "max_position_embeddings"))
    take("max_position_embeddings", "max_position_embeddings");

  // The rotated head dimension.
  if (present(root, "qk_rope_head_dim")) {
    take("head_dim", "qk_rope_head_dim");
    if (present(root, "head_dim"))
      notes_.push_back("head_dim " + show(root["head_dim"]) +
                       " is not rope's: qk_rope_head_dim is the rotated part of DeepSeek's "
                       "multi-head latent attention");
  } else if (present(root, "head_dim")) {
    take("head_dim", "head_dim");
  } else if (present(root, "hidden_size") && present(root, "num_attention_heads")) {
    const auto h = positive_whole(root["hidden_size"]);
    const auto n = positive_whole(root["num_attention_heads"]);
    if (!h) d.error("hidden_size", got_expected(root["hidden_size"], "a positive integer"));
    if (!n)
      d.error("num_attention_heads",
              got_expected(root["num_attention_heads"], "a positive integer"));
    if (h && n && *h % *n != 0)
      d.error("hidden_size", "got " + std::to_string(*h) + ", not a multiple of " +
                                 "num_attention_heads " + std::to_string(*n) +
                                 "; expected head_dim = hidden_size / num_attention_heads to be "
                                 "whole (or a head_dim field)");
    if (h && n && *h % *n == 0) {
      params_["head_dim"] = *h / *n;
      from_["head_dim"] = "hidden_size / num_attention_heads";
      read_["hidden_size"] = root["hidden_size"];
      read_["num_attention_heads"] = root["num_attention_heads"];
    }
  } else {
    notes_.push_back(
        "no head_dim, qk_rope_head_dim, or hidden_size with num_attention_heads: rope runs at "
        "the experiment's head_dim");
  }

  if (root.contains("rope_interleave")) {
    const json& v = root["rope_interleave"];
    read_["rope_interleave"] = v;
    if (v.is_boolean()) {
      params_["layout"] = v.get<bool>() ? "interleaved" : "half";
      from_["layout"] = "rope_interleave";
    } else if (!v.is_null()) {
      d.error("rope_interleave", got_expected(v, "true or false"));
    }
  }

  for (const auto& [key, value] : root.items())
    if (!read_.contains(key)) {
      ignored_.push_back(key);
      if (rope_like(key))
        notes_.push_back(key +
                         " looks rope-related but is not read; give the equivalent params "
                         "if it changes the rotation");
    }
}

json HfRopeSource::merge(const json& given, const std::vector<ParamSpec>& specs) {
  specs_ = &specs;
  json out = params_;
  if (!given.is_object()) return given.is_null() ? out : given;  // resolve_params reports it
  for (const auto& [key, value] : given.items()) {
    const ParamSpec* spec = find_param(specs, key);
    const std::string name = spec ? spec->name : key;
    const bool had = out.contains(name);
    const json file_value = had ? out[name] : json();
    out.erase(name);
    json result = value;
    const std::string tag = tag_of(value);
    if (name == "scaling" && value.is_object() && file_value.is_object() &&
        (tag.empty() || tag == tag_of(file_value))) {
      // Key by key over the file's dict; null drops a key.
      result = file_value;
      for (const auto& [k, v] : value.items()) {
        if (v.is_null())
          result.erase(k);
        else
          result[k] = v;
        explicit_.insert(name + "." + k);
        forget_file_origin(name + "." + k);
      }
    } else {
      explicit_.insert(name);
      forget_file_origin(name);
    }
    if (!value.is_null()) out[key] = result;  // null: the param takes its default
    if (had && file_value != result)
      overridden_[name] = {{"file", file_value}, {"params", value.is_null() ? json() : result}};
  }
  return out;
}

void HfRopeSource::forget_file_origin(const std::string& path) {
  for (auto it = from_.begin(); it != from_.end();) {
    const std::string& p = it->first;
    const bool below = p.size() > path.size() && p.compare(0, path.size(), path) == 0 &&
                       (p[path.size()] == '.' || p[path.size()] == '[');
    it = p == path || below ? from_.erase(it) : std::next(it);
  }
}

Problem HfRopeSource::locate(const Problem& p, const std::string& params_path) const {
  if (p.path.size() <= params_path.size() || p.path.compare(0, params_path.size(), params_path))
    return p;
  std::string rel = p.path.substr(params_path.size());
  if (rel[0] == '.')
    rel.erase(0, 1);
  else if (rel[0] != '[')
    return p;  // "params_x": not below params
  // The first component under the declared name (a user may have written an alias).
  const size_t end = rel.find_first_of(".[");
  std::string first = rel.substr(0, end);
  if (specs_)
    if (const ParamSpec* s = find_param(*specs_, first)) first = s->name;
  const std::string path = first + (end == std::string::npos ? "" : rel.substr(end));
  // The longest prefix that says where the value came from.
  for (std::string prefix = path;;) {
    if (explicit_.count(prefix)) return p;
    if (const auto it = from_.find(prefix); it != from_.end())
      return {key_path_,
              shown_ + ": " + it->second + path.substr(prefix.size()) + ": " + p.message};
    const size_t cut = prefix.find_last_of(".[");
    if (cut == std::string::npos) return p;
    prefix.erase(cut);
  }
}

json HfRopeSource::record() const {
  json from = json::object();
  for (const auto& [param, hf] : from_) from[param] = hf;
  return {{"path", given_},      {"file", shown_},           {"model_type", model_type_},
          {"read", read_},       {"params_from_file", from}, {"overridden_by_params", overridden_},
          {"ignored", ignored_}, {"notes", notes_}};
}

}  // namespace posbench
