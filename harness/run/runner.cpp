#include "harness/run/runner.h"

#include <omp.h>

#include <fmt/format.h>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "encoders/checked_size.h"
#include "harness/analysis/snapshot.h"
#include "harness/run/context.h"
#include "harness/run/progress.h"

namespace posbench {

using nlohmann::json;

uint64_t default_memory_limit() { return physical_memory_bytes() / 2; }

int effective_threads(const RunOptions& options) {
  return options.threads > 0 ? options.threads : omp_get_max_threads();
}

namespace {

// Stands in for an encoder while an experiment checks it, to learn the shapes the experiment
// will use it at: Experiment::check passes exactly those to check_shape. Everything else is
// forwarded, so a check that asks the scheme more (rotary_dims, ...) gets the real answers.
class ShapeRecorder final : public Encoder {
 public:
  explicit ShapeRecorder(const Encoder& real) : real_(real) {}
  Family family() const override { return real_.family(); }
  void check_shape(int64_t dim, int64_t heads) const override {
    real_.check_shape(dim, heads);
    shapes.insert({dim, heads});
  }
  uint64_t memory_bytes(int64_t dim, int64_t heads) const override {
    return real_.memory_bytes(dim, heads);
  }
  void load() const override { real_.load(); }
  void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const override {
    real_.additive_table(positions, dim, out);
  }
  int64_t rotary_dims(int64_t head_dim) const override { return real_.rotary_dims(head_dim); }
  RotaryPairing rotary_pairing() const override { return real_.rotary_pairing(); }
  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext& ctx, double* cos_out,
                           double* sin_out) const override {
    real_.rotary_coefficients(positions, head_dim, ctx, cos_out, sin_out);
  }
  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    real_.bias(q_positions, k_positions, heads, out);
  }
  std::optional<AngularForm> angular_form(int64_t dim, const RotaryContext& ctx) const override {
    return real_.angular_form(dim, ctx);
  }
  bool bias_is_relative() const override { return real_.bias_is_relative(); }
  mutable std::set<std::pair<int64_t, int64_t>> shapes;  // (dim, heads)

 private:
  const Encoder& real_;
};

// The width, heads and positions a scheme's snapshot is drawn at: those of the experiment it
// first appears in ("dim", "heads", "positions" or "train_length"; the speed experiment's first
// shape), a rotary scheme's own head_dim (a HuggingFace model's) first.
SnapshotShape snapshot_shape(const json& p, const EncoderInstance& enc) {
  SnapshotShape s;
  const json first_shape = p.contains("shapes") && p["shapes"].is_array() && !p["shapes"].empty()
                               ? p["shapes"][0]
                               : json::object();
  for (const json* src : {&p, &first_shape}) {
    for (const char* key : {"head_dim", "dim"})
      if (src->contains(key) && (*src)[key].is_number_integer()) s.dim = (*src)[key];
    if (src->contains("heads") && (*src)["heads"].is_number_integer()) s.heads = (*src)["heads"];
  }
  for (const char* key : {"positions", "train_length"})
    if (p.contains(key) && p[key].is_number_integer()) s.positions = p[key];
  if (enc.family == Family::rotary && enc.params.contains("head_dim") &&
      enc.params["head_dim"].is_number_integer())
    s.dim = enc.params["head_dim"];
  return s;
}

// One snapshot per distinct scheme (name and resolved params) of the plan, with every entry
// that uses it.
json plan_snapshots(const Plan& plan) {
  json out = json::array();
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < plan.experiments.size(); ++i)
    for (const auto& enc : plan.experiments[i].encoders) {
      const json use = {{"experiment", i}, {"label", enc.label}};
      const std::string key = enc.name + "\n" + enc.params.dump();
      if (auto it = seen.find(key); it != seen.end()) {
        out[it->second]["used_by"].push_back(use);
        continue;
      }
      if (!enc.encoder) continue;
      const SnapshotShape shape = snapshot_shape(plan.experiments[i].params, enc);
      json snap;
      try {
        enc.encoder->check_shape(shape.dim, shape.heads);
        snap = encoder_snapshot(*enc.encoder, shape, plan.seed);
      } catch (const UserError& e) {
        snap = {{"family", to_string(enc.family)}, {"note", std::string("not drawn: ") + e.what()}};
      }
      snap["name"] = enc.name;
      snap["label"] = enc.label;
      snap["params"] = enc.params;
      snap["used_by"] = json::array({use});
      seen[key] = out.size();
      out.push_back(std::move(snap));
    }
  return out;
}

// A byte count of a memory estimate for a message: "1.5 GiB" (with the exact count if `exact`),
// or what a saturated estimate (CheckedSize::saturated(), the largest uint64) means.
std::string bytes_text(uint64_t bytes, bool exact = false) {
  if (bytes == std::numeric_limits<uint64_t>::max())
    return "more than 2^64 bytes (its byte count overflows 64 bits)";
  return exact ? fmt::format("{} ({} bytes)", human_bytes(bytes), bytes) : human_bytes(bytes);
}

}  // namespace

uint64_t scheme_memory_bytes(const Experiment& experiment, const EncoderInstance& enc) {
  if (!enc.encoder) return 0;  // a plan made by hand, without a scheme instance
  auto recorder = std::make_shared<ShapeRecorder>(*enc.encoder);
  EncoderInstance probe = enc;
  probe.encoder = recorder;
  experiment.check(probe);
  // Schemes keep what they allocate per width (drawn tables), so every shape counts.
  CheckedSize total = 0;
  for (const auto& [dim, heads] : recorder->shapes) total += enc.encoder->memory_bytes(dim, heads);
  return total.saturated();
}

void check_memory(const Plan& plan, uint64_t limit) {
  std::vector<Problem> problems;
  for (const auto& e : plan.experiments)
    for (const auto& enc : e.encoders) {
      const uint64_t own = e.experiment->memory_bytes(enc);
      const uint64_t scheme = scheme_memory_bytes(*e.experiment, enc);
      // Each is saturated (the largest uint64 when its count overflowed); so is the sum.
      const uint64_t need = (CheckedSize(own) + scheme).saturated();
      if (need <= limit) continue;
      const std::string what =
          scheme == 0 ? ""
                      : fmt::format(" (the experiment {}, the scheme's own weights and tables {})",
                                    bytes_text(own), bytes_text(scheme));
      problems.push_back({enc.path, fmt::format("would need {}{}, above the memory limit {}; "
                                                "reduce the sizes or raise --max-memory",
                                                bytes_text(need, true), what, human_bytes(limit))});
    }
  if (!problems.empty()) throw UserError(problems);
}

void load_encoders(const Plan& plan) {
  std::vector<Problem> problems;
  for (const auto& e : plan.experiments) {
    try {
      if (e.experiment) e.experiment->load();  // data files of the experiment's own params
    } catch (const UserError& err) {
      for (const auto& p : err.problems())
        problems.push_back({join_path(e.path, p.path), p.message});
    }
    for (const auto& enc : e.encoders) try {
        if (enc.encoder) enc.encoder->load();
      } catch (const UserError& err) {
        for (const auto& p : err.problems())
          problems.push_back({join_path(enc.path + ".params", p.path), p.message});
      }
  }
  if (!problems.empty()) throw UserError(problems);
}

namespace {

// A side file's or an extra's path written with one artifact prefix, written with another.
std::string renamed(const std::string& path, const std::string& from, const std::string& to) {
  if (from == to || path.compare(0, from.size(), from) != 0) return path;
  return to + path.substr(from.size());
}

std::string artifact_prefix_of(const RunOptions& options, size_t experiment) {
  return options.artifact_prefix.empty()
             ? ""
             : options.artifact_prefix + "." + std::to_string(experiment);
}

}  // namespace

void run_units(const Plan& plan, const std::vector<Unit>& units, const std::vector<size_t>& todo,
               const RunOptions& options, const std::function<void(UnitRecord&&)>& done,
               Progress* progress) {
  const uint64_t limit = options.max_memory ? options.max_memory : default_memory_limit();
  check_memory(plan, limit);
  load_encoders(plan);  // weight files, only now (validate never reads them), on one thread
  const int threads = effective_threads(options);
  omp_set_num_threads(threads);
  const std::string host = run_context()["host"].get<std::string>();
  for (size_t u : todo) {
    const Unit& unit = units[u];
    if (progress) progress->begin(unit.what);
    UnitRecord record;
    record.id = unit.id;
    record.host = host;
    const auto t0 = std::chrono::steady_clock::now();
    if (unit.snapshots) {
      record.snapshots = plan_snapshots(plan);
    } else {
      const PlannedExperiment& e = plan.experiments[unit.experiment];
      record.artifact_prefix = artifact_prefix_of(options, unit.experiment);
      const RunContext ctx{e.seeded ? e.seed : plan.seed, threads, limit, record.artifact_prefix};
      if (e.experiment->encoders_separable()) {
        for (size_t k : unit.encoders)
          record.result.outcomes.push_back(run_one(*e.experiment, e.encoders[k], ctx));
      } else {
        record.result = e.experiment->run_all(e.encoders, ctx);
      }
    }
    record.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done(std::move(record));
    if (progress) progress->finish();
  }
}

RunOutput assemble_run(const Plan& plan, const std::vector<Unit>& units,
                       const std::map<std::string, UnitRecord>& records,
                       const RunOptions& options) {
  RunOutput out;
  out.plan = &plan;
  out.config_hash = config_hash(plan);
  out.experiments.resize(plan.experiments.size());
  std::vector<std::set<std::string>> hosts(plan.experiments.size());
  for (size_t i = 0; i < plan.experiments.size(); ++i)
    out.experiments[i].planned = &plan.experiments[i];
  for (const Unit& unit : units) {
    const auto it = records.find(unit.id);
    if (it == records.end())
      throw std::logic_error("assemble_run: no record of unit " + unit.id + " (" + unit.what + ")");
    const UnitRecord& r = it->second;
    out.unit_ids.push_back(unit.id);
    out.unit_provenance[unit.id] = {{"host", r.host}, {"wall_seconds", r.wall_seconds}};
    if (unit.snapshots) {
      out.snapshots = r.snapshots;
      continue;
    }
    ExperimentRun& run = out.experiments[unit.experiment];
    run.wall_seconds += r.wall_seconds;
    hosts[unit.experiment].insert(r.host);
    const std::string to = artifact_prefix_of(options, unit.experiment);
    if (!plan.experiments[unit.experiment].experiment->encoders_separable()) {
      run.result = r.result;
      for (auto& side : run.result.side_files) {
        const std::string old = side.path;
        side.path = renamed(old, r.artifact_prefix, to);
        // The experiment may name its side file in its extra (speed's google_benchmark_json).
        for (auto& [key, value] : run.result.extra.items())
          if (value.is_string() && value.get<std::string>() == old) value = side.path;
      }
      continue;
    }
    for (const auto& o : r.result.outcomes) run.result.outcomes.push_back(o);
  }
  for (size_t i = 0; i < plan.experiments.size(); ++i) {
    const PlannedExperiment& e = plan.experiments[i];
    if (e.experiment->encoders_separable())
      e.experiment->summarize(e.encoders, out.experiments[i].result);
    out.experiments[i].hosts.assign(hosts[i].begin(), hosts[i].end());
  }
  std::vector<const ExperimentResult*> results;
  std::vector<std::string> timing_hosts;  // speed's seeds are summarised per host
  for (const auto& run : out.experiments) {
    results.push_back(&run.result);
    std::string joined;
    if (!run.planned->experiment->encoders_separable())
      for (const auto& h : run.hosts) joined += (joined.empty() ? "" : ",") + h;
    timing_hosts.push_back(joined);
  }
  out.seed_summaries = seed_summaries(plan, results, timing_hosts);
  return out;
}

RunOutput run_plan(const Plan& plan, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Unit> units = plan_units(plan);
  std::vector<size_t> all(units.size());
  for (size_t u = 0; u < units.size(); ++u) all[u] = u;
  std::map<std::string, UnitRecord> records;
  const nlohmann::json context = run_context();
  run_units(plan, units, all, options,
            [&](UnitRecord&& r) { records.emplace(r.id, std::move(r)); });
  RunOutput out = assemble_run(plan, units, records, options);
  out.threads = effective_threads(options);
  out.max_memory = options.max_memory ? options.max_memory : default_memory_limit();
  out.context = context;
  out.total_wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace posbench
