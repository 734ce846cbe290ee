#pragma once
// `posbench plot RESULTS.json [-o DIR] [--format png,pdf,svg]` and
// `posbench report RESULTS.json -o report.html`: run the Python package python/posbench
// (`python3 -m posbench.plot` / `posbench.report`, matplotlib) on a results file.
//
// Where the package is found, first match wins:
//   1. <binary's directory>/../share/posbench/python   (`cmake --install`, any prefix)
//   2. <source tree>/python                             (the tree this binary was built from)
// Which interpreter runs it: $POSBENCH_PYTHON if set (only that one); else the first of
// `python3` on PATH and /usr/bin/python3 that can `import matplotlib` (a pyenv or venv python3
// on PATH often lacks Debian's python3-matplotlib, which /usr/bin/python3 has).
// The package directory is put in front of PYTHONPATH. When no interpreter is found or none
// imports matplotlib, the command exits 2 naming the Debian package to install; otherwise it
// exits with the module's code (0 ok, 2 bad arguments or results file, 1 failure).

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace posbench {

struct PythonCommands {
  CLI::App* plot = nullptr;
  CLI::App* report = nullptr;
  std::string results, output, formats;
};

// Adds the `plot` and `report` subcommands to `app`.
void add_python_commands(CLI::App& app, PythonCommands& commands);

// Runs the parsed command (returns its exit code); -1 when neither was given.
int run_python_commands(const PythonCommands& commands);

}  // namespace posbench
