#include "harness/run/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/run/hf_config.h"
#include "harness/run/sweep.h"

namespace posbench {

using nlohmann::json;

json read_json_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw UserError(file.string() + ": is a directory; expected a JSON config file");
  std::ifstream in(file);
  if (!in) throw UserError(file.string() + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), file.string());
}

namespace {

// Where the parser is, as a JSON path, so that a problem found while parsing (a duplicate key,
// a number out of range, nesting too deep) names the place as every other problem does.
class ParseTracker {
 public:
  // Nesting deeper than this is refused while parsing, before any recursive copy of the value
  // could overflow the stack; real configs nest a handful of levels.
  static constexpr size_t kMaxDepth = 64;

  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames_.size() >= kMaxDepth)
          throw UserError(here(), "nested more than " + std::to_string(kMaxDepth) +
                                      " levels deep; expected a config of a few levels");
        frames_.push_back({event == json::parse_event_t::object_start, here(), {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          duplicates_.push_back({join_path(f.path, f.key),
                                 "duplicate key '" + f.key +
                                     "'; expected each key once (a JSON reader would silently "
                                     "keep only one of the values)"});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        next_element();
        break;
      case json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  }

  // The path of the value being parsed now ("" at the top).
  std::string here() const {
    if (frames_.empty()) return "";
    const Frame& f = frames_.back();
    return f.object ? join_path(f.path, f.key) : index_path(f.path, f.index);
  }

  const std::vector<Problem>& duplicates() const { return duplicates_; }

 private:
  struct Frame {
    bool object;
    std::string path;
    std::set<std::string> keys;
    std::string key;  // of the value being parsed (objects)
    size_t index;     // of the element being parsed (arrays)
  };
  void next_element() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::vector<Frame> frames_;
  std::vector<Problem> duplicates_;
};

// "line 3, column 14" of byte offset `byte` (1-based, as editors show it).
std::string line_column(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

}  // namespace

json parse_json_text(const std::string& text, const std::string& what) {
  ParseTracker tracker;
  json out;
  try {
    out = json::parse(text, [&](int, json::parse_event_t event, json& parsed) {
      return tracker.on_event(event, parsed);
    });
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte offset; give line and column, which editors show.
    std::string msg = e.what();
    auto pos = msg.find("parse error");
    if (pos != std::string::npos) msg = msg.substr(pos);
    throw UserError(what + ":" + line_column(text, e.byte) + ": malformed JSON: " + msg);
  } catch (const json::out_of_range& e) {
    // A number beyond double's range (1e400): nlohmann says which literal, not where.
    std::string msg = e.what();
    const auto q1 = msg.find('\''), q2 = msg.rfind('\'');
    std::string where = what;
    if (q1 != std::string::npos && q2 > q1) {
      const auto at = text.find(msg.substr(q1 + 1, q2 - q1 - 1));
      if (at != std::string::npos) where += ":" + line_column(text, at + 1);
    }
    const std::string path = tracker.here();
    throw UserError(where + ": " + (path.empty() ? "" : path + ": ") + "number out of range: got " +
                    (q1 != std::string::npos && q2 > q1 ? msg.substr(q1 + 1, q2 - q1 - 1)
                                                        : std::string("a number")) +
                    ", expected a finite double (|x| < 1.8e308)");
  }
  if (!tracker.duplicates().empty()) {
    std::vector<Problem> problems;
    for (const auto& d : tracker.duplicates())
      problems.push_back({d.path, d.message + " (in " + what + ")"});
    throw UserError(problems);
  }
  return out;
}

// The config's own keys and an encoder entry's, declared like any params. An experiment entry's
// keys are its type's params plus "encoders", and an encoder's "params" are its scheme's: those
// are resolved below once "type" / "name" say which declarations apply.
const ParamSpec& plugins_spec() {
  static const ParamSpec spec =
      ParamSpec::list_of("plugins", ParamSpec::path("", "shared library"), json::array(),
                         "shared libraries (.so) to load before names are resolved");
  return spec;
}

const std::vector<ParamSpec>& config_specs() {
  static const std::vector<ParamSpec> specs = {
      ParamSpec::string("name", "unnamed", "name of the study, written into the results"),
      ParamSpec::unsigned_integer("seed", 0,
                                  "seed of every random draw (each consumer names its stream)"),
      plugins_spec(),
  };
  return specs;
}

const std::vector<ParamSpec>& encoder_entry_specs() {
  static const std::vector<ParamSpec> specs = {
      ParamSpec::string("name", nullptr, "registered scheme name").mandatory(),
      ParamSpec::string("label", nullptr,
                        "unique within the experiment (default: the name); lets one scheme "
                        "appear twice"),
      ParamSpec::path("hf_config",
                      "rope only: a HuggingFace config.json (relative to this config file's "
                      "directory) whose rope fields are read as params; params given beside it "
                      "override the file's"),
      ParamSpec::string("sweep", nullptr,
                        "a grid: {\"param\": [values], \"nested.param\": [values]}, one entry "
                        "per point of the cartesian product (harness/run/sweep.h)"),
  };
  return specs;
}

// `obj` without the keys in `drop` (those resolved separately).
static json without(const json& obj, std::initializer_list<const char*> drop) {
  json out = json::object();
  for (const auto& [key, value] : obj.items()) {
    bool dropped = false;
    for (const char* d : drop) dropped = dropped || key == d;
    if (!dropped) out[key] = value;
  }
  return out;
}

std::vector<std::string> config_plugins(const json& config, Diagnostics& diag) {
  if (!config.is_object() || !config.contains("plugins")) return {};
  const json& given = config["plugins"];
  resolve_value(plugins_spec(), given, "plugins", diag);
  // The good entries still load, so that `validate` can check the rest of the config.
  std::vector<std::string> out;
  if (given.is_array())
    for (const auto& p : given)
      if (p.is_string()) out.push_back(p.get<std::string>());
  return out;
}

std::string PlannedExperiment::name() const {
  if (point.empty() && !seeded) return "";
  const std::string seed_text = seeded ? "seed=" + std::to_string(seed) : "";
  return type + "[" + point + (point.empty() || seed_text.empty() ? "" : ",") + seed_text + "]";
}

Problem EntrySource::locate(const Problem& p, const std::string& params_path) const {
  return hf ? hf->locate(p, params_path) : p;
}

json EntrySource::record() const { return hf ? hf->record() : json(); }

// The keys of an entry's "reference" besides "params" (resolved against the named scheme).
const std::vector<ParamSpec>& reference_specs() {
  static const std::vector<ParamSpec> specs = {
      ParamSpec::string("name", nullptr, "registered scheme name of the pretrained scheme")
          .mandatory(),
      ParamSpec::integer("length", nullptr,
                         "L_ref, the pretrained scheme's original context length")
          .at_least(2)
          .at_most(1 << 24)
          .mandatory(),
  };
  return specs;
}

namespace {

// {"name", "params", "length"} at `path` ("<entry>.reference"); null if it could not be built.
std::shared_ptr<EncoderReference> build_reference(const json& spec, const std::string& path,
                                                  Diagnostics& diag) {
  if (!spec.is_object()) {
    diag.error(path,
               "got " + show(spec) + R"(, expected {"name": ..., "params": {...}, "length": L})");
    return nullptr;
  }
  std::vector<ParamSpec> specs = reference_specs();
  specs.push_back(ParamSpec::string("params", nullptr, ""));  // known key; resolved below
  Diagnostics own;
  const json keys = resolve_params(specs, without(spec, {"params"}), path, own, "reference key");
  for (const auto& p : own.problems()) diag.error(p.path, p.message);
  if (!keys["name"].is_string()) return nullptr;
  json entry = {{"name", keys["name"]}};
  if (spec.contains("params")) entry["params"] = spec["params"];
  auto ref = std::make_shared<EncoderReference>();
  ref->encoder = build_encoder_entry(entry, path, diag, false);
  if (!ref->encoder.encoder || !own.ok()) return nullptr;
  ref->length = keys["length"].get<int64_t>();
  return ref;
}

}  // namespace

namespace {

// The key of the params at `base` that a problem's path names ("experiments[0].offsets[2]" under
// "experiments[0]" -> "offsets"); "" if the path is not under `base`.
std::string param_key(const std::string& path, const std::string& base) {
  const std::string prefix = base + ".";
  if (path.compare(0, prefix.size(), prefix) != 0) return "";
  const std::string rest = path.substr(prefix.size());
  return rest.substr(0, rest.find_first_of(".["));
}

// A problem with a value the user did not write says so: the value was the default.
std::string with_default(const Problem& p, const std::string& base, const json& given,
                         const json& resolved) {
  const std::string key = param_key(p.path, base);
  if (key.empty() || !given.is_object() || given.contains(key) || !resolved.is_object() ||
      !resolved.contains(key) || resolved[key].is_null())
    return p.message;
  return "(default " + show(resolved[key]) + "; " + key + " was not given) " + p.message;
}

// `validate` reports every problem at once: when an experiment's own params have problems, its
// encoders are still checked (e.g. ALiBi's slopes against the experiment's heads), against a
// stand-in built with those params at their defaults. `stood_in` lists them; null if even that
// cannot be built.
std::unique_ptr<Experiment> make_stand_in(const ExperimentInfo& info, json own,
                                          const std::string& path, std::vector<Problem> problems,
                                          std::string& stood_in) {
  for (int round = 0; round < 4; ++round) {
    bool dropped = false;
    for (const auto& p : problems) {
      const std::string key = param_key(p.path, path);
      if (key.empty() || !own.contains(key)) continue;
      own.erase(key);
      stood_in += (stood_in.empty() ? "" : ", ") + key;
      dropped = true;
    }
    if (!dropped) return nullptr;
    Diagnostics d;
    const json params = resolve_params(info.params, own, path, d);
    std::unique_ptr<Experiment> e;
    if (d.ok()) record_param_errors(d, path, [&] { e = info.factory(Params(params)); });
    if (e) return e;
    problems = d.problems();
  }
  return nullptr;
}

}  // namespace

EncoderInstance build_encoder(const json& spec, const std::string& path, Diagnostics& diag,
                              const std::filesystem::path& base_dir, EntrySource* source) {
  return build_encoder_entry(spec, path, diag, true, base_dir, source);
}

EncoderInstance build_encoder_entry(const json& spec, const std::string& path, Diagnostics& diag,
                                    bool allow_reference, const std::filesystem::path& base_dir,
                                    EntrySource* source) {
  EncoderInstance inst;
  inst.path = path;
  if (!spec.is_object()) {
    diag.error(path, "got " + show(spec) + R"(, expected {"name": ..., "params": {...}})");
    return inst;
  }
  // "params" (and "reference") are declared here only so that they are known keys; they are
  // resolved below against the scheme's own declarations (and build_reference's).
  std::vector<ParamSpec> entry_specs = encoder_entry_specs();
  entry_specs.push_back(ParamSpec::string("params", nullptr, ""));
  if (allow_reference) entry_specs.push_back(ParamSpec::string("reference", nullptr, ""));
  Diagnostics entry;
  const json rest =
      allow_reference ? without(spec, {"params", "reference"}) : without(spec, {"params"});
  const json keys = resolve_params(entry_specs, rest, path, entry, "encoder key");
  for (const auto& p : entry.problems()) diag.error(p.path, p.message);
  if (!keys.contains("name") || !keys["name"].is_string()) return inst;
  inst.name = keys["name"].get<std::string>();
  const auto& registry = EncoderRegistry::instance();
  const EncoderInfo* info = registry.find(inst.name);
  if (!info) {
    diag.error(join_path(path, "name"),
               unknown_name_message("encoder", inst.name, registry.names()));
    return inst;
  }
  inst.label = inst.name;
  if (keys["label"].is_string()) {
    if (!keys["label"].get<std::string>().empty())
      inst.label = keys["label"].get<std::string>();
    else
      diag.error(join_path(path, "label"), got_expected(spec["label"], "a non-empty string"));
  }
  inst.version = info->version;
  inst.family = info->family;
  const std::string params_path = join_path(path, "params");
  json given = spec.contains("params") ? spec["params"] : json::object();
  EntrySource entry_source;
  if (keys["hf_config"].is_string()) {
    const std::string key_path = join_path(path, "hf_config");
    if (inst.name != "rope") {
      diag.error(key_path, "is read for rope only; got it with the scheme '" + inst.name +
                               "' (give that scheme's params instead)");
      return inst;
    }
    auto hf = HfRopeSource::read(keys["hf_config"].get<std::string>(), base_dir, key_path, diag);
    if (!hf) return inst;
    given = hf->merge(given, info->params);
    entry_source.hf = std::make_shared<const HfRopeSource>(std::move(*hf));
  }
  Diagnostics local;
  inst.params = resolve_params(info->params, given, params_path, local);
  if (local.ok()) {
    record_param_errors(local, params_path,
                        [&] { inst.encoder = info->build(Params(inst.params)); });
  }
  for (const auto& p : local.problems()) {
    Problem q = entry_source.locate(p, params_path);
    if (!entry_source.hf) q.message = with_default(q, params_path, given, inst.params);
    diag.error(q.path, q.message);
  }
  if (allow_reference && spec.contains("reference")) {
    // Checked even when the scheme itself has problems, so that `validate` reports all.
    auto ref = build_reference(spec["reference"], join_path(path, "reference"), diag);
    if (ref && inst.encoder && ref->encoder.family != inst.family) {
      diag.error(join_path(join_path(path, "reference"), "name"),
                 "'" + ref->encoder.name + "' is a " + to_string(ref->encoder.family) +
                     " scheme; expected a " + to_string(inst.family) + " scheme like '" +
                     inst.label + "', whose pretrained form it is");
      ref = nullptr;
    }
    inst.reference = std::move(ref);
  }
  if (source) *source = std::move(entry_source);
  return inst;
}

namespace {

// One encoder entry (or one point of its sweep, `point`), built, checked by the experiment and
// added to `planned` and `resolved_spec`; problems go to `local`.
void build_encoder_point(const json& entry, const std::string& epath, PlannedExperiment& planned,
                         const Experiment* checker, const std::string& stood_in,
                         std::set<std::string>& labels, json& resolved_spec, Diagnostics& local,
                         const std::filesystem::path& base_dir, const SweepPoint* point) {
  const std::string& path = planned.path;
  EntrySource source;
  EncoderInstance inst = build_encoder(entry, epath, local, base_dir, &source);
  if (!inst.encoder) return;
  if (!labels.insert(inst.label).second) {
    local.error(join_path(epath, "label"), "label '" + inst.label +
                                               "' is used twice in this experiment; give "
                                               "each a distinct \"label\"");
    return;
  }
  if (checker) {
    const std::string params_path = join_path(epath, "params");
    Diagnostics checked;
    record_param_errors(checked, params_path, [&] { checker->check(inst); });
    const json given =
        entry.is_object() && entry.contains("params") ? entry["params"] : json::object();
    for (const auto& p : checked.problems()) {
      Problem q = source.locate(p, params_path);
      if (!source.hf) q.message = with_default(q, params_path, given, inst.params);
      if (!stood_in.empty())
        q.message += " (checked with the default " + stood_in + " of " + path +
                     ", whose given value has a problem reported here too)";
      local.error(q.path, q.message);
    }
    if (!checked.ok()) return;
  }
  json resolved_entry = {{"name", inst.name},
                         {"label", inst.label},
                         {"version", inst.version},
                         {"params", inst.params}};
  if (point) resolved_entry["sweep_point"] = point->values;
  if (source.hf) resolved_entry["hf_config"] = source.record();
  if (entry.is_object() && entry.contains("reference")) {
    const std::string rpath = join_path(epath, "reference");
    if (planned.experiment && !planned.experiment->takes_reference()) {
      local.error(rpath, "experiment '" + planned.type +
                             "' does not compare with a reference; remove \"reference\" "
                             "(length_extrapolation takes one)");
      return;
    }
    if (!inst.reference) return;  // its problems are recorded
    const EncoderReference& ref = *inst.reference;
    if (planned.experiment && (!record_param_errors(local, join_path(rpath, "params"), [&] {
          planned.experiment->check(ref.encoder);
        }) || !record_param_errors(local, rpath, [&] {
          planned.experiment->check_reference(inst, ref);
        })))
      return;
    resolved_entry["reference"] = {{"name", ref.encoder.name},
                                   {"version", ref.encoder.version},
                                   {"params", ref.encoder.params},
                                   {"length", ref.length}};
  }
  resolved_spec["encoders"].push_back(resolved_entry);
  planned.encoders.push_back(std::move(inst));
}

// The encoders of one experiment instance: each entry, or each point of an entry's "sweep",
// built and checked by the experiment (`checker`, null when even a stand-in could not be
// built). Problems go to `local`; built ones to `planned` and `resolved_spec["encoders"]`.
void build_instance_encoders(const json& spec, PlannedExperiment& planned,
                             const Experiment* checker, const std::string& stood_in,
                             json& resolved_spec, Diagnostics& local,
                             const std::filesystem::path& base_dir) {
  const std::string& path = planned.path;
  std::set<std::string> labels;
  for (size_t k = 0; k < spec["encoders"].size(); ++k) {
    const std::string epath = index_path(join_path(path, "encoders"), k);
    const json& given_entry = spec["encoders"][k];
    const bool swept = given_entry.is_object() && given_entry.contains("sweep");
    std::vector<SweepPoint> points = {SweepPoint{}};
    if (swept) {
      points = sweep_points(given_entry["sweep"], join_path(epath, "sweep"), local);
      if (points.empty()) continue;
    }
    std::vector<std::vector<Problem>> point_problems(points.size());
    std::vector<std::string> point_names(points.size());
    for (size_t pt = 0; pt < points.size(); ++pt) {
      Diagnostics here;
      json entry = given_entry;
      if (swept) {
        entry.erase("sweep");
        entry["params"] =
            apply_point(entry.contains("params") ? entry["params"] : json(), points[pt]);
        const std::string stem = entry.contains("label") && entry["label"].is_string()
                                     ? entry["label"].get<std::string>()
                                 : entry.contains("name") && entry["name"].is_string()
                                     ? entry["name"].get<std::string>()
                                     : std::string("?");
        entry["label"] = point_label(stem, stem, points[pt], join_path(epath, "label"), here);
        point_names[pt] = entry["label"].get<std::string>();
      }
      build_encoder_point(entry, epath, planned, checker, stood_in, labels, resolved_spec, here,
                          base_dir, swept ? &points[pt] : nullptr);
      for (const auto& p : here.problems())
        point_problems[pt].push_back(swept ? locate_point_problem(p, join_path(epath, "params"),
                                                                  join_path(epath, "sweep"),
                                                                  points[pt])
                                           : p);
    }
    for (const auto& p : merge_point_problems(point_problems, point_names))
      local.error(p.path, p.message);
  }
}

// One instance of an experiment entry: its params at one sweep point and one seed.
void build_instance(const json& spec, const ExperimentInfo& info, const json& own,
                    PlannedExperiment& planned, json& resolved_spec, Diagnostics& local,
                    const std::filesystem::path& base_dir) {
  const std::string& path = planned.path;
  planned.params = resolve_params(info.params, own, path, local);
  if (local.ok()) {
    Diagnostics made;
    record_param_errors(made, path,
                        [&] { planned.experiment = info.factory(Params(planned.params)); });
    for (const auto& p : made.problems())
      local.error(p.path, with_default(p, path, own, planned.params));
  }
  std::string stood_in;
  std::unique_ptr<Experiment> stand_in;
  if (!planned.experiment) stand_in = make_stand_in(info, own, path, local.problems(), stood_in);
  const Experiment* checker = planned.experiment ? planned.experiment.get() : stand_in.get();

  resolved_spec = planned.params;
  resolved_spec["type"] = planned.type;
  if (!planned.point.empty()) resolved_spec["point"] = planned.point;
  if (planned.seeded) resolved_spec["seed"] = planned.seed;
  resolved_spec["encoders"] = json::array();
  if (!spec.contains("encoders") || !spec["encoders"].is_array() || spec["encoders"].empty()) {
    local.error(join_path(path, "encoders"),
                "missing or empty: expected a list of {\"name\": ...}");
    return;
  }
  build_instance_encoders(spec, planned, checker, stand_in ? stood_in : "", resolved_spec, local,
                          base_dir);
}

// The seeds of an experiment entry's "seeds" (distinct unsigned integers), at `path`.
std::vector<uint64_t> entry_seeds(const json& given, const std::string& path, Diagnostics& diag) {
  static const ParamSpec spec =
      ParamSpec::list_of("seeds", ParamSpec::unsigned_integer("", nullptr, "a seed"), nullptr,
                         "the experiment is run once per seed (replacing the config's seed)")
          .non_empty();
  Diagnostics own;
  const json seeds = resolve_value(spec, given, path, own);
  for (const auto& p : own.problems()) diag.error(p.path, p.message);
  if (!own.ok() || !seeds.is_array()) return {};
  std::vector<uint64_t> out;
  std::set<uint64_t> seen;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const uint64_t s = seeds[i].get<uint64_t>();
    if (!seen.insert(s).second) {
      diag.error(index_path(path, i),
                 got_expected(seeds[i], "a seed not already in the list (each seed once)"));
      return {};
    }
    out.push_back(s);
  }
  return out;
}

// One entry of the config's "experiments": an instance per point of its "sweep" and per seed
// of its "seeds" (one without either), each added to `plan` with its resolved config.
void build_entry(const json& spec, size_t e, Plan& plan, Diagnostics& diag,
                 const std::filesystem::path& base_dir) {
  const auto& experiments = ExperimentRegistry::instance();
  const std::string path = index_path("experiments", e);
  if (!spec.is_object()) {
    diag.error(path, "got " + show(spec) + R"(, expected {"type": ..., "encoders": [...]})");
    return;
  }
  if (!spec.contains("type") || !spec["type"].is_string()) {
    std::string names;
    for (const auto& n : experiments.names()) names += (names.empty() ? "" : ", ") + n;
    diag.error(join_path(path, "type"), "missing or not a string: expected one of " + names);
    return;
  }
  const std::string type = spec["type"].get<std::string>();
  const ExperimentInfo* info = experiments.find(type);
  if (!info) {
    diag.error(join_path(path, "type"),
               unknown_name_message("experiment", type, experiments.names()));
    return;
  }
  // The experiment's own params sit beside "type" and "encoders" (and "sweep", "seeds").
  json own = json::object();
  for (const auto& [key, value] : spec.items())
    if (key != "type" && key != "encoders" && key != "sweep" && key != "seeds") own[key] = value;
  std::vector<SweepPoint> points = {SweepPoint{}};
  if (spec.contains("sweep")) {
    points = sweep_points(spec["sweep"], join_path(path, "sweep"), diag);
    if (points.empty()) return;
  }
  const bool seeded = spec.contains("seeds");
  std::vector<uint64_t> seeds = {plan.seed};
  if (seeded) {
    seeds = entry_seeds(spec["seeds"], join_path(path, "seeds"), diag);
    if (seeds.empty()) return;
  }
  if (points.size() * seeds.size() > kMaxSweepPoints) {
    diag.error(path, "its sweep times its seeds gives " +
                         std::to_string(points.size() * seeds.size()) +
                         " instances; expected at most " + std::to_string(kMaxSweepPoints));
    return;
  }
  std::vector<std::vector<Problem>> problems;
  std::vector<std::string> names;
  for (const SweepPoint& point : points)
    for (const uint64_t seed : seeds) {
      PlannedExperiment planned;
      planned.path = path;
      planned.type = type;
      planned.entry = e;
      planned.point = point.text;
      planned.seed = seed;
      planned.seeded = seeded;
      planned.sweep_values = point.values;
      Diagnostics local;
      json resolved;
      build_instance(spec, *info, apply_point(own, point), planned, resolved, local, base_dir);
      problems.emplace_back();
      for (const auto& p : local.problems())
        problems.back().push_back(locate_point_problem(p, path, join_path(path, "sweep"), point));
      names.push_back(planned.name());
      plan.resolved["experiments"].push_back(std::move(resolved));
      plan.experiments.push_back(std::move(planned));
    }
  for (const auto& p : merge_point_problems(problems, names)) diag.error(p.path, p.message);
}

}  // namespace

Plan build_plan(const json& config, Diagnostics& diag, const std::filesystem::path& base_dir) {
  Plan plan;
  plan.given = config;
  if (!config.is_object()) {
    diag.error("", "the config must be a JSON object with \"experiments\"; got " + show(config));
    return plan;
  }
  // "experiments" is declared here only so that it is a known key; its entries come below.
  std::vector<ParamSpec> top = config_specs();
  top.push_back(ParamSpec::string("experiments", nullptr, ""));
  Diagnostics own;
  const json keys = resolve_params(top, without(config, {"experiments"}), "", own, "config key");
  for (const auto& p : own.problems()) diag.error(p.path, p.message);
  plan.resolved = json::object();
  plan.name = keys["name"].is_string() ? keys["name"].get<std::string>() : "unnamed";
  plan.seed = keys["seed"].is_number_unsigned() ? keys["seed"].get<uint64_t>() : 0;
  Diagnostics reported_above;  // the same problems are already in `diag`
  plan.plugins = config_plugins(config, reported_above);
  plan.resolved["name"] = plan.name;
  plan.resolved["seed"] = plan.seed;
  plan.resolved["plugins"] = plan.plugins;
  plan.resolved["experiments"] = json::array();

  if (!config.contains("experiments") || !config["experiments"].is_array() ||
      config["experiments"].empty()) {
    diag.error("experiments", "missing or empty: expected a list of experiments");
    return plan;
  }
  const json& list = config["experiments"];
  for (size_t e = 0; e < list.size(); ++e) build_entry(list[e], e, plan, diag, base_dir);
  return plan;
}

}  // namespace posbench
