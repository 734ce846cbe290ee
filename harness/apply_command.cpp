#include "harness/apply_command.h"

#include "encoders/diagnostics.h"

namespace posbench {

// Placeholder until the .npy reader/writer lands (see harness/npy.h).
void apply_command(const ApplyArgs&) { throw std::runtime_error("apply: not built yet"); }

}  // namespace posbench
