#pragma once
// The report layer: what a finished run (plain structs from harness/run/runner.h) looks like to
// a reader. Reporters are peers behind one interface, one file each (after google/benchmark's
// BenchmarkReporter): the console summary (console.h) and the results document (json.h). They
// format; they compute nothing that is not already in the run. This layer may use run and
// everything below it; only the CLI is above it.

#include <memory>
#include <string>

#include "harness/run/runner.h"

namespace posbench {

class Reporter {
 public:
  virtual ~Reporter() = default;
  // The whole report of `run` as text (a table for a terminal, a JSON document for a file).
  virtual std::string render(const RunOutput& run) const = 0;
};

std::unique_ptr<Reporter> make_console_reporter();
std::unique_ptr<Reporter> make_json_reporter();

}  // namespace posbench
