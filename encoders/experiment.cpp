#include "encoders/experiment.h"

namespace posbench {

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

ExperimentResult Experiment::run_all(const std::vector<EncoderInstance>& encoders,
                                     const RunContext& ctx) const {
  ExperimentResult result;
  for (const auto& enc : encoders) {
    EncoderOutcome outcome;
    try {
      outcome = run(enc, ctx);
    } catch (const UnsupportedPosition& e) {
      outcome.status = Status::unsupported;
      outcome.note = e.what();
    }
    outcome.label = enc.label;
    result.outcomes.push_back(std::move(outcome));
  }
  return result;
}

}  // namespace posbench
