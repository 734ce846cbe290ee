#include "harness/report_console.h"

#include <fmt/format.h>
#include <cmath>

namespace posbench {

static std::string cell(double v) {
  if (std::isnan(v)) return "-";
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e6) return fmt::format("{:.4g}", v);
  return fmt::format("{:.3e}", v);
}

std::string format_summary(const RunOutput& run) {
  std::string out;
  for (const auto& e : run.experiments) {
    const auto& outcomes = e.result.outcomes;
    std::vector<std::string> columns = e.result.summary_columns;
    if (columns.empty())
      for (const auto& o : outcomes)
        for (const auto& m : o.metrics)
          if (std::find(columns.begin(), columns.end(), m.name) == columns.end())
            columns.push_back(m.name);
    std::vector<std::string> headers{"scheme"}, units{""};
    for (const auto& c : columns) {
      headers.push_back(c);
      std::string unit;
      for (const auto& o : outcomes)
        for (const auto& m : o.metrics)
          if (m.name == c && unit.empty() && m.unit != "1") unit = "[" + m.unit + "]";
      units.push_back(unit);
    }
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> notes;
    for (size_t k = 0; k < outcomes.size(); ++k) {
      const auto& o = outcomes[k];
      std::vector<std::string> row{o.label};
      for (const auto& c : columns) {
        std::string v = "-";
        for (const auto& m : o.metrics)
          if (m.name == c) v = cell(m.value);
        row.push_back(v);
      }
      if (o.status != Status::ok) {
        row[0] += " (" + std::string(to_string(o.status)) + ")";
        notes.push_back(o.label + ": " + o.note);
      }
      rows.push_back(std::move(row));
    }
    std::vector<size_t> width(headers.size());
    for (size_t c = 0; c < headers.size(); ++c) {
      width[c] = std::max(headers[c].size(), units[c].size());
      for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    out +=
        fmt::format("\n== {} ({}, {:.2f} s)\n", e.planned->type, e.planned->path, e.wall_seconds);
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t c = 0; c < r.size(); ++c)
        s += c == 0 ? fmt::format("{:<{}}", r[c], width[c])
                    : fmt::format("  {:>{}}", r[c], width[c]);
      out += s + "\n";
    };
    line(headers);
    bool any_unit = false;
    for (const auto& u : units) any_unit |= !u.empty();
    if (any_unit) line(units);
    for (const auto& r : rows) line(r);
    for (const auto& n : notes) out += "  note: " + n + "\n";
  }
  return out;
}

}  // namespace posbench
