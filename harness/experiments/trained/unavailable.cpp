// trained_extrapolation in a build without libtorch (CMake did not find Torch, or
// -DPOSBENCH_TORCH=OFF): listed with its parameters, so `list` / `describe` show it and
// `validate` checks its params as usual, and then refused by `validate` / `run` (a UserError,
// exit 2) naming the package that provides it. No torch here.
#include <string>

#include "harness/experiments/trained/spec.h"

namespace posbench::trained {
namespace {

const ExperimentRegistration kRegistration{{
    .name = "trained_extrapolation",
    .description = std::string("UNAVAILABLE in this build (needs libtorch: apt-get install "
                               "libtorch-dev libopenblas-dev, then reconfigure): ") +
                   kDescription,
    .params = param_specs(),
    .metrics = metric_specs(),
    .factory = [](const Params&) -> std::unique_ptr<Experiment> {
      throw UserError("",
                      "trained_extrapolation is unavailable: this posbench was built without "
                      "libtorch; install it with `apt-get install libtorch-dev "
                      "libopenblas-dev` and reconfigure (cmake -S . -B build)");
    },
}};

}  // namespace
}  // namespace posbench::trained
