#include "encoders/registry.h"

#include <stdexcept>

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

std::unique_ptr<Encoder> EncoderInfo::build(const Params& params) const {
  const std::string who = "scheme '" + name + "' (registered by " + source + ")";
  if (!factory) throw std::logic_error(who + " has no factory");
  std::unique_ptr<Encoder> encoder = factory(params);
  if (!encoder) throw std::logic_error(who + ": its factory returned no encoder");
  if (encoder->family() != family)
    throw std::logic_error(who + " declares family " + to_string(family) +
                           " in its registration, but its encoder's family() is " +
                           to_string(encoder->family()) +
                           "; the two must agree (a bug in the scheme, not in the config)");
  return encoder;
}

}  // namespace posbench
