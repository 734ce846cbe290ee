#include "harness/run/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace posbench {

using nlohmann::json;

json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw UserError(file.string() + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), file.string());
}

json parse_json_text(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte offset; give line and column, which editors show.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n')
        ++line, col = 1;
      else
        ++col;
    }
    std::string msg = e.what();
    auto pos = msg.find("parse error");
    if (pos != std::string::npos) msg = msg.substr(pos);
    throw UserError(what + ":" + std::to_string(line) + ":" + std::to_string(col) +
                    ": malformed JSON: " + msg);
  }
}

static const std::vector<std::string> kTopKeys = {"name", "seed", "plugins", "experiments"};
static const std::vector<std::string> kEncoderKeys = {"name", "label", "params"};

static void reject_unknown_keys(const json& obj, const std::vector<std::string>& allowed,
                                const std::string& path, const std::string& what,
                                Diagnostics& diag) {
  for (const auto& [key, value] : obj.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      diag.error(join_path(path, key), unknown_name_message(what, key, allowed));
}

std::vector<std::string> config_plugins(const json& config, Diagnostics& diag) {
  std::vector<std::string> out;
  if (!config.is_object() || !config.contains("plugins")) return out;
  const json& p = config["plugins"];
  if (!p.is_array()) {
    diag.error("plugins", "got " + show(p) + ", expected a list of shared-library paths");
    return out;
  }
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].is_string())
      out.push_back(p[i].get<std::string>());
    else
      diag.error(index_path("plugins", i), "got " + show(p[i]) + ", expected a path string");
  }
  return out;
}

EncoderInstance build_encoder(const json& spec, const std::string& path, Diagnostics& diag) {
  EncoderInstance inst;
  inst.path = path;
  if (!spec.is_object()) {
    diag.error(path, "got " + show(spec) + R"(, expected {"name": ..., "params": {...}})");
    return inst;
  }
  reject_unknown_keys(spec, kEncoderKeys, path, "encoder key", diag);
  if (!spec.contains("name") || !spec["name"].is_string()) {
    diag.error(join_path(path, "name"), "missing or not a string: expected a scheme name");
    return inst;
  }
  inst.name = spec["name"].get<std::string>();
  const auto& registry = EncoderRegistry::instance();
  const EncoderInfo* info = registry.find(inst.name);
  if (!info) {
    diag.error(join_path(path, "name"),
               unknown_name_message("encoder", inst.name, registry.names()));
    return inst;
  }
  inst.label = inst.name;
  if (spec.contains("label")) {
    if (spec["label"].is_string() && !spec["label"].get<std::string>().empty())
      inst.label = spec["label"].get<std::string>();
    else
      diag.error(join_path(path, "label"),
                 "got " + show(spec["label"]) + ", expected a non-empty string");
  }
  inst.version = info->version;
  inst.family = info->family;
  const std::string params_path = join_path(path, "params");
  Diagnostics local;
  inst.params =
      resolve_params(info->params, spec.value("params", json::object()), params_path, local);
  if (local.ok()) {
    record_param_errors(local, params_path,
                        [&] { inst.encoder = info->build(Params(inst.params)); });
  }
  for (const auto& p : local.problems()) diag.error(p.path, p.message);
  return inst;
}

Plan build_plan(const json& config, Diagnostics& diag) {
  Plan plan;
  plan.given = config;
  if (!config.is_object()) {
    diag.error("", "the config must be a JSON object with \"experiments\"; got " + show(config));
    return plan;
  }
  reject_unknown_keys(config, kTopKeys, "", "config key", diag);
  plan.resolved = json::object();
  plan.name = "unnamed";
  if (config.contains("name")) {
    if (config["name"].is_string())
      plan.name = config["name"].get<std::string>();
    else
      diag.error("name", "got " + show(config["name"]) + ", expected a string");
  }
  if (config.contains("seed")) {
    const json& s = config["seed"];
    // Whole numbers written as 3.0 are accepted, as for integer parameters.
    if (s.is_number_unsigned() || (s.is_number_integer() && s.get<int64_t>() >= 0))
      plan.seed = s.get<uint64_t>();
    else if (s.is_number_float() && s.get<double>() >= 0 && s.get<double>() < 9e15 &&
             std::floor(s.get<double>()) == s.get<double>())
      plan.seed = uint64_t(s.get<double>());
    else
      diag.error("seed", "got " + show(s) + ", expected a non-negative integer");
  }
  plan.plugins = config_plugins(config, diag);
  plan.resolved["name"] = plan.name;
  plan.resolved["seed"] = plan.seed;
  plan.resolved["plugins"] = plan.plugins;
  plan.resolved["experiments"] = json::array();

  if (!config.contains("experiments") || !config["experiments"].is_array() ||
      config["experiments"].empty()) {
    diag.error("experiments", "missing or empty: expected a list of experiments");
    return plan;
  }
  const auto& experiments = ExperimentRegistry::instance();
  const json& list = config["experiments"];
  for (size_t e = 0; e < list.size(); ++e) {
    const std::string path = index_path("experiments", e);
    const json& spec = list[e];
    PlannedExperiment planned;
    planned.path = path;
    if (!spec.is_object()) {
      diag.error(path, "got " + show(spec) + R"(, expected {"type": ..., "encoders": [...]})");
      continue;
    }
    if (!spec.contains("type") || !spec["type"].is_string()) {
      std::string names;
      for (const auto& n : experiments.names()) names += (names.empty() ? "" : ", ") + n;
      diag.error(join_path(path, "type"), "missing or not a string: expected one of " + names);
      continue;
    }
    planned.type = spec["type"].get<std::string>();
    const ExperimentInfo* info = experiments.find(planned.type);
    if (!info) {
      diag.error(join_path(path, "type"),
                 unknown_name_message("experiment", planned.type, experiments.names()));
      continue;
    }
    // The experiment's own params sit beside "type" and "encoders".
    json own = json::object();
    for (const auto& [key, value] : spec.items())
      if (key != "type" && key != "encoders") own[key] = value;
    Diagnostics local;
    planned.params = resolve_params(info->params, own, path, local);
    if (local.ok())
      record_param_errors(local, path,
                          [&] { planned.experiment = info->factory(Params(planned.params)); });

    json resolved_spec = planned.params;
    resolved_spec["type"] = planned.type;
    resolved_spec["encoders"] = json::array();
    if (!spec.contains("encoders") || !spec["encoders"].is_array() || spec["encoders"].empty()) {
      local.error(join_path(path, "encoders"),
                  "missing or empty: expected a list of {\"name\": ...}");
    } else {
      std::set<std::string> labels;
      for (size_t k = 0; k < spec["encoders"].size(); ++k) {
        const std::string epath = index_path(join_path(path, "encoders"), k);
        EncoderInstance inst = build_encoder(spec["encoders"][k], epath, local);
        if (!inst.encoder) continue;
        if (!labels.insert(inst.label).second) {
          local.error(join_path(epath, "label"), "label '" + inst.label +
                                                     "' is used twice in this experiment; give "
                                                     "each a distinct \"label\"");
          continue;
        }
        if (planned.experiment)
          if (!record_param_errors(local, join_path(epath, "params"),
                                   [&] { planned.experiment->check(inst); }))
            continue;
        resolved_spec["encoders"].push_back({{"name", inst.name},
                                             {"label", inst.label},
                                             {"version", inst.version},
                                             {"params", inst.params}});
        planned.encoders.push_back(std::move(inst));
      }
    }
    for (const auto& p : local.problems()) diag.error(p.path, p.message);
    plan.resolved["experiments"].push_back(resolved_spec);
    plan.experiments.push_back(std::move(planned));
  }
  return plan;
}

}  // namespace posbench
