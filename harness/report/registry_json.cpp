#include "harness/report/registry_json.h"

#include "encoders/error.h"

namespace posbench {

using nlohmann::json;

json encoder_json(const EncoderInfo& e) {
  json params = json::array();
  for (const auto& p : e.params) params.push_back(p.to_json());
  return {{"name", e.name},
          {"kind", "encoder"},
          {"family", to_string(e.family)},
          {"version", e.version},
          {"description", e.description},
          {"params", params},
          {"source", e.source}};
}

json experiment_json(const ExperimentInfo& e) {
  json params = json::array(), metrics = json::array();
  for (const auto& p : e.params) params.push_back(p.to_json());
  for (const auto& m : e.metrics) metrics.push_back(m.to_json());
  return {{"name", e.name},   {"kind", "experiment"}, {"description", e.description},
          {"params", params}, {"metrics", metrics},   {"source", e.source}};
}

json registry_json() {
  json encoders = json::array(), experiments = json::array();
  for (const auto* e : EncoderRegistry::instance().all()) encoders.push_back(encoder_json(*e));
  for (const auto* e : ExperimentRegistry::instance().all())
    experiments.push_back(experiment_json(*e));
  return {{"encoders", encoders}, {"experiments", experiments}};
}

json describe_json(const std::string& name) {
  if (const auto* e = EncoderRegistry::instance().find(name)) return encoder_json(*e);
  if (const auto* x = ExperimentRegistry::instance().find(name)) return experiment_json(*x);
  auto names = EncoderRegistry::instance().names();
  for (const auto& n : ExperimentRegistry::instance().names()) names.push_back(n);
  throw UserError(unknown_name_message("scheme or experiment", name, names));
}

}  // namespace posbench
