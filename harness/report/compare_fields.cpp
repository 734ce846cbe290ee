// Reading results files for compare, the fields two runs of one config may differ in, and
// `compare --exact`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "encoders/error.h"
#include "harness/report/compare.h"
#include "harness/report/json.h"
#include "harness/run/config.h"
#include "harness/run/timing_fields.h"

namespace posbench {

using nlohmann::json;

namespace {

// "experiments[0].encoders[1]" from {"experiments", "[0]", "encoders", "[1]"}.
std::string path_text(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty() && k.front() != '[') out += '.';
    out += k;
  }
  return out;
}

void require(bool ok, const std::string& file, const std::string& path, const json& got,
             const std::string& expected) {
  if (!ok) throw UserError(file + ": " + path, got_expected(got, expected));
}

}  // namespace

ResultsInput read_results(const std::string& file) {
  ResultsInput in{file, read_json_file(file)};
  const json& d = in.doc;
  require(d.is_object(), file, "(document)", d, "a results file (a JSON object; posbench run -o)");
  require(d.contains("schema_version"), file, "schema_version", nullptr,
          "the results schema version (a results file of posbench run)");
  const json& v = d["schema_version"];
  require(
      v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= kResultsSchemaVersion,
      file, "schema_version", v,
      fmt::format("1 to {} (this posbench's results schema; a newer file needs a newer "
                  "posbench)",
                  kResultsSchemaVersion));
  require(d.contains("experiments") && d["experiments"].is_array(), file, "experiments",
          d.value("experiments", json()), "an array of experiment results");
  for (size_t i = 0; i < d["experiments"].size(); ++i) {
    const json& e = d["experiments"][i];
    const std::string ep = index_path("experiments", i);
    require(e.is_object(), file, ep, e, "an experiment result (object)");
    require(e.contains("type") && e["type"].is_string(), file, join_path(ep, "type"),
            e.value("type", json()), "the experiment type (string)");
    require(e.contains("encoders") && e["encoders"].is_array(), file, join_path(ep, "encoders"),
            e.value("encoders", json()), "an array of encoder results");
    for (size_t k = 0; k < e["encoders"].size(); ++k) {
      const json& r = e["encoders"][k];
      const std::string rp = index_path(join_path(ep, "encoders"), k);
      require(r.is_object(), file, rp, r, "an encoder result (object)");
      for (const char* key : {"name", "label"})
        require(r.contains(key) && r[key].is_string(), file, join_path(rp, key),
                r.value(key, json()), "a string");
      require(r.contains("metrics") && r["metrics"].is_object(), file, join_path(rp, "metrics"),
              r.value("metrics", json()), "an object of metrics");
      for (const auto& [name, m] : r["metrics"].items()) {
        const std::string mp = join_path(join_path(rp, "metrics"), name);
        require(m.is_object() && m.contains("value") &&
                    (m["value"].is_number() || m["value"].is_null()),
                file, mp, m, "{\"value\": number or null, \"unit\": ...}");
      }
    }
  }
  return in;
}

bool is_timing_metric(const std::string& experiment_type, const std::string& metric_name) {
  // The speed experiment's metrics (harness/experiments/speed/record.cpp, add_figures): every
  // one is a time or a ratio of times but <benchmark>_max_abs_error (of its tables vs float64).
  return experiment_type == "speed" && !metric_name.ends_with("_max_abs_error");
}

namespace {

class Differ {
 public:
  explicit Differ(const json& doc) : doc_(doc) {}
  json differences = json::array();
  size_t count = 0;

  void diff(const json& a, const json& b, std::vector<std::string>& path) {
    if (skipped(path)) return;
    if (a.is_object() && b.is_object()) {
      std::set<std::string> keys;
      for (const auto& [k, v] : a.items()) keys.insert(k);
      for (const auto& [k, v] : b.items()) keys.insert(k);
      for (const auto& k : keys) {
        path.push_back(k);
        if (!a.contains(k))
          one_side(path, "b", b[k]);
        else if (!b.contains(k))
          one_side(path, "a", a[k]);
        else
          diff(a[k], b[k], path);
        path.pop_back();
      }
      return;
    }
    if (a.is_array() && b.is_array()) {
      for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        // Built by appending: "[" + std::string trips GCC 12's -Wrestrict false positive.
        std::string key(1, '[');
        key += std::to_string(i);
        key += ']';
        path.push_back(key);
        if (i >= a.size())
          one_side(path, "b", b[i]);
        else if (i >= b.size())
          one_side(path, "a", a[i]);
        else
          diff(a[i], b[i], path);
        path.pop_back();
      }
      return;
    }
    // Numbers compare by value (1 == 1.0), bit for bit otherwise.
    if (a != b) add({{"path", path_text(path)}, {"a", a}, {"b", b}});
  }

 private:
  void one_side(std::vector<std::string>& path, const char* side, const json& v) {
    if (skipped(path)) return;
    add({{"path", path_text(path)}, {side, v}, {"only_in", side}});
  }
  // The run layer's list (harness/run/timing_fields.h), which wants indices without brackets.
  bool skipped(const std::vector<std::string>& path) const {
    std::vector<std::string> plain;
    for (const auto& k : path) plain.push_back(k.front() == '[' ? k.substr(1, k.size() - 2) : k);
    return is_timing_or_provenance(plain, doc_);
  }
  const json& doc_;
  void add(json d) {
    // Everything is counted; the first 1000 are kept (a wholly different file is one finding).
    if (count++ < 1000) differences.push_back(std::move(d));
  }
};

}  // namespace

json exact_differences(const ResultsInput& a, const ResultsInput& b) {
  Differ d(a.doc);
  std::vector<std::string> path;
  d.diff(a.doc, b.doc, path);
  return {{"identical", d.count == 0},
          {"differences_found", d.count},
          {"differences", d.differences},
          {"ignored",
           {"context", "posbench_version", "threads", "max_memory_bytes", "total_wall_seconds",
            "unit_provenance", "experiments[].wall_seconds", "experiments[].hosts",
            "seed_summaries[].host",
            "speed experiments: extra, encoders[].extra, encoders[].curves and every metric but "
            "*_max_abs_error (also in seed_summaries)"}}};
}

std::string render_exact(const json& r, const std::string& a_name, const std::string& b_name) {
  std::string ignored;
  for (const auto& i : r["ignored"])
    ignored += (ignored.empty() ? "" : "; ") + i.get<std::string>();
  if (r["identical"].get<bool>())
    return fmt::format("{} and {}: identical (ignoring timings and provenance: {})\n", a_name,
                       b_name, ignored);
  const size_t n = r["differences_found"].get<size_t>();
  std::string out = fmt::format(
      "{} (A) and {} (B) differ in {} (ignoring timings and "
      "provenance: {}):\n",
      a_name, b_name, count_of((long long)n, "value"), ignored);
  size_t shown = 0;
  for (const auto& d : r["differences"]) {
    if (shown++ == 50) break;
    const std::string path = d["path"].get<std::string>();
    if (d.contains("only_in"))
      out += fmt::format("  {}: only in {}: {}\n", path,
                         d["only_in"].get<std::string>() == "a" ? "A" : "B",
                         show(d.contains("a") ? d["a"] : d["b"]));
    else
      out += fmt::format("  {}: A {}, B {}\n", path, show(d["a"]), show(d["b"]));
  }
  if (n > 50) out += fmt::format("  ... and {} more\n", n - 50);
  return out;
}

}  // namespace posbench
