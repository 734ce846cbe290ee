// A test plugin without POSBENCH_PLUGIN(): refused from the file alone, none of its code runs.
#include <cstdio>
#include <cstdlib>

namespace {
struct Announce {
  Announce() {
    std::fputs("no_version_plugin: static initialisation ran\n", stderr);
    setenv("POSBENCH_BAD_PLUGIN_RAN", "no_version_plugin", 1);
  }
} announce;
}  // namespace

extern "C" int no_version_plugin_anchor() { return 1; }
