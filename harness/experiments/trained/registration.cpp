// Registers trained_extrapolation in every build, without torch. The experiment itself lives in
// the torch module libposbench_trained.so (model, trainer, injectors, trained_extrapolation.cpp),
// loaded with dlopen the first time a config builds the experiment: linking libtorch into
// posbench cost every process ~0.9 s of start-up (289 shared libraries) whether or not it
// trained anything, and the test suite starts hundreds of them.
//
// The module is found, in this order:
//   1. linked into this process already (posbench_trained_tests, posbench_train_speed):
//      dlsym(RTLD_DEFAULT, "posbench_trained_create");
//   2. beside the image that holds this code (build/posbench -> build/libposbench_trained.so;
//      an installed Python module -> the module installed beside it);
//   3. at the install layout's place relative to it (bin/posbench -> lib/posbench/...);
//   4. in the build tree this was configured in (build/python/posbench/_core -> build/).
// Without Torch (-DPOSBENCH_TORCH=OFF, or CMake did not find it) nothing is searched: the
// experiment is listed with its parameters and refused (UserError, exit 2) naming the package.
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <string>

#include "harness/experiments/trained/spec.h"

namespace posbench::trained {
namespace {

namespace fs = std::filesystem;
using CreateFn = Experiment* (*)(const Params&);
constexpr const char* kCreateSymbol = "posbench_trained_create";
constexpr const char* kInstallHint =
    "install libtorch with `apt-get install libtorch-dev libopenblas-dev` and reconfigure "
    "(cmake -S . -B build)";

bool is_file(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

#if POSBENCH_TRAINED_MODULE_BUILT
// Directory of the executable or shared object that holds this function. (Only where there is a
// module to look for: clang's -Wunneeded-internal-declaration otherwise.)
fs::path own_image_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_image_dir), &info) == 0 || !info.dli_fname) return {};
  std::error_code ec;
  const fs::path image = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path(info.dli_fname).parent_path() : image.parent_path();
}
#endif

std::vector<fs::path> candidate_paths() {
#if POSBENCH_TRAINED_MODULE_BUILT
  const fs::path dir = own_image_dir();
  std::vector<fs::path> c;
  if (!dir.empty()) {
    c.push_back(dir / POSBENCH_TRAINED_MODULE_NAME);
    c.push_back((dir / POSBENCH_TRAINED_MODULE_INSTALL_RELATIVE).lexically_normal());
  }
  const fs::path build = POSBENCH_TRAINED_MODULE_BUILD_PATH;
  if (std::find(c.begin(), c.end(), build) == c.end()) c.push_back(build);
  return c;
#else
  return {};
#endif
}

CreateFn linked_factory() { return reinterpret_cast<CreateFn>(dlsym(RTLD_DEFAULT, kCreateSymbol)); }

fs::path find_module() {
  for (const fs::path& p : candidate_paths())
    if (is_file(p)) return p;
  return {};
}

std::string unavailable_reason() {
#if POSBENCH_TRAINED_MODULE_BUILT
  std::string where;
  for (const fs::path& p : candidate_paths()) where += (where.empty() ? "" : ", ") + p.string();
  return "trained_extrapolation is unavailable: its torch module " POSBENCH_TRAINED_MODULE_NAME
         " is not at " +
         where + "; build it with `cmake --build build --target posbench_trained`";
#else
  return std::string(
             "trained_extrapolation is unavailable: this posbench was built without "
             "libtorch; ") +
         kInstallHint;
#endif
}

// Loads the module once per process (never unloaded: libtorch does not support it). RTLD_GLOBAL:
// the trainer finds OpenBLAS's openblas_set_num_threads, a dependency of libtorch, with
// dlsym(RTLD_DEFAULT); the module's own posbench references bind to this process's copies.
CreateFn load_factory() {
  static std::mutex mutex;
  static CreateFn create = nullptr;
  std::lock_guard lock(mutex);
  if (create) return create;
  if ((create = linked_factory())) return create;
  const fs::path path = find_module();
  if (path.empty()) throw UserError("", unavailable_reason());
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    const char* err = dlerror();
    throw UserError("", "trained_extrapolation is unavailable: loading its torch module " +
                            path.string() + " failed: " + (err ? err : "unknown dlopen error") +
                            "; " + kInstallHint);
  }
  create = reinterpret_cast<CreateFn>(dlsym(handle, kCreateSymbol));
  if (!create)
    throw UserError("", path.string() + " is not posbench's torch module (no " +
                            std::string(kCreateSymbol) + ")");
  return create;
}

}  // namespace

bool available() { return linked_factory() || !find_module().empty(); }

namespace {

const ExperimentRegistration kRegistration{{
    .name = "trained_extrapolation",
    .description =
        available() ? std::string(kDescription)
                    : "UNAVAILABLE in this build (" + unavailable_reason() + "): " + kDescription,
    .params = param_specs(),
    .metrics = metric_specs(),
    .factory = [](const Params& p) { return std::unique_ptr<Experiment>(load_factory()(p)); },
}};

}  // namespace
}  // namespace posbench::trained
