// A test plugin with the right interface version that registers nothing.
#include "encoders/registry.h"

POSBENCH_PLUGIN();
