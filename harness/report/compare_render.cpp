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
                                                 "shape", "reps", "A median", "B median", "change",
                                                 "p", ""}};
  bool few = false, marked = false;
  for (const auto& r : bench["rows"]) {
    const std::string ia = r["implementation_a"], ib = r["implementation_b"];
    std::string verdict = r["verdict"] == "slower"   ? "SLOWER"
                          : r["verdict"] == "faster" ? "faster"
                                                     : "";
    if (r["regression"].get<bool>()) verdict += " (regression)";
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
         seconds(r["median_s"][0].get<double>()), seconds(r["median_s"][1].get<double>()),
         fmt::format("{:+.1f}%", r["change_pct"].get<double>()),
         r["u_test"].is_null() ? "-" : fmt::format("{:.3g}", r["u_test"]["p"].get<double>()),
         verdict});
  }
  std::string out = table(rows, "    ");
  if (few)
    out +=
        "    note: fewer than 9 repetitions on a side; the U test then has little power (as "
        "in google/benchmark's compare.py)\n";
  if (marked)
    out +=
        "    note: [unreliable]: a record was marked unreliable in its run (results/README.md, "
        "\"Speed reliability\")\n";
  if (!bench["only_in_a"].empty()) out += "    only in A: " + list_text(bench["only_in_a"]) + "\n";
  if (!bench["only_in_b"].empty()) out += "    only in B: " + list_text(bench["only_in_b"]) + "\n";
  (void)options;
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
      out +=
          fmt::format("  benchmarks (Mann-Whitney U over every repetition, two-sided, alpha {}):\n",
                      num(o["alpha"]));
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

json by_label_tables(const ResultsInput& in) {
  json experiments = json::array();
  const json& xs = in.doc["experiments"];
  for (size_t i = 0; i < xs.size(); ++i) {
    const json& e = xs[i];
    std::vector<std::map<std::string, json>> params;
    std::vector<std::string> keys, metrics;
    for (const auto& enc : e["encoders"]) {
      params.emplace_back();
      flatten(enc.contains("params") ? enc["params"] : json::object(), "", params.back());
      params.back().erase("");
      for (const auto& [k, v] : params.back())
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      for (const auto& [m, v] : enc["metrics"].items())
        if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
    }
    // The swept params: those whose value is not the same in every row (absent counts).
    json swept = json::array();
    for (const auto& k : keys) {
      std::set<std::string> seen;
      for (const auto& p : params) seen.insert(p.count(k) ? p.at(k).dump() : "<absent>");
      if (seen.size() > 1) swept.push_back(k);
    }
    std::set<std::string> names;
    for (const auto& enc : e["encoders"]) names.insert(enc["name"].get<std::string>());
    json rows = json::array();
    for (size_t k = 0; k < e["encoders"].size(); ++k) {
      const json& enc = e["encoders"][k];
      json p = json::object(), m = json::object();
      for (const auto& s : swept) {
        const std::string key = s.get<std::string>();
        p[key] = params[k].count(key) ? params[k].at(key) : json(nullptr);
      }
      for (const auto& name : metrics)
        m[name] = enc["metrics"].contains(name) ? enc["metrics"][name]["value"] : json(nullptr);
      rows.push_back({{"label", enc["label"]},
                      {"name", enc["name"]},
                      {"status", enc.value("status", "")},
                      {"params", p},
                      {"metrics", m}});
    }
    experiments.push_back({{"path", index_path("experiments", i)},
                           {"type", e["type"]},
                           {"swept", swept},
                           {"several_schemes", names.size() > 1},
                           {"metrics", metrics},
                           {"rows", rows}});
  }
  return {{"file", in.name}, {"experiments", experiments}};
}

std::string render_by_label(const json& t) {
  std::string out = t["file"].get<std::string>() + "\n";
  for (const auto& e : t["experiments"]) {
    out += fmt::format("\n{} {}{}\n", e["path"].get<std::string>(), e["type"].get<std::string>(),
                       e["swept"].empty() ? " (no param differs between the encoders)"
                                          : " (swept: " + list_text(e["swept"]) + ")");
    std::vector<std::string> header = {"label"};
    if (e["several_schemes"].get<bool>()) header.push_back("scheme");
    for (const auto& s : e["swept"]) header.push_back(s.get<std::string>());
    for (const auto& m : e["metrics"]) header.push_back(m.get<std::string>());
    std::vector<std::vector<std::string>> rows = {header};
    for (const auto& r : e["rows"]) {
      std::vector<std::string> row = {r["label"].get<std::string>()};
      if (e["several_schemes"].get<bool>()) row.push_back(r["name"].get<std::string>());
      for (const auto& s : e["swept"]) row.push_back(num(r["params"][s.get<std::string>()]));
      for (const auto& m : e["metrics"]) row.push_back(num(r["metrics"][m.get<std::string>()]));
      rows.push_back(row);
    }
    out += table(rows, "  ");
  }
  return out;
}

}  // namespace posbench
