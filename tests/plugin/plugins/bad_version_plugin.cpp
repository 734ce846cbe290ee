// A test plugin declaring interface version 999. posbench must refuse it from the file alone:
// none of its code may run (this constructor would say so on stderr and in the environment).
#include <cstdio>
#include <cstdlib>

extern "C" __attribute__((visibility("default"), used, section(".posbench_plugin")))
const int posbench_plugin_interface_version = 999;

namespace {
struct Announce {
  Announce() {
    std::fputs("bad_version_plugin: static initialisation ran\n", stderr);
    setenv("POSBENCH_BAD_PLUGIN_RAN", "bad_version_plugin", 1);
  }
} announce;
}  // namespace
