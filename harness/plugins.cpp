#include "harness/plugins.h"

#include <dlfcn.h>

#include <algorithm>

#include "harness/experiment.h"

namespace posbench {

void load_plugin(const std::string& path) {
  auto& encoders = EncoderRegistry::instance();
  auto& experiments = ExperimentRegistry::instance();
  const auto enc_before = encoders.names();
  const auto exp_before = experiments.names();
  encoders.clear_duplicates();
  experiments.clear_duplicates();
  // Static registrations run inside dlopen.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw UserError("plugin " + path + ": cannot load: " + dlerror());

  auto withdraw = [&] {
    for (const auto& n : encoders.names())
      if (std::find(enc_before.begin(), enc_before.end(), n) == enc_before.end())
        encoders.remove(n);
    for (const auto& n : experiments.names())
      if (std::find(exp_before.begin(), exp_before.end(), n) == exp_before.end())
        experiments.remove(n);
  };
  using VersionFn = int (*)();
  auto version = reinterpret_cast<VersionFn>(dlsym(handle, "posbench_plugin_interface_version"));
  std::string problem;
  if (!version)
    problem = "does not define posbench_plugin_interface_version(); add POSBENCH_PLUGIN() to it";
  else if (version() != kInterfaceVersion)
    problem = "was built against plugin interface version " + std::to_string(version()) +
              ", this posbench has version " + std::to_string(kInterfaceVersion) +
              "; rebuild it against this posbench's SDK";
  else if (!encoders.duplicates().empty())
    problem = encoders.duplicates().front();
  else if (!experiments.duplicates().empty())
    problem = experiments.duplicates().front();
  if (!problem.empty()) {
    withdraw();
    encoders.clear_duplicates();
    experiments.clear_duplicates();
    // The library stays mapped: its registrations' destructors may run at exit.
    throw UserError("plugin " + path + ": " + problem);
  }
}

}  // namespace posbench
