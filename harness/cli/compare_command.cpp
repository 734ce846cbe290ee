#include "harness/cli/compare_command.h"

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "encoders/error.h"
#include "harness/kernels/ops.h"
#include "harness/report/compare.h"

namespace posbench {

void add_compare_command(CLI::App& app, CompareArgs& a) {
  a.command = app.add_subcommand(
      "compare",
      "compare two results files (metrics, and speed with a Mann-Whitney U test), "
      "or show one file's sweep as a table (--by label)");
  a.command->add_option("FILES", a.files, "A.json B.json, or one RESULTS.json with --by")
      ->required();
  a.command->add_flag("--json", a.json, "machine-readable output (harness/cli/README.md)");
  a.command->add_option("--fail-on-regression", a.fail_on_regression,
                        "exit 1 if a scheme's benchmark is significantly slower (see --noise) "
                        "in B by more than PCT percent");
  a.command->add_option("--alpha", a.alpha, "significance level of the U test (default 0.05)");
  a.command->add_option(
      "--noise", a.noise,
      fmt::format("noise floor in percent (default {:g}): a benchmark is significantly slower or "
                  "faster only if the U test's p < alpha AND its medians differ by more than "
                  "this. Repetitions of one run are not independent draws (they share the "
                  "machine's state), so the U test alone calls run-to-run drift of unchanged "
                  "code significant; five runs of one config differed by up to 41% (CPU) / 50% "
                  "(wall) on a busy shared 2-core machine (harness/cli/README.md). Lower it on "
                  "a quiet, dedicated one (e.g. --noise 10)",
                  kDefaultNoisePct));
  a.command->add_option("--time", a.time,
                        "clock the repetitions are compared on: auto (default: CPU time of the "
                        "timing thread for 1-thread benchmarks when both files have it, as it "
                        "leaves out time spent waiting for a core; wall time otherwise), cpu, "
                        "wall");
  a.command->add_option("--rtol", a.rtol,
                        "a metric differs when |B - A| > atol + rtol |A| (default 1e-6)");
  a.command->add_option("--atol", a.atol, "see --rtol (default 1e-12)");
  a.command->add_option("--map", a.maps,
                        "IMPL_A=IMPL_B: compare A's benchmarks of one implementation with B's "
                        "of another (e.g. simd=reference); repeatable");
  a.command->add_option("--by", a.by,
                        "with one file: 'label', one table per experiment with "
                        "the swept params as columns");
  a.command->add_flag("--exact", a.exact,
                      "exit 0 iff every value but timings and provenance is identical, else 1 "
                      "listing the differences");
}

namespace {

void check_number(double v, const std::string& option, bool ok, const std::string& expected) {
  if (!std::isfinite(v) || !ok) throw UserError(option, got_expected(v, expected));
}

CompareOptions options_of(const CompareArgs& a) {
  CompareOptions o;
  check_number(a.alpha, "--alpha", a.alpha > 0 && a.alpha < 1, "a probability in (0, 1)");
  check_number(a.rtol, "--rtol", a.rtol >= 0, "a number >= 0");
  check_number(a.atol, "--atol", a.atol >= 0, "a number >= 0");
  if (a.fail_on_regression)
    check_number(*a.fail_on_regression, "--fail-on-regression", *a.fail_on_regression >= 0,
                 "a percentage >= 0 (e.g. 10 for 10% slower)");
  if (a.noise)
    check_number(*a.noise, "--noise", *a.noise >= 0,
                 "a percentage >= 0 (e.g. 10: changes of the medians up to 10% are noise)");
  o.noise_pct = a.noise.value_or(kDefaultNoisePct);
  if (a.time == "auto")
    o.time = TimeBasis::automatic;
  else if (a.time == "cpu")
    o.time = TimeBasis::cpu;
  else if (a.time == "wall")
    o.time = TimeBasis::wall;
  else
    throw UserError("--time", unknown_name_message("clock", a.time, {"auto", "cpu", "wall"}));
  o.alpha = a.alpha;
  o.rtol = a.rtol;
  o.atol = a.atol;
  o.fail_on_regression_pct = a.fail_on_regression;
  const std::vector<std::string> impls = {kernels::to_string(kernels::Impl::reference),
                                          kernels::to_string(kernels::Impl::simd)};
  for (const auto& m : a.maps) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos)
      throw UserError("--map", got_expected(m, "IMPL_A=IMPL_B, e.g. simd=reference"));
    const std::string from = m.substr(0, eq), to = m.substr(eq + 1);
    for (const auto& name : {from, to})
      if (std::find(impls.begin(), impls.end(), name) == impls.end())
        throw UserError("--map " + m, unknown_name_message("implementation", name, impls));
    if (o.implementation_map.count(from))
      throw UserError("--map " + m, "implementation '" + from + "' of A is mapped twice");
    o.implementation_map[from] = to;
  }
  return o;
}

}  // namespace

int compare_command(const CompareArgs& a) {
  const CompareOptions o = options_of(a);
  if (!a.by.empty()) {
    if (a.by != "label")
      throw UserError("--by", unknown_name_message("table layout", a.by, {"label"}));
    if (a.files.size() != 1)
      throw UserError("--by", got_expected(a.files,
                                           "exactly one results file (its sweep as a "
                                           "table)"));
    if (a.exact || a.fail_on_regression || !a.maps.empty())
      throw UserError("--by",
                      "is a table of one file; --exact, --fail-on-regression and --map "
                      "compare two");
    const nlohmann::json t = by_label_tables(read_results(a.files[0]));
    std::cout << (a.json ? t.dump(2) + "\n" : render_by_label(t));
    return 0;
  }
  if (a.files.size() != 2)
    throw UserError("FILES", got_expected(a.files,
                                          "two results files, A.json B.json (or one "
                                          "with --by label)"));
  const ResultsInput ra = read_results(a.files[0]), rb = read_results(a.files[1]);
  if (a.exact) {
    if (a.fail_on_regression || !a.maps.empty())
      throw UserError("--exact",
                      "compares values, not speeds: --fail-on-regression and --map "
                      "do not apply");
    const nlohmann::json d = exact_differences(ra, rb);
    std::cout << (a.json ? d.dump(2) + "\n" : render_exact(d, ra.name, rb.name));
    return d["identical"].get<bool>() ? 0 : 1;
  }
  const nlohmann::json c = compare_results(ra, rb, o);
  if (a.fail_on_regression && c["summary"]["benchmarks_compared"].get<size_t>() == 0)
    throw UserError("--fail-on-regression",
                    "no speed benchmark of A matches one of B, so no regression could be "
                    "detected (compare without it to see what was aligned)");
  std::cout << (a.json ? c.dump(2) + "\n" : render_comparison(c));
  return c["fail"].get<bool>() ? 1 : 0;
}

}  // namespace posbench
