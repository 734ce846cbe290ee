#include "encoders/registry.h"

#include "encoders/experiment.h"

namespace posbench {

// The registries, once, in the executable (see Registry::instance in encoders/registry.h).
template <class Info>
Registry<Info>& Registry<Info>::instance() {
  static Registry registry;
  return registry;
}
template class Registry<EncoderInfo>;
template class Registry<ExperimentInfo>;

}  // namespace posbench
