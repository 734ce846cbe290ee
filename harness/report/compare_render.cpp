// Text of `posbench compare`: the comparison's tables, and a sweep as one table per experiment
// (`--by label`).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "encoders/error.h"
#include "harness/report/compare.h"

namespace posbench {

using nlohmann::json;

namespace {

std::string num(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  // Whole numbers (a rope base of 500000) in full, others to 6 significant digits.
  if (v.is_number() && std::abs(v.get<double>()) < 1e15 &&
      v.get<double>() == std::round(v.get<double>()))
    return fmt::format("{:.0f}", v.get<double>());
  if (v.is_number()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string seconds(double s) {
  const double a = std::abs(s);
  return a >= 1      ? fmt::format("{:.4g} s", s)
         : a >= 1e-3 ? fmt::format("{:.4g} ms", s * 1e3)
         : a >= 1e-6 ? fmt::format("{:.4g} us", s * 1e6)
                     : fmt::format("{:.4g} ns", s * 1e9);
}

// Columns padded to their widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], r[c].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t c = 0; c < r.size(); ++c)
      line += fmt::format("{:<{}}", r[c], c + 1 < r.size() ? width[c] + 2 : 0);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string list_text(const json& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + num(n);
  return out;
}

std::string file_line(const char* side, const json& f) {
  return fmt::format("{}: {} ({}, {}, git {})\n", side, f["file"].get<std::string>(),
                     f["utc_time"].get<std::string>(), f["host"].get<std::string>(),
                     f["git_describe"].get<std::string>());
}

std::string differ_text(const json& d) {
  std::string out;
  for (const auto& p : d)
    out += fmt::format("{}{}: A {}, B {}", out.empty() ? "" : "; ", p["param"].get<std::string>(),
                       show(p["a"]), show(p["b"]));
  return out;
}

std::string speed_table(const json& bench, const json& options) {
  std::vector<std::vector<std::string>> rows = {{"label", "operation", "implementation", "threads",
                                                 "shape", "reps", "time", "A median", "B median",
                                                 "change", "p", ""}};
  bool few = false, marked = false, within_noise = false;
  for (const auto& r : bench["rows"]) {
    const std::string ia = r["implementation_a"], ib = r["implementation_b"];
    std::string verdict = r["verdict"] == "slower"   ? "SLOWER"
                          : r["verdict"] == "faster" ? "faster"
                                                     : "";
    if (r["regression"].get<bool>()) verdict += " (regression)";
    if (r["p_below_alpha"].get<bool>() && !r["beyond_noise"].get<bool>()) {
      verdict += "(within noise)";
      within_noise = true;
    }
    if (!r["unreliable"][0].empty() || !r["unreliable"][1].empty()) {
      verdict += " [unreliable]";
      marked = true;
    }
    few |= r["few_repetitions"].get<bool>();
    rows.push_back(
        {r["group"] == "scheme" ? r["label"].get<std::string>() : r["group"].get<std::string>(),
         // A probe is told apart by its name (kind, bytes, next to what).
         r["group"] == "probe" ? r["name_a"].get<std::string>() : r["operation"].get<std::string>(),
         ia == ib ? ia : ia + " -> " + ib, num(r["threads"]),
         r["shape"].is_object() ? list_text([&] {
           json v = json::array();
           for (const auto& [k, x] : r["shape"].items()) v.push_back(k + "=" + num(x));
           return v;
         }())
                                : "",
         fmt::format("{}/{}", num(r["repetitions"][0]), num(r["repetitions"][1])),
         r["time"].get<std::string>(), seconds(r["median_s"][0].get<double>()),
         seconds(r["median_s"][1].get<double>()),
         r["change_pct"].is_null() ? "-" : fmt::format("{:+.1f}%", r["change_pct"].get<double>()),
         r["u_test"].is_null() ? "-" : fmt::format("{:.3g}", r["u_test"]["p"].get<double>()),
         verdict});
  }
  std::string out = table(rows, "    ");
  if (few)
    out +=
        "    note: fewer than 9 repetitions on a side; the U test then has little power (as "
        "in google/benchmark's compare.py)\n";
  if (within_noise)
    out += fmt::format(
        "    note: (within noise): p < alpha, but the medians differ by no more than the noise "
        "floor ({}%, --noise): not significant\n",
        num(options["noise_pct"]));
  if (marked)
    out +=
        "    note: [unreliable]: a record was marked unreliable in its run (results/README.md, "
        "\"Speed reliability\")\n";
  if (!bench["only_in_a"].empty()) out += "    only in A: " + list_text(bench["only_in_a"]) + "\n";
  if (!bench["only_in_b"].empty()) out += "    only in B: " + list_text(bench["only_in_b"]) + "\n";
  return out;
}

}  // namespace

std::string render_comparison(const json& c) {
  const json& o = c["options"];
  std::string out = file_line("A", c["a"]) + file_line("B", c["b"]);
  if (!o["map"].empty()) {
    std::string m;
    for (const auto& [k, v] : o["map"].items())
      m += (m.empty() ? "" : ", ") + k + " (A) vs " + v.get<std::string>() + " (B)";
    out += "implementations compared: " + m + "\n";
  }
  for (const auto& e : c["experiments"]) {
    out += fmt::format(
        "\n{} {}{}\n", e["path_a"].get<std::string>(), e["type"].get<std::string>(),
        e["path_a"] == e["path_b"] ? "" : " (B: " + e["path_b"].get<std::string>() + ")");
    if (!e["params_differ"].empty())
      out += "  params differ: " + differ_text(e["params_differ"]) + "\n";
    std::vector<std::vector<std::string>> rows = {{"label", "metric", "A", "B", "change", ""}};
    for (const auto& enc : e["encoders"]) {
      std::string label = enc["label"];
      if (enc["label_b"] != enc["label"])
        label += " (B: " + enc["label_b"].get<std::string>() + ")";
      if (!enc["params_differ"].empty())
        out += "  " + label + ": params differ: " + differ_text(enc["params_differ"]) + "\n";
      if (enc["status"][0] != enc["status"][1])
        out += fmt::format("  {}: status A {}, B {}\n", label, enc["status"][0].get<std::string>(),
                           enc["status"][1].get<std::string>());
      for (const auto& m : enc["metrics"]) {
        std::string change = "";
        if (m.contains("relative_change") && !m["relative_change"].is_null())
          change = fmt::format("{:+.3g}%", m["relative_change"].get<double>() * 100);
        else if (m.contains("change"))
          change = fmt::format("{:+.3g}", m["change"].get<double>());
        rows.push_back({label, m["name"].get<std::string>(), num(m["a"]), num(m["b"]), change,
                        m["differs"].get<bool>() ? "DIFFERS" : ""});
      }
      if (!enc["metrics_only_in_a"].empty())
        out += "  " + label + ": metrics only in A: " + list_text(enc["metrics_only_in_a"]) + "\n";
      if (!enc["metrics_only_in_b"].empty())
        out += "  " + label + ": metrics only in B: " + list_text(enc["metrics_only_in_b"]) + "\n";
    }
    if (rows.size() > 1) out += table(rows, "  ");
    if (!e["encoders_only_in_a"].empty())
      out += "  encoders only in A: " + list_text(e["encoders_only_in_a"]) + "\n";
    if (!e["encoders_only_in_b"].empty())
      out += "  encoders only in B: " + list_text(e["encoders_only_in_b"]) + "\n";
    if (e.contains("benchmarks")) {
      out += fmt::format(
          "  benchmarks (significant: Mann-Whitney U over every repetition, two-sided, p < {}, "
          "and the medians more than {}% apart; time: CPU of the timing thread or wall):\n",
          num(o["alpha"]), num(o["noise_pct"]));
      out += speed_table(e["benchmarks"], o);
    }
  }
  if (!c["experiments_only_in_a"].empty())
    out += "\nexperiments only in A: " + list_text(c["experiments_only_in_a"]) + "\n";
  if (!c["experiments_only_in_b"].empty())
    out += "\nexperiments only in B: " + list_text(c["experiments_only_in_b"]) + "\n";
  const json& s = c["summary"];
  out += fmt::format(
      "\nsummary: {} of {} metrics differ beyond rtol {} / atol {}; {}: {} significantly "
      "slower, {} significantly faster\n",
      s["metrics_differing"].get<long long>(), s["metrics_compared"].get<long long>(),
      num(o["rtol"]), num(o["atol"]),
      count_of(s["benchmarks_compared"].get<long long>(), "benchmark"),
      s["benchmarks_slower"].get<long long>(), s["benchmarks_faster"].get<long long>());
  if (!o["fail_on_regression_pct"].is_null())
    out +=
        fmt::format("--fail-on-regression {}: {}\n", num(o["fail_on_regression_pct"]),
                    c["fail"].get<bool>()
                        ? count_of((long long)s["regressions"].size(), "regression") + " (exit 1)"
                        : "no benchmark significantly slower by more than that");
  return out;
}

namespace {

// Leaves of a params object as "a.b" -> value (arrays are values).
void flatten(const json& v, const std::string& prefix, std::map<std::string, json>& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, x] : v.items()) flatten(x, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  out[prefix] = v;
}

}  // namespace

namespace {

void add_unique(std::vector<std::string>& list, const std::string& x) {
  if (std::find(list.begin(), list.end(), x) == list.end()) list.push_back(x);
}

// The resolved config's entry of result experiment i (the instances are listed in the same order
// in both) and in it the encoder entry labelled `label`: its "sweep_point", or an empty object.
json encoder_sweep_point(const json& doc, size_t i, const json& label) {
  const json& rc = doc.contains("resolved_config") ? doc["resolved_config"] : json();
  if (!rc.is_object() || !rc.contains("experiments") || !rc["experiments"].is_array() ||
      rc["experiments"].size() != doc["experiments"].size())
    return json::object();
  const json& e = rc["experiments"][i];
  if (!e.is_object() || !e.contains("encoders") || !e["encoders"].is_array()) return json::object();
  for (const auto& enc : e["encoders"])
    if (enc.is_object() && enc.value("label", json()) == label && enc.contains("sweep_point") &&
        enc["sweep_point"].is_object())
      return enc["sweep_point"];
  return json::object();
}

}  // namespace

json by_label_tables(const ResultsInput& in) {
  const json& xs = in.doc["experiments"];
  // One table per experiment of the config: its instances (sweep points and seeds of a swept or
  // seeded experiment) share it, in order of first appearance.
  std::vector<std::string> paths;
  std::map<std::string, std::vector<size_t>> instances;
  for (size_t i = 0; i < xs.size(); ++i) {
    const json& p = xs[i].contains("path") ? xs[i]["path"] : json();
    const std::string path = p.is_string() ? p.get<std::string>() : index_path("experiments", i);
    add_unique(paths, path);
    instances[path].push_back(i);
  }
  json experiments = json::array();
  for (const auto& path : paths) {
    // Row = (instance, encoder): its flattened params, the experiment's sweep point and seed.
    struct Row {
      size_t experiment;
      const json* enc;
      std::map<std::string, json> params;
    };
    std::vector<Row> rows_in;
    std::vector<std::string> keys, metrics, experiment_swept;
    bool seeded = false;
    for (size_t i : instances[path]) {
      const json& e = xs[i];
      seeded |= e.value("seeded", false);
      if (e.contains("sweep_point") && e["sweep_point"].is_object())
        for (const auto& [k, v] : e["sweep_point"].items()) add_unique(experiment_swept, k);
      for (const auto& enc : e["encoders"]) {
        Row r{i, &enc, {}};
        flatten(enc.contains("params") ? enc["params"] : json::object(), "", r.params);
        r.params.erase("");
        // A swept param is a column even if the sweep had one value.
        const json point = encoder_sweep_point(in.doc, i, enc["label"]);
        for (const auto& [k, v] : point.items()) add_unique(keys, k);
        for (const auto& [m, v] : enc["metrics"].items()) add_unique(metrics, m);
        rows_in.push_back(std::move(r));
      }
    }
    // Besides the swept params, any param two rows of one scheme differ in (variants written by
    // hand, e.g. rope-10k and rope-500k): what tells rows of one scheme apart. A param another
    // scheme lacks is not a column (it would be null in every row of that scheme).
    for (const auto& row : rows_in)
      for (const auto& [k, v] : row.params)
        for (const auto& other : rows_in)
          if ((*other.enc)["name"] == (*row.enc)["name"] &&
              (!other.params.count(k) || other.params.at(k) != v))
            add_unique(keys, k);
    std::sort(keys.begin(), keys.end());
    std::set<std::string> names;
    for (const auto& r : rows_in) names.insert((*r.enc)["name"].get<std::string>());
    json rows = json::array();
    for (const auto& r : rows_in) {
      const json& enc = *r.enc;
      const json& e = xs[r.experiment];
      json p = json::object(), m = json::object(), ep = json::object();
      for (const auto& key : keys)
        if (r.params.count(key)) p[key] = r.params.at(key);  // absent: not this scheme's param
      for (const auto& key : experiment_swept)
        ep[key] = e.contains("sweep_point") ? e["sweep_point"].value(key, json()) : json();
      for (const auto& name : metrics)
        m[name] = enc["metrics"].contains(name) ? enc["metrics"][name]["value"] : json(nullptr);
      json row = {{"label", enc["label"]},
                  {"name", enc["name"]},
                  {"status", enc.value("status", "")},
                  {"experiment", index_path("experiments", r.experiment)},
                  {"experiment_params", ep},
                  {"params", p},
                  {"metrics", m}};
      if (seeded) row["seed"] = e.value("seed", json());
      rows.push_back(row);
    }
    experiments.push_back({{"path", path},
                           {"type", xs[instances[path].front()]["type"]},
                           {"experiment_swept", experiment_swept},
                           {"seeded", seeded},
                           {"swept", keys},
                           {"several_schemes", names.size() > 1},
                           {"metrics", metrics},
                           {"rows", rows}});
  }
  return {{"file", in.name}, {"experiments", experiments}};
}

std::string render_by_label(const json& t) {
  std::string out = t["file"].get<std::string>() + "\n";
  for (const auto& e : t["experiments"]) {
    json all_swept = e["experiment_swept"];
    if (e["seeded"].get<bool>()) all_swept.push_back("seed");
    for (const auto& s : e["swept"]) all_swept.push_back(s);
    out += fmt::format("\n{} {}{}\n", e["path"].get<std::string>(), e["type"].get<std::string>(),
                       all_swept.empty() ? " (no param differs between the encoders)"
                                         : " (swept: " + list_text(all_swept) + ")");
    std::vector<std::string> header = {"label"};
    for (const auto& s : e["experiment_swept"]) header.push_back(s.get<std::string>());
    if (e["seeded"].get<bool>()) header.push_back("seed");
    if (e["several_schemes"].get<bool>()) header.push_back("scheme");
    for (const auto& s : e["swept"]) header.push_back(s.get<std::string>());
    for (const auto& m : e["metrics"]) header.push_back(m.get<std::string>());
    std::vector<std::vector<std::string>> rows = {header};
    for (const auto& r : e["rows"]) {
      std::vector<std::string> row = {r["label"].get<std::string>()};
      for (const auto& s : e["experiment_swept"])
        row.push_back(num(r["experiment_params"][s.get<std::string>()]));
      if (e["seeded"].get<bool>()) row.push_back(num(r["seed"]));
      if (e["several_schemes"].get<bool>()) row.push_back(r["name"].get<std::string>());
      // "-": the param is not one of this row's scheme.
      for (const auto& s : e["swept"])
        row.push_back(r["params"].contains(s.get<std::string>())
                          ? num(r["params"][s.get<std::string>()])
                          : "-");
      for (const auto& m : e["metrics"]) row.push_back(num(r["metrics"][m.get<std::string>()]));
      rows.push_back(row);
    }
    out += table(rows, "  ");
  }
  return out;
}

}  // namespace posbench
