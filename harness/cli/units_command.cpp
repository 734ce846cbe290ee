#include "harness/cli/units_command.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "harness/report/console.h"
#include "harness/report/json.h"
#include "harness/run/context.h"
#include "harness/run/load_plan.h"
#include "harness/run/merge.h"
#include "harness/run/plugins.h"
#include "harness/run/progress.h"
#include "harness/run/results_file.h"
#include "harness/run/runner.h"

namespace posbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_output(const fs::path& target, const std::string& content, bool force) {
  force ? replace_file_atomically(target, content) : write_file_atomically(target, content);
}

// A finished run's results: the console summary, the results file, then its side files.
void write_results(const RunOutput& run, const fs::path& out, bool force) {
  std::cout << make_console_reporter()->render(run);
  write_output(out, make_json_reporter()->render(run), force);
  // Side files (Google Benchmark's JSON) only now: a failed or interrupted run leaves none.
  for (const auto& e : run.experiments)
    for (const auto& side : e.result.side_files) write_output(side.path, side.content, force);
}

// With --resume, an output that already holds this run (the same config, and for a part the
// same shard) means there is nothing left to do, e.g. a Slurm task requeued after it finished.
bool already_complete(const fs::path& out, const std::string& hash, bool partial, size_t k,
                      size_t n) {
  std::error_code ec;
  if (!fs::is_regular_file(out, ec)) return false;
  json doc;
  try {
    doc = read_json_file(out);
  } catch (const UserError&) {
    return false;
  }
  if (!doc.is_object() || doc.value("config_hash", "") != hash) return false;
  if (partial != is_partial_document(doc)) return false;
  if (!partial) return true;
  return doc["shard"].value("index", size_t(-1)) == k &&
         doc["shard"].value("count", size_t(0)) == n;
}

std::string config_dir_of(const std::string& file) {
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(fs::path(file)).parent_path(), ec);
  return (ec ? fs::absolute(fs::path(file)).parent_path() : dir).string();
}

}  // namespace

Plan load_plan_file(const std::string& file) {
  return load_plan(read_json_file(file), fs::path(file).parent_path());
}

std::pair<size_t, size_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  size_t k = 0, n = 0;
  bool ok = slash != std::string::npos;
  if (ok) {
    const char* b = text.data();
    const auto [pk, ek] = std::from_chars(b, b + slash, k);
    const auto [pn, en] = std::from_chars(b + slash + 1, b + text.size(), n);
    ok = ek == std::errc() && pk == b + slash && en == std::errc() && pn == b + text.size() &&
         n >= 1 && k < n && n <= 100000;
  }
  if (!ok)
    throw UserError("--shard", got_expected(text,
                                            "K/N with 0 <= K < N <= 100000 (K counts from 0, "
                                            "as $SLURM_ARRAY_TASK_ID), e.g. 0/3"));
  return {k, n};
}

int run_command(const RunArgs& a) {
  require_utf8_path(a.config, "CONFIG");
  const bool partial = !a.shard.empty();
  const auto [k, n] = partial ? parse_shard(a.shard) : std::pair<size_t, size_t>{0, 1};
  Plan plan = load_plan_file(a.config);
  const fs::path out = a.output.empty() ? default_results_path(a.config) : fs::path(a.output);
  require_utf8_path(out, "-o");
  const std::vector<Unit> units = plan_units(plan);
  const std::string hash = config_hash(plan);
  if (a.resume && !a.force && already_complete(out, hash, partial, k, n)) {
    fmt::print(stderr, "posbench: {} already holds this run; nothing to do\n", out.string());
    return 0;
  }
  // Refused now, not after a run of minutes.
  check_output_target(out, "-o", a.force);
  const UnitStore store(out, hash, posbench_version());
  std::map<std::string, UnitRecord> records;
  if (a.resume) {
    records = store.load();
  } else if (!store.load().empty()) {
    if (!a.force)
      throw UserError("-o", store.dir().string() +
                                " holds the finished units of an interrupted run; add --resume to "
                                "run only the others, or --force to start over");
    store.remove();
  }
  const std::vector<size_t> mine = partial ? shard_units(units, k, n) : [&] {
    std::vector<size_t> all(units.size());
    for (size_t u = 0; u < units.size(); ++u) all[u] = u;
    return all;
  }();
  std::vector<size_t> todo;
  for (size_t u : mine)
    if (!records.count(units[u].id)) todo.push_back(u);
  if (a.resume && todo.size() < mine.size())
    fmt::print(stderr, "posbench: resuming: {} of {} already done ({})\n",
               mine.size() - todo.size(), count_of((long long)mine.size(), "unit"),
               store.dir().string());

  RunOptions options;
  options.threads = a.threads;
  options.max_memory = a.max_memory;
  options.artifact_prefix = (out.parent_path() / out.stem()).string();
  const auto start = std::chrono::steady_clock::now();
  const json context = run_context();
  Progress progress(mine.size(), mine.size() - todo.size());
  run_units(
      plan, units, todo, options,
      [&](UnitRecord&& r) {
        store.save(r);
        records.emplace(r.id, std::move(r));
      },
      &progress);
  progress.close();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int threads = effective_threads(options);
  const uint64_t max_memory = a.max_memory ? a.max_memory : default_memory_limit();
  if (partial) {
    PartialRun part;
    part.plan = &plan;
    part.config_dir = config_dir_of(a.config);
    part.shard = k;
    part.shards = n;
    for (size_t u : mine) part.unit_ids.push_back(units[u].id);
    part.records = &records;
    part.context = context;
    part.threads = threads;
    part.max_memory = max_memory;
    part.total_wall_seconds = wall;
    write_output(out, partial_document(part).dump(1) + "\n", a.force);
    store.remove();
    fmt::print("shard {}/{}: {} written to {}\nmerge the parts: {} merge PART... -o FULL.json\n", k,
               n, count_of((long long)mine.size(), "unit"), out.string(), a.self);
    return 0;
  }
  RunOutput run = assemble_run(plan, units, records, options);
  run.context = context;
  run.threads = threads;
  run.max_memory = max_memory;
  run.total_wall_seconds = wall;
  write_results(run, out, a.force);
  store.remove();
  fmt::print("\nresults: {}\n", out.string());
  fmt::print("figures: {} plot {}   (HTML: {} report {} -o report.html)\n", a.self, out.string(),
             a.self, out.string());
  return 0;
}

int plan_command(const std::string& config, bool as_json, int shards) {
  require_utf8_path(config, "CONFIG");
  const Plan plan = load_plan_file(config);
  const std::vector<Unit> units = plan_units(plan);
  std::vector<int> shard_of(units.size(), 0);
  for (int s = 0; s < shards; ++s)
    for (size_t u : shard_units(units, size_t(s), size_t(shards))) shard_of[u] = s;
  if (as_json) {
    json list = json::array();
    for (size_t u = 0; u < units.size(); ++u) {
      const Unit& unit = units[u];
      json j = {{"id", unit.id},     {"what", unit.what},    {"memory_bytes", unit.memory_bytes},
                {"cost", unit.cost}, {"shard", shard_of[u]}, {"snapshots", unit.snapshots}};
      if (!unit.snapshots) {
        const PlannedExperiment& e = plan.experiments[unit.experiment];
        json labels = json::array();
        for (size_t enc : unit.encoders) labels.push_back(e.encoders[enc].label);
        j["experiment"] = unit.experiment;
        j["path"] = e.path;
        j["type"] = e.type;
        j["point"] = e.point;
        j["seed"] = e.seed;
        j["encoders"] = labels;
      }
      list.push_back(j);
    }
    std::cout << json{{"config_hash", config_hash(plan)}, {"shards", shards}, {"units", list}}.dump(
                     2)
              << "\n";
    return 0;
  }
  double total = 0;
  for (const auto& u : units) total += u.cost;
  fmt::print("{}: {} (config hash {}), {} experiment instance{}\n", config,
             count_of((long long)units.size(), "unit"), config_hash(plan), plan.experiments.size(),
             plan.experiments.size() == 1 ? "" : "s");
  fmt::print("{:<16}  {:>10}  {:>10}{}  {}\n", "id", "memory", "cost [s]",
             shards > 1 ? "  shard" : "", "what");
  for (size_t u = 0; u < units.size(); ++u)
    fmt::print("{:<16}  {:>10}  {:>10.3g}{}  {}\n", units[u].id, human_bytes(units[u].memory_bytes),
               units[u].cost, shards > 1 ? fmt::format("  {:>5}", shard_of[u]) : "", units[u].what);
  fmt::print(
      "cost: estimated seconds (each experiment's estimate + 10 ms per unit; a guess for balancing "
      "shards, harness/run/units.h); total {:.3g} s\n",
      total);
  return 0;
}

int merge_command(const std::vector<std::string>& files, const std::string& output, bool force,
                  int threads, uint64_t max_memory) {
  for (const auto& f : files) require_utf8_path(f, "PART");
  require_utf8_path(output, "-o");
  check_output_target(output, "-o", force);
  const Parts parts = read_parts(files, posbench_version());
  load_config_plugins(parts.config);
  Diagnostics diag;
  Plan plan = build_plan(parts.config, diag, parts.config_dir);
  diag.throw_if_any();
  if (config_hash(plan) != parts.config_hash)
    throw UserError(files.front() + ": its config now has hash " + config_hash(plan) +
                    ", the parts " + parts.config_hash +
                    " (an hf_config file changed since they ran?); expected the config they ran");
  const std::vector<Unit> units = plan_units(plan);
  check_coverage(parts, units);
  RunOptions options;
  options.threads = threads;
  options.max_memory = max_memory;
  const fs::path out(output);
  options.artifact_prefix = (out.parent_path() / out.stem()).string();
  RunOutput run = assemble_run(plan, units, parts.records, options);
  run.context = parts.context;
  run.threads = parts.threads;
  run.max_memory = parts.max_memory;
  run.total_wall_seconds = parts.total_wall_seconds;
  for (const auto& line : host_notes(run)) fmt::print(stderr, "posbench: merge: {}\n", line);
  write_results(run, out, force);
  fmt::print("\nmerged {} ({}) into {}\n", count_of((long long)files.size(), "part"),
             count_of((long long)units.size(), "unit"), out.string());
  return 0;
}

}  // namespace posbench
