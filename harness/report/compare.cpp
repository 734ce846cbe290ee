// `posbench compare A B`: experiments, encoders and speed benchmarks of two results files
// aligned, every metric side by side, every benchmark's repetitions through the Mann-Whitney U
// test (harness/report/mann_whitney.h). The JSON built here is what `compare --json` prints;
// harness/cli/README.md documents its fields.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "encoders/error.h"
#include "harness/report/compare.h"
#include "harness/report/mann_whitney.h"

namespace posbench {

using nlohmann::json;

namespace {

// compare.py's (google/benchmark tools/gbench/report.py) numbers: below 9 repetitions per side
// the U test has little power, and it is not run at all below 2.
constexpr size_t kOptimalRepetitions = 9, kMinRepetitions = 2;

json params_of(const json& x) { return x.contains("params") ? x["params"] : json::object(); }

// The top-level keys whose values differ, with both values (absent = null).
json params_differ(const json& a, const json& b) {
  json out = json::array();
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const auto& k : keys) {
    const json va = a.contains(k) ? a[k] : json(), vb = b.contains(k) ? b[k] : json();
    if (va != vb) out.push_back({{"param", k}, {"a", va}, {"b", vb}});
  }
  return out;
}

// Pairs (index in A, index in B) of items matched first by `key_first` equality, then among
// the rest by `key_second`; the unmatched of each side in order.
struct Matching {
  std::vector<std::pair<size_t, size_t>> pairs;
  std::vector<size_t> only_a, only_b;
};
template <class Key1, class Key2>
Matching match(const json& a, const json& b, Key1 key_first, Key2 key_second) {
  Matching m;
  std::vector<bool> used_a(a.size()), used_b(b.size());
  for (auto key : {0, 1})
    for (size_t i = 0; i < a.size(); ++i) {
      if (used_a[i]) continue;
      for (size_t j = 0; j < b.size(); ++j) {
        if (used_b[j]) continue;
        const bool same =
            key == 0 ? key_first(a[i]) == key_first(b[j]) : key_second(a[i]) == key_second(b[j]);
        if (same) {
          used_a[i] = used_b[j] = true;
          m.pairs.push_back({i, j});
          break;
        }
      }
    }
  std::sort(m.pairs.begin(), m.pairs.end());
  for (size_t i = 0; i < a.size(); ++i)
    if (!used_a[i]) m.only_a.push_back(i);
  for (size_t j = 0; j < b.size(); ++j)
    if (!used_b[j]) m.only_b.push_back(j);
  return m;
}

json metric_row(const std::string& name, const json& ma, const json& mb, const CompareOptions& o) {
  const json va = ma["value"], vb = mb["value"];
  json row = {{"name", name}, {"unit", ma.value("unit", "")}, {"a", va}, {"b", vb}};
  bool differs = false;
  if (va.is_number() && vb.is_number()) {
    const double x = va.get<double>(), y = vb.get<double>();
    row["change"] = y - x;
    row["relative_change"] = x != 0 ? json((y - x) / std::abs(x)) : json(nullptr);
    differs = std::abs(y - x) > o.atol + o.rtol * std::abs(x);
  } else {
    differs = va != vb;  // a value against null
  }
  row["differs"] = differs;
  return row;
}

// A benchmark record's times (`field`.all: time_s or cpu_time_s, seconds per iteration of each
// repetition), checked.
std::vector<double> repetition_seconds(const json& r, const char* field, const std::string& file,
                                       const std::string& path) {
  const json all =
      r.contains(field) && r[field].is_object() ? r[field].value("all", json()) : json();
  std::vector<double> out;
  bool ok = all.is_array() && !all.empty();
  for (const auto& v : ok ? all : json::array()) {
    // CPU time may be 0 for a loop shorter than the clock's tick; wall time never is.
    const bool cpu = std::string(field) == "cpu_time_s";
    ok &= v.is_number() && (cpu ? v.get<double>() >= 0 : v.get<double>() > 0) &&
          std::isfinite(v.get<double>());
    if (ok) out.push_back(v.get<double>());
  }
  if (!ok)
    throw UserError(
        file + ": " + path + "." + field + ".all",
        got_expected(
            all, std::string("an array of ") +
                     (std::string(field) == "cpu_time_s" ? "numbers >= 0" : "positive numbers") +
                     " (the seconds of each repetition)"));
  return out;
}

bool has_cpu_times(const json& r) {
  return r.contains("cpu_time_s") && r["cpu_time_s"].is_object() && r["cpu_time_s"].contains("all");
}

json unreliable_checks(const json& r) {
  json out = json::array();
  if (r.contains("unreliable") && r["unreliable"].contains("reasons"))
    for (const auto& x : r["unreliable"]["reasons"])
      if (x.contains("check") && std::find(out.begin(), out.end(), x["check"]) == out.end())
        out.push_back(x["check"]);
  return out;
}

// A speed record found in a file: where, whose, and how it is aligned.
struct Record {
  std::string group;  // "scheme" (an encoder's), "probe", "attention_baseline"
  std::string label;  // encoder label ("" for the others)
  std::string path;
  const json* r;
  std::string impl() const { return r->value("implementation", ""); }
  // Encoder label, operation, implementation (after --map for B), threads, dtype, shape or
  // working set, and what a probe was measured next to.
  std::string key(const std::string& implementation) const {
    return json{group,
                label,
                r->value("operation", ""),
                implementation,
                r->value("threads", 0),
                r->value("dtype", ""),
                r->value("shape", json()),
                r->value("working_set_bytes", json()),
                r->value("measured_next_to", json())}
        .dump();
  }
};

// A reference to obj[key], or to null: records keep pointers into the document, never into a
// copy (json::value returns one).
const json& member(const json& obj, const char* key) {
  static const json null;
  return obj.is_object() && obj.contains(key) ? obj[key] : null;
}

std::vector<Record> speed_records(const json& e, const std::string& ep) {
  std::vector<Record> out;
  const auto add = [&](const std::string& group, const std::string& label, const json& list,
                       const std::string& path) {
    if (!list.is_array()) return;
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].is_object() && !list[i].contains("error"))
        out.push_back({group, label, index_path(path, i), &list[i]});
  };
  for (size_t k = 0; k < e["encoders"].size(); ++k) {
    const json& enc = e["encoders"][k];
    add("scheme", enc["label"].get<std::string>(), member(member(enc, "extra"), "benchmarks"),
        index_path(join_path(ep, "encoders"), k) + ".extra.benchmarks");
  }
  add("probe", "", member(member(e, "extra"), "probes"), ep + ".extra.probes");
  add("attention_baseline", "", member(member(e, "extra"), "attention_baseline"),
      ep + ".extra.attention_baseline");
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

json benchmark_row(const Record& ra, const Record& rb, const std::string& a_file,
                   const std::string& b_file, const CompareOptions& o) {
  const json& r = *ra.r;
  const int threads = r.value("threads", 0);
  // The clock (CompareOptions::time): CPU time for 1 thread when both records have it.
  const bool cpu = o.time == TimeBasis::cpu || (o.time == TimeBasis::automatic && threads == 1 &&
                                                has_cpu_times(*ra.r) && has_cpu_times(*rb.r));
  const char* field = cpu ? "cpu_time_s" : "time_s";
  const std::vector<double> ta = repetition_seconds(*ra.r, field, a_file, ra.path),
                            tb = repetition_seconds(*rb.r, field, b_file, rb.path);
  json row = {{"group", ra.group},
              {"label", ra.label},
              {"name_a", r.value("name", "")},
              {"name_b", rb.r->value("name", "")},
              {"operation", r.value("operation", "")},
              {"implementation_a", ra.impl()},
              {"implementation_b", rb.impl()},
              {"threads", threads},
              {"dtype", r.value("dtype", "")},
              {"shape", r.value("shape", json())},
              {"time", cpu ? "cpu" : "wall"},
              {"repetitions", json::array({ta.size(), tb.size()})}};
  const double ma = median_of(ta), mb = median_of(tb);
  row["median_s"] = json::array({ma, mb});
  // A median CPU time of 0 (a loop below the clock's tick) has no relative change.
  const double change = ma > 0 ? (mb - ma) / ma * 100 : mb > 0 ? HUGE_VAL : 0;
  row["change_pct"] = std::isfinite(change) ? json(change) : json(nullptr);
  const bool beyond_noise = std::abs(change) > o.noise_pct;
  bool tested_significant = false;
  if (std::min(ta.size(), tb.size()) >= kMinRepetitions) {
    const MannWhitney u = mann_whitney_u(tb, ta);  // U of B: pairs where B is slower
    row["u_test"] = {{"u_b", u.u1}, {"p", u.p}, {"exact", u.exact}};
    tested_significant = u.p < o.alpha;
  } else {
    row["u_test"] = nullptr;
  }
  // Both: a U test alone calls run-to-run drift of unchanged code significant (compare.h).
  const bool significant = tested_significant && beyond_noise;
  row["p_below_alpha"] = tested_significant;
  row["beyond_noise"] = beyond_noise;
  row["significant"] = significant;
  row["verdict"] = !significant ? "no significant change" : mb > ma ? "slower" : "faster";
  row["few_repetitions"] = std::min(ta.size(), tb.size()) < kOptimalRepetitions;
  // json::array: a brace list of two [string, string] arrays would make an object.
  row["unreliable"] = json::array({unreliable_checks(*ra.r), unreliable_checks(*rb.r)});
  row["regression"] = significant && mb > ma && ra.group != "probe" && o.fail_on_regression_pct &&
                      change > *o.fail_on_regression_pct;
  return row;
}

json compare_speed(const json& ea, const json& eb, const std::string& pa, const std::string& pb,
                   const ResultsInput& a, const ResultsInput& b, const CompareOptions& o) {
  const std::vector<Record> ra = speed_records(ea, pa), rb = speed_records(eb, pb);
  // B's records keyed with its implementation mapped back to A's (--map A_IMPL=B_IMPL); B's
  // records of a mapped A implementation are left out (A's are compared with B_IMPL instead).
  std::map<std::string, std::string> b_to_a;
  for (const auto& [ia, ib] : o.implementation_map) b_to_a[ib] = ia;
  std::map<std::string, size_t> in_b;
  for (size_t j = 0; j < rb.size(); ++j) {
    const std::string impl = rb[j].impl();
    if (o.implementation_map.count(impl) && !b_to_a.count(impl)) continue;
    in_b[rb[j].key(b_to_a.count(impl) ? b_to_a.at(impl) : impl)] = j;
  }
  json rows = json::array(), only_a = json::array();
  std::set<size_t> matched;
  for (const Record& r : ra) {
    const auto it = in_b.find(r.key(r.impl()));
    if (it == in_b.end()) {
      only_a.push_back(r.r->value("name", r.path));
      continue;
    }
    matched.insert(it->second);
    rows.push_back(benchmark_row(r, rb[it->second], a.name, b.name, o));
  }
  json only_b = json::array();
  for (size_t j = 0; j < rb.size(); ++j)
    if (!matched.count(j)) only_b.push_back(rb[j].r->value("name", rb[j].path));
  return {{"rows", rows}, {"only_in_a", only_a}, {"only_in_b", only_b}};
}

// A speed metric of A named for its implementation ("table_simd_t1_max_abs_error") as B's
// implementation under --map simd=reference ("table_reference_t1_max_abs_error").
std::string mapped_metric_name(const std::string& name, const CompareOptions& o) {
  for (const auto& [ia, ib] : o.implementation_map) {
    const size_t at = name.find("_" + ia + "_");
    if (at != std::string::npos)
      return name.substr(0, at) + "_" + ib + "_" + name.substr(at + ia.size() + 2);
  }
  return name;
}

json compare_encoders(const json& ea, const json& eb, const std::string& type,
                      const CompareOptions& o) {
  const auto label = [](const json& x) { return x["label"]; };
  const auto identity = [](const json& x) { return json{x["name"], params_of(x)}; };
  const Matching m = match(ea["encoders"], eb["encoders"], label, identity);
  json encoders = json::array();
  for (const auto& [i, j] : m.pairs) {
    const json &x = ea["encoders"][i], &y = eb["encoders"][j];
    json metrics = json::array(), only_a = json::array(), only_b = json::array();
    std::set<std::string> matched_b;
    for (const auto& [name, mx] : x["metrics"].items()) {
      if (is_timing_metric(type, name)) continue;  // speed: the U test of its benchmarks
      const std::string name_b = type == "speed" ? mapped_metric_name(name, o) : name;
      if (y["metrics"].contains(name_b)) {
        json row = metric_row(name, mx, y["metrics"][name_b], o);
        if (name_b != name) row["name_b"] = name_b;
        metrics.push_back(row);
        matched_b.insert(name_b);
      } else {
        only_a.push_back(name);
      }
    }
    for (const auto& [name, my] : y["metrics"].items())
      if (!is_timing_metric(type, name) && !matched_b.count(name)) only_b.push_back(name);
    encoders.push_back({{"label", x["label"]},
                        {"label_b", y["label"]},
                        {"name", x["name"]},
                        {"params_differ", params_differ(params_of(x), params_of(y))},
                        {"status", json::array({x.value("status", ""), y.value("status", "")})},
                        {"metrics", metrics},
                        {"metrics_only_in_a", only_a},
                        {"metrics_only_in_b", only_b}});
  }
  json only_a = json::array(), only_b = json::array();
  for (size_t i : m.only_a) only_a.push_back(ea["encoders"][i]["label"]);
  for (size_t j : m.only_b) only_b.push_back(eb["encoders"][j]["label"]);
  return {{"encoders", encoders}, {"encoders_only_in_a", only_a}, {"encoders_only_in_b", only_b}};
}

json file_summary(const ResultsInput& in) {
  const json& c = in.doc.value("context", json::object());
  return {{"file", in.name},
          {"utc_time", c.value("utc_time", "")},
          {"host", c.value("host", "")},
          {"cpu_model", c.value("cpu_model", "")},
          {"git_describe", c.value("git_describe", "")}};
}

}  // namespace

json compare_results(const ResultsInput& a, const ResultsInput& b, const CompareOptions& o) {
  const json &xa = a.doc["experiments"], &xb = b.doc["experiments"];
  const auto type = [](const json& e) { return e["type"]; };
  const auto type_params = [](const json& e) { return json{e["type"], params_of(e)}; };
  // Same type and params first, then same type in order.
  const Matching m = match(xa, xb, type_params, type);
  json experiments = json::array();
  size_t metrics = 0, differing = 0, benchmarks = 0, slower = 0, faster = 0;
  json regressions = json::array();
  for (const auto& [i, j] : m.pairs) {
    const json &ea = xa[i], &eb = xb[j];
    const std::string t = ea["type"].get<std::string>();
    const std::string pa = index_path("experiments", i), pb = index_path("experiments", j);
    json e = {{"type", t},
              {"path_a", pa},
              {"path_b", pb},
              {"params_differ", params_differ(params_of(ea), params_of(eb))}};
    e.update(compare_encoders(ea, eb, t, o));
    for (const auto& enc : e["encoders"])
      for (const auto& row : enc["metrics"]) {
        ++metrics;
        differing += row["differs"].get<bool>();
      }
    if (t == "speed") {
      e["benchmarks"] = compare_speed(ea, eb, pa, pb, a, b, o);
      for (const auto& row : e["benchmarks"]["rows"]) {
        ++benchmarks;
        slower += row["verdict"] == "slower";
        faster += row["verdict"] == "faster";
        if (row["regression"].get<bool>())
          regressions.push_back({{"experiment", pa},
                                 {"label", row["label"]},
                                 {"benchmark", row["name_a"]},
                                 {"change_pct", row["change_pct"]},
                                 {"p", row["u_test"]["p"]}});
      }
    }
    experiments.push_back(e);
  }
  json only_a = json::array(), only_b = json::array();
  for (size_t i : m.only_a)
    only_a.push_back(index_path("experiments", i) + " " + xa[i]["type"].get<std::string>());
  for (size_t j : m.only_b)
    only_b.push_back(index_path("experiments", j) + " " + xb[j]["type"].get<std::string>());
  json map = json::object();
  for (const auto& [ia, ib] : o.implementation_map) map[ia] = ib;
  return {{"a", file_summary(a)},
          {"b", file_summary(b)},
          {"options",
           {{"alpha", o.alpha},
            {"noise_pct", o.noise_pct},
            {"time", o.time == TimeBasis::automatic ? "auto"
                     : o.time == TimeBasis::cpu     ? "cpu"
                                                    : "wall"},
            {"rtol", o.rtol},
            {"atol", o.atol},
            {"fail_on_regression_pct",
             o.fail_on_regression_pct ? json(*o.fail_on_regression_pct) : json(nullptr)},
            {"map", map}}},
          {"experiments", experiments},
          {"experiments_only_in_a", only_a},
          {"experiments_only_in_b", only_b},
          {"summary",
           {{"metrics_compared", metrics},
            {"metrics_differing", differing},
            {"benchmarks_compared", benchmarks},
            {"benchmarks_slower", slower},
            {"benchmarks_faster", faster},
            {"regressions", regressions}}},
          {"fail", !regressions.empty()}};
}

}  // namespace posbench
