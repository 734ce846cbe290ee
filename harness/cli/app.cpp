// build/posbench — the command line. Exit codes: 0 ok, 2 bad usage/config/input,
// 1 runtime failure. Errors go to stderr.
#include "harness/cli/app.h"

#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

#include "harness/cli/apply_command.h"
#include "harness/cli/compare_command.h"
#include "harness/cli/plot_command.h"
#include "harness/cli/units_command.h"
#include "harness/experiments/speed/reliability.h"
#include "harness/report/console.h"
#include "harness/report/json.h"
#include "harness/report/registry_json.h"
#include "harness/run/config.h"
#include "harness/run/context.h"
#include "harness/run/load_plan.h"
#include "harness/run/plugins.h"
#include "harness/run/results_file.h"
#include "harness/run/runner.h"

namespace posbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "12G", "512M", "1048576" -> bytes.
uint64_t parse_bytes(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  double mult = suffix.empty() || suffix == "B"    ? 1
                : suffix == "K" || suffix == "KiB" ? 1024.0
                : suffix == "M" || suffix == "MiB" ? 1024.0 * 1024
                : suffix == "G" || suffix == "GiB" ? 1024.0 * 1024 * 1024
                                                   : -1;
  // Below 2^63: a memory estimate the guard accepts then bounds every element and byte count
  // allocated after it, so none of them overflows an int64 (encoders/checked_size.h).
  if (used == 0 || mult < 0 || !(v * mult >= 1) || v * mult >= 0x1p63)
    throw UserError("--max-memory: got '" + text +
                    "', expected a size such as 12G, 512M or bytes, below 2^63 bytes");
  return uint64_t(v * mult);
}

// A whole number in [lo, hi], checked on the text as given (CLI11's own range check prints a
// 309-digit bound for a double range and an out-of-range integer as another number).
CLI::Validator whole_number_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec == std::errc() && ptr == end && v >= lo && v <= hi) return "";
        return "got '" + text + "', expected a whole number from " + std::to_string(lo) + " to " +
               std::to_string(hi);
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// An experiment's declared metrics: name [unit], meaning, and the classic schemes' value.
void print_metrics(const json& metrics) {
  fmt::print("  metrics:\n");
  if (metrics.empty()) fmt::print("    (none declared)\n");
  for (const auto& m : metrics) {
    fmt::print("    {} [{}]\n      {}\n", m["name"].get<std::string>(),
               m["unit"].get<std::string>(), m["meaning"].get<std::string>());
    if (!m["expected"].get<std::string>().empty())
      fmt::print("      expected: {}\n", m["expected"].get<std::string>());
  }
}

void print_params(const json& params, int depth = 0);

// The declarations inside a list, object or tagged object, indented one level deeper.
void print_nested(const json& p, int depth) {
  const std::string pad(4 + 2 * depth, ' ');
  if (p.contains("element")) {
    const json& e = p["element"];
    if (e.contains("fields") || e.contains("variants") || e.contains("element")) {
      fmt::print("{}each element: {}\n", pad, e["expected"].get<std::string>());
      print_nested(e, depth + 1);
    }
  }
  if (p.contains("exactly_one_group_of")) {
    std::string groups;
    for (const auto& g : p["exactly_one_group_of"]) {
      std::string names;
      for (const auto& n : g) names += (names.empty() ? "" : ", ") + n.get<std::string>();
      groups += (groups.empty() ? "{" : " or {") + names + "}";
    }
    fmt::print("{}give exactly one of {}\n", pad, groups);
  }
  for (const char* key : {"fields", "common_fields"})
    if (p.contains(key) && !p[key].empty()) {
      if (std::string(key) == "common_fields") fmt::print("{}in every variant:\n", pad);
      print_params(p[key], depth);
    }
  if (p.contains("variants"))
    for (const auto& v : p["variants"]) {
      fmt::print("{}{} \"{}\": {}\n", pad, p["tag"].get<std::string>(), v["tag"].get<std::string>(),
                 v["description"].get<std::string>());
      print_params(v["fields"], depth + 1);
    }
}

void print_params(const json& params, int depth) {
  const std::string pad(4 + 2 * depth, ' ');
  const int width = std::max(8, 22 - 2 * depth);
  for (const auto& p : params) {
    std::string dflt = p["required"].get<bool>() ? "required"
                       : p["default"].is_null()  ? "optional"
                                                 : "default " + p["default"].dump();
    fmt::print("{}{:<{}} {:<12} {:<22} {}\n", pad, p["name"].get<std::string>(), width,
               p["type"].get<std::string>(), dflt, p["description"].get<std::string>());
    fmt::print("{}{:<{}} {:<12} {:<22} expected {}\n", pad, "", width, "", "",
               p["expected"].get<std::string>());
    if (p.contains("aliases")) {
      std::string names;
      for (const auto& a : p["aliases"])
        names += (names.empty() ? "" : ", ") + a.get<std::string>();
      fmt::print("{}{:<{}} {:<12} {:<22} also accepted as: {}\n", pad, "", width, "", "", names);
    }
    print_nested(p, depth + 1);
  }
}

// "base=10000.0, layout=\"half\", path (optional), x (required)": a list line's parameters.
std::string params_line(const json& params) {
  std::string out;
  for (const auto& p : params) {
    std::string one = p["name"].get<std::string>();
    if (p["required"].get<bool>())
      one += " (required)";
    else if (!p["default"].is_null())
      one += "=" + show(p["default"]);
    else
      one += " (optional)";
    out += (out.empty() ? "" : ", ") + one;
  }
  return out.empty() ? "(none)" : out;
}

int cmd_list(bool as_json) {
  const json all = registry_json();
  const json &encoders = all["encoders"], &experiments = all["experiments"];
  if (as_json) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  fmt::print("Schemes:\n");
  for (const auto& e : encoders) {
    fmt::print("  {:<14} {:<9} v{:<3} {}\n", e["name"].get<std::string>(),
               e["family"].get<std::string>(), e["version"].get<int>(),
               e["description"].get<std::string>());
    fmt::print("      params: {}\n", params_line(e["params"]));
  }
  fmt::print("Experiments:\n");
  for (const auto& e : experiments) {
    fmt::print("  {:<22} {}\n", e["name"].get<std::string>(), e["description"].get<std::string>());
    fmt::print("      params: {}\n", params_line(e["params"]));
  }
  fmt::print("`posbench describe NAME` shows each parameter in full (type, range, meaning).\n");
  return 0;
}

int cmd_describe(const std::string& name, bool as_json) {
  const json j = describe_json(name);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  fmt::print("{} ({}{})\n  {}\n  registered in {}\n", j["name"].get<std::string>(),
             j["kind"].get<std::string>(),
             j.contains("family") ? ", " + j["family"].get<std::string>() + ", version " +
                                        std::to_string(j["version"].get<int>())
                                  : "",
             j["description"].get<std::string>(), j["source"].get<std::string>());
  fmt::print("  params:\n");
  print_params(j["params"]);
  if (j.contains("metrics")) print_metrics(j["metrics"]);
  return 0;
}

int cmd_validate(const std::string& file, uint64_t max_memory) {
  require_utf8_path(file, "CONFIG");
  Plan plan;
  const std::vector<Problem> problems =
      validate_config(read_json_file(file), fs::path(file).parent_path(), max_memory, &plan);
  if (!problems.empty()) {
    fmt::print(stderr, "{}: {} problem{}\n", file, problems.size(),
               problems.size() == 1 ? "" : "s");
    for (const auto& p : problems) fmt::print(stderr, "  {}\n", p.str());
    return 2;
  }
  size_t encoders = 0;
  for (const auto& e : plan.experiments) encoders += e.encoders.size();
  fmt::print("{}: valid ({}, {})\n", file,
             count_of((long long)plan.experiments.size(), "experiment"),
             count_of((long long)encoders, "encoder entry", "encoder entries"));
  return 0;
}

// SIGINT / SIGTERM: no results file is written before a run completes, so stopping is always
// clean; the units already finished stay in <results>.units/ (each written atomically) for
// `run --resume` (a Slurm pre-emption sends SIGTERM). Say so, remove a temporary file being
// written, and exit 128 + signal as a shell expects.
extern "C" void stop_on_signal(int sig) {
  remove_pending_temporary_file();
  static const char msg[] =
      "\nposbench: interrupted; no results were written (units already finished are kept "
      "beside the results file: run again with --resume to do only the others)\n";
  [[maybe_unused]] const auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(128 + sig);
}

}  // namespace

int cli_main(int argc, char** argv) {
  std::signal(SIGINT, stop_on_signal);
  std::signal(SIGTERM, stop_on_signal);
  CLI::App app{"posbench: benchmark and compare positional encodings"};
  app.require_subcommand(1);
  // Global options (--plugin, --max-memory) are also accepted after the subcommand.
  app.fallthrough();
  app.set_version_flag("--version", [] {
    return fmt::format(
        "posbench {}\ngit: {}\ncompiler: {} ({} build)\nplugin interface version: {}\nresults "
        "schema version: {}",
        posbench_version(), run_context()["git_describe"].get<std::string>(),
        run_context()["compiler"].get<std::string>(),
        run_context()["build_type"].get<std::string>(), kInterfaceVersion, kResultsSchemaVersion);
  });
  std::vector<std::string> plugins;
  std::string max_memory_text;
  app.add_option("--plugin", plugins, "load a scheme plugin (shared library); repeatable");
  app.add_option("--max-memory", max_memory_text,
                 "refuse runs needing more memory than this (e.g. 12G; default: half of RAM)");

  bool list_json = false, describe_json = false;
  auto* list = app.add_subcommand("list", "list schemes and experiments");
  list->add_flag("--json", list_json, "machine-readable output");

  std::string describe_name;
  auto* describe = app.add_subcommand("describe", "show one scheme or experiment in full");
  describe->add_option("NAME", describe_name, "scheme or experiment name")->required();
  describe->add_flag("--json", describe_json, "machine-readable output");

  std::string config_file;
  auto* validate = app.add_subcommand("validate", "check a config; report every problem");
  validate->add_option("CONFIG", config_file, "config JSON file")->required();

  std::string output;
  int threads = 0;
  auto* run = app.add_subcommand("run", "run a config, print a summary, write results JSON");
  run->add_option("CONFIG", config_file, "config JSON file")->required();
  run->add_option("-o,--output", output, "results file (default results/<stem>-<UTC time>.json)");
  run->add_option("--threads", threads, "OpenMP threads (default: all cores)")
      ->check(whole_number_in(1, 4096));
  bool run_force = false, apply_force = false;
  run->add_flag("--force", run_force, "replace an existing results file (atomically)");
  int wait_for_quiet = 0;
  run->add_option("--wait-for-quiet", wait_for_quiet,
                  "before a speed experiment, wait up to SECONDS for the 1-min load average to "
                  "fall below half the cores (then run anyway, marking busy figures unreliable)")
      ->check(whole_number_in(0, 86400));

  RunArgs run_args;
  run->add_option("--shard", run_args.shard,
                  "run only shard K of N (K/N, K from 0 as $SLURM_ARRAY_TASK_ID): a cost-balanced "
                  "share of the units, written as a partial results file for `merge`");
  run->add_flag("--resume", run_args.resume,
                "keep the units an interrupted run recorded in <output>.units/ and run only the "
                "others");
  bool verbose = false;
  run->add_flag("--verbose", verbose, "print one line per Google Benchmark benchmark (speed)");

  bool plan_json = false;
  int plan_shards = 1;
  auto* plan = app.add_subcommand("plan", "list a config's units: id, what, memory, cost");
  plan->add_option("CONFIG", config_file, "config JSON file")->required();
  plan->add_flag("--json", plan_json, "machine-readable output");
  plan->add_option("--shards", plan_shards, "also show which of N shards runs each unit")
      ->check(whole_number_in(1, 100000));

  std::vector<std::string> merge_parts;
  std::string merge_output;
  bool merge_force = false;
  auto* merge = app.add_subcommand("merge", "merge the partial results of run --shard K/N");
  merge->add_option("PARTS", merge_parts, "partial results files (one per shard)")->required();
  merge->add_option("-o,--output", merge_output, "the merged results file")->required();
  merge->add_flag("--force", merge_force, "replace an existing results file (atomically)");

  ApplyArgs apply_args;
  auto* apply = app.add_subcommand("apply", "apply one scheme to a .npy array");
  apply->add_option("NAME", apply_args.scheme, "scheme name")->required();
  apply->add_option("--input", apply_args.input, "input .npy (float32/float64, C order)")
      ->required();
  apply->add_option("--output", apply_args.output, "output .npy (must not exist, or --force)")
      ->required();
  apply->add_flag("--force", apply_force, "replace an existing --output (atomically)");
  apply->add_option("--params", apply_args.params_json, "scheme params as JSON");
  apply->add_option("--hf-config", apply_args.hf_config,
                    "rope: read params from a HuggingFace config.json (--params override it)");
  apply->add_option("--offset", apply_args.offset, "position of the first row")
      ->check(whole_number_in(0, std::numeric_limits<int64_t>::max()));
  apply->add_option("--role", apply_args.role,
                    "rotary schemes: rotate the rows as queries or keys (query|key, default "
                    "query; xPos scales the two differently)");

  PythonCommands python_commands;  // plot, report (harness/cli/plot_command.h)
  add_python_commands(app, python_commands);
  CompareArgs compare_args;  // harness/cli/compare_command.h
  add_compare_command(app, compare_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    for (const auto& p : plugins) load_plugin(p);
    for (const auto& d : EncoderRegistry::instance().duplicates())
      throw std::runtime_error(d.str());
    for (const auto& d : ExperimentRegistry::instance().duplicates())
      throw std::runtime_error(d.str());
    const uint64_t max_memory = max_memory_text.empty() ? 0 : parse_bytes(max_memory_text);
    if (*list) return cmd_list(list_json);
    if (*describe) return cmd_describe(describe_name, describe_json);
    if (*validate) return cmd_validate(config_file, max_memory);
    if (*run) {
      speed::set_wait_for_quiet_seconds(wait_for_quiet);
      speed::set_verbose(verbose);
      run_args.config = config_file;
      run_args.output = output;
      run_args.threads = threads;
      run_args.max_memory = max_memory;
      run_args.force = run_force;
      run_args.self = argv[0];
      return run_command(run_args);
    }
    if (*plan) return plan_command(config_file, plan_json, plan_shards);
    if (*merge) return merge_command(merge_parts, merge_output, merge_force, 0, max_memory);
    if (const int rc = run_python_commands(python_commands); rc >= 0) return rc;
    if (*compare_args.command) return compare_command(compare_args);
    if (*apply) {
      apply_args.max_memory = max_memory;
      apply_args.force = apply_force;
      apply_command(apply_args);
      return 0;
    }
  } catch (const UserError& e) {
    for (const auto& p : e.problems()) fmt::print(stderr, "posbench: error: {}\n", p.str());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "posbench: failure: {}\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace posbench
