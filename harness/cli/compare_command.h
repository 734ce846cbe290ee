#pragma once
// `posbench compare A.json B.json [--json] [--fail-on-regression PCT] [--alpha A] [--noise PCT]
// [--time auto|cpu|wall] [--rtol R] [--atol T] [--map IMPL_A=IMPL_B]...`, `posbench compare A.json
// B.json --exact` and `posbench compare RESULTS.json --by label` (harness/report/compare.h does the
// work; the options and exit codes are in harness/cli/README.md).
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace posbench {

struct CompareArgs {
  CLI::App* command = nullptr;
  std::vector<std::string> files;
  bool json = false, exact = false;
  std::string by;
  std::optional<double> fail_on_regression;
  double alpha = 0.05, rtol = 1e-6, atol = 1e-12;
  std::optional<double> noise;  // percent; unset: kDefaultNoisePct (harness/report/compare.h)
  std::string time = "auto";    // auto | cpu | wall
  std::vector<std::string> maps;
};

// Adds the `compare` subcommand to `app`.
void add_compare_command(CLI::App& app, CompareArgs& args);

// Runs it: 0, or 1 for a regression beyond --fail-on-regression or a difference under
// --exact; a UserError (exit 2) for bad arguments or files.
int compare_command(const CompareArgs& args);

}  // namespace posbench
