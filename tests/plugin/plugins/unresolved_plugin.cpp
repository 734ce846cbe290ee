// A test plugin using a posbench function that does not exist: dlopen(RTLD_NOW) must fail
// with the (demangled) symbol name, before any of its code runs.
#include "encoders/registry.h"

namespace posbench {
int symbol_missing_from_posbench(int);
}

namespace {
struct UsesMissing {
  UsesMissing() { value = posbench::symbol_missing_from_posbench(1); }
  int value = 0;
} uses_missing;
}  // namespace

POSBENCH_PLUGIN();
