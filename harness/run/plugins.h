#pragma once
// Out-of-tree schemes and experiments: a shared library (a CMake MODULE library linked against
// posbench::sdk) whose scheme registers itself exactly as a built-in one does, with a
// file-level EncoderRegistration (or ExperimentRegistration), plus once, in any one source:
//
//   POSBENCH_PLUGIN();   // encoders/registry.h: records kInterfaceVersion in the library
//
// The library is not linked against any posbench library: its undefined posbench symbols
// (the registries, ParamSpec builders, Params accessors, Encoder's vtable, ...) are bound at
// dlopen time to the ones the posbench executable exports (it is linked with ENABLE_EXPORTS).
//
// Loading order, so that nothing of a bad plugin runs:
//   1. the file must exist and be an ELF shared library (read from the file, not dlopen'ed);
//   2. its .posbench_plugin section must hold this posbench's kInterfaceVersion;
//   3. dlopen(RTLD_NOW): every symbol must resolve (else: which one is missing, demangled);
//      its static registrations run now;
//   4. it must have registered something, and no name that is already taken (otherwise all
//      its registrations are withdrawn).
// Each failure is one UserError "plugin PATH: ..." (exit code 2).

#include <string>
#include <vector>

namespace posbench {

// Loads the plugin at `path` (a relative path is taken relative to the current directory;
// the dynamic linker's search path is never used). Loading the same file again is a no-op.
// Schemes and experiments it registers record "PATH (file.cpp)" as their source.
// Throws UserError as described above.
void load_plugin(const std::string& path);

// Absolute paths of the plugins loaded so far, in load order.
std::vector<std::string> loaded_plugins();

}  // namespace posbench
