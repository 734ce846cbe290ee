#pragma once
// Out-of-tree schemes: a shared library whose scheme registers itself exactly as a built-in
// one does (a file-level EncoderRegistration), plus one C symbol telling which interface
// version it was built against:
//
//   extern "C" int posbench_plugin_interface_version() { return posbench::kInterfaceVersion; }
//
// POSBENCH_PLUGIN() in encoders/registry.h defines it.

#include <string>

namespace posbench {

// Loads the library; throws UserError if it cannot be opened, lacks the version symbol, was
// built against another interface version, or registers a name that is already taken (its
// registrations are then withdrawn).
void load_plugin(const std::string& path);

}  // namespace posbench
