// build/posbench. Everything is in cli_main (harness/cli/app.h).
#include "harness/cli/app.h"

int main(int argc, char** argv) { return posbench::cli_main(argc, argv); }
