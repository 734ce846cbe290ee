#include "harness/run/unit_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "encoders/files.h"
#include "harness/run/config.h"

namespace posbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_of(const json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}
json numbers(const std::vector<double>& v) {
  json out = json::array();
  for (double x : v) out.push_back(number(x));
  return out;
}
std::vector<double> numbers_of(const json& v) {
  std::vector<double> out;
  for (const auto& x : v) out.push_back(number_of(x));
  return out;
}

Status status_of(const std::string& s) {
  for (Status st : {Status::ok, Status::not_applicable, Status::unsupported})
    if (s == to_string(st)) return st;
  throw std::invalid_argument("unknown status '" + s + "'");
}

json outcome_to_json(const EncoderOutcome& o) {
  json metrics = json::array(), curves = json::array();
  for (const auto& m : o.metrics)
    metrics.push_back(
        {{"name", m.name}, {"value", number(m.value)}, {"unit", m.unit}, {"at", m.at}});
  for (const auto& c : o.curves)
    curves.push_back({{"name", c.name},
                      {"x_name", c.x_name},
                      {"x_unit", c.x_unit},
                      {"y_unit", c.y_unit},
                      {"x", numbers(c.x)},
                      {"y", numbers(c.y)}});
  return {{"label", o.label}, {"status", to_string(o.status)},
          {"note", o.note},   {"metrics", metrics},
          {"curves", curves}, {"extra", o.extra}};
}

EncoderOutcome outcome_from_json(const json& j) {
  EncoderOutcome o;
  o.label = j.at("label").get<std::string>();
  o.status = status_of(j.at("status").get<std::string>());
  o.note = j.at("note").get<std::string>();
  for (const auto& m : j.at("metrics"))
    o.metrics.push_back({m.at("name").get<std::string>(), number_of(m.at("value")),
                         m.at("unit").get<std::string>(), m.at("at").get<std::string>()});
  for (const auto& c : j.at("curves"))
    o.curves.push_back({c.at("name").get<std::string>(), c.at("x_name").get<std::string>(),
                        c.at("x_unit").get<std::string>(), c.at("y_unit").get<std::string>(),
                        numbers_of(c.at("x")), numbers_of(c.at("y"))});
  o.extra = j.at("extra");
  return o;
}

json table_to_json(const ConsoleTable& t) {
  json cells = json::array();
  for (const auto& row : t.cells) cells.push_back(numbers(row));
  return {{"title", t.title},
          {"row_header", t.row_header},
          {"columns", t.columns},
          {"rows", t.rows},
          {"cells", cells},
          {"notes", t.notes},
          {"significant_digits", t.significant_digits}};
}

ConsoleTable table_from_json(const json& j) {
  ConsoleTable t;
  t.title = j.at("title").get<std::string>();
  t.row_header = j.at("row_header").get<std::string>();
  t.columns = j.at("columns").get<std::vector<std::string>>();
  t.rows = j.at("rows").get<std::vector<std::string>>();
  for (const auto& row : j.at("cells")) t.cells.push_back(numbers_of(row));
  t.notes = j.at("notes").get<std::vector<std::string>>();
  t.significant_digits = j.at("significant_digits").get<int>();
  return t;
}

}  // namespace

json record_to_json(const UnitRecord& r) {
  json outcomes = json::array(), tables = json::array(), side = json::array();
  for (const auto& o : r.result.outcomes) outcomes.push_back(outcome_to_json(o));
  for (const auto& t : r.result.tables) tables.push_back(table_to_json(t));
  for (const auto& f : r.result.side_files)
    side.push_back({{"path", f.path}, {"content", f.content}});
  return {{"id", r.id},
          {"outcomes", outcomes},
          {"extra", r.result.extra},
          {"summary_columns", r.result.summary_columns},
          {"summary_title", r.result.summary_title},
          {"tables", tables},
          {"side_files", side},
          {"snapshots", r.snapshots},
          {"artifact_prefix", r.artifact_prefix},
          {"wall_seconds", r.wall_seconds},
          {"host", r.host}};
}

UnitRecord record_from_json(const json& j, const std::string& what) {
  UnitRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    for (const auto& o : j.at("outcomes")) r.result.outcomes.push_back(outcome_from_json(o));
    r.result.extra = j.at("extra");
    r.result.summary_columns = j.at("summary_columns").get<std::vector<std::string>>();
    r.result.summary_title = j.at("summary_title").get<std::string>();
    for (const auto& t : j.at("tables")) r.result.tables.push_back(table_from_json(t));
    for (const auto& f : j.at("side_files"))
      r.result.side_files.push_back(
          {f.at("path").get<std::string>(), f.at("content").get<std::string>()});
    r.snapshots = j.at("snapshots");
    r.artifact_prefix = j.at("artifact_prefix").get<std::string>();
    r.wall_seconds = j.at("wall_seconds").get<double>();
    r.host = j.at("host").get<std::string>();
  } catch (const std::exception& e) {
    throw UserError(what + ": not a posbench unit record (" + e.what() +
                    "); expected a file written by posbench run");
  }
  return r;
}

UnitStore::UnitStore(const fs::path& output, std::string config_hash, std::string version)
    : dir_(output.string() + ".units"),
      hash_(std::move(config_hash)),
      version_(std::move(version)) {}

void UnitStore::save(const UnitRecord& record) const {
  json doc = record_to_json(record);
  doc["config_hash"] = hash_;
  doc["posbench_version"] = version_;
  replace_file_atomically(dir_ / (record.id + ".json"), doc.dump() + "\n");
  // The rename survives a crash of the process as it is; a crash of the machine needs the
  // directory's entry on disk too.
  const int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

std::map<std::string, UnitRecord> UnitStore::load() const {
  std::map<std::string, UnitRecord> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  for (const auto& f : fs::directory_iterator(dir_)) {
    const std::string name = f.path().filename().string();
    if (name.empty() || name[0] == '.' || f.path().extension() != ".json") continue;
    const json doc = read_json_file(f.path());
    const std::string what = f.path().string();
    if (!doc.is_object() || doc.value("config_hash", "") != hash_ ||
        doc.value("posbench_version", "") != version_)
      throw UserError(what + ": a unit of another config or posbench version (config hash " +
                      (doc.is_object() ? doc.value("config_hash", "?") : "?") + ", version " +
                      (doc.is_object() ? doc.value("posbench_version", "?") : "?") +
                      "; this run: " + hash_ + ", " + version_ +
                      "); expected units of this config: remove " + dir_.string() +
                      " or write to another -o");
    UnitRecord r = record_from_json(doc, what);
    if (r.id + ".json" != name)
      throw UserError(what + ": holds unit " + r.id + "; expected the unit its name says");
    out.emplace(r.id, std::move(r));
  }
  return out;
}

void UnitStore::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace posbench
