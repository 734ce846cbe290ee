#include "encoders/experiment.h"

namespace posbench {

bool MetricSpec::matches(const std::string& metric_name) const {
  // Literal pieces must match exactly; a placeholder "<...>" takes one or more characters
  // (backtracking over where each placeholder ends).
  const auto match = [&](auto&& self, size_t i, size_t j) -> bool {
    if (i == name.size()) return j == metric_name.size();
    if (name[i] == '<') {
      const size_t close = name.find('>', i);
      if (close == std::string::npos) return false;
      for (size_t end = j + 1; end <= metric_name.size(); ++end)
        if (self(self, close + 1, end)) return true;
      return false;
    }
    return j < metric_name.size() && name[i] == metric_name[j] && self(self, i + 1, j + 1);
  };
  return match(match, 0, 0);
}

nlohmann::json MetricSpec::to_json() const {
  return {{"name", name}, {"unit", unit}, {"meaning", meaning}, {"expected", expected}};
}

const MetricSpec* find_metric(const std::vector<MetricSpec>& specs,
                              const std::string& metric_name) {
  for (const auto& s : specs)
    if (s.matches(metric_name)) return &s;
  return nullptr;
}

const char* to_string(Status status) {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::not_applicable:
      return "not_applicable";
    case Status::unsupported:
      return "unsupported";
  }
  return "?";
}

void Experiment::check_reference(const EncoderInstance&, const EncoderReference&) const {}

EncoderOutcome run_one(const Experiment& experiment, const EncoderInstance& enc,
                       const RunContext& ctx) {
  EncoderOutcome outcome;
  try {
    outcome = experiment.run(enc, ctx);
  } catch (const UnsupportedPosition& e) {
    outcome.status = Status::unsupported;
    outcome.note = e.what();
  }
  outcome.label = enc.label;
  return outcome;
}

ExperimentResult Experiment::run_all(const std::vector<EncoderInstance>& encoders,
                                     const RunContext& ctx) const {
  ExperimentResult result;
  for (const auto& enc : encoders) result.outcomes.push_back(run_one(*this, enc, ctx));
  summarize(encoders, result);
  return result;
}

void Experiment::summarize(const std::vector<EncoderInstance>&, ExperimentResult&) const {}

double Experiment::estimated_seconds(const EncoderInstance& enc) const {
  // memory_bytes saturates at the largest uint64 (a run the guard refuses): still a number.
  return double(memory_bytes(enc)) * 1e-9;
}

}  // namespace posbench
