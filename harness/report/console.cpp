#include "harness/report/console.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

namespace posbench {

// Wider tables are printed transposed (see format_summary).
constexpr size_t kMaxConsoleWidth = 160;

// `digits` significant digits; integers in full (32768, not 3.277e+04).
static std::string cell(double v, int digits = 4) {
  if (std::isnan(v)) return "-";
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  if (a >= 1e-3 && a < 1e6) return fmt::format("{:.{}g}", v, digits);
  return fmt::format("{:.{}e}", v, digits - 1);
}

// Column widths of a table of cells.
static std::vector<size_t> table_width(const std::vector<std::vector<std::string>>& table) {
  std::vector<size_t> w;
  for (const auto& r : table)
    for (size_t c = 0; c < r.size(); ++c) {
      if (w.size() <= c) w.push_back(0);
      w[c] = std::max(w[c], r[c].size());
    }
  return w;
}

// The first column left-aligned, the others right-aligned, two spaces apart.
static std::string render(const std::vector<std::vector<std::string>>& table,
                          const std::string& indent = "") {
  const std::vector<size_t> width = table_width(table);
  std::string out;
  for (const auto& r : table) {
    std::string s = indent;
    for (size_t c = 0; c < r.size(); ++c)
      s += c == 0 ? fmt::format("{:<{}}", r[c], width[c]) : fmt::format("  {:>{}}", r[c], width[c]);
    out += s + "\n";
  }
  return out;
}

// An experiment's ConsoleTable: title, header, one line per row, notes.
static std::string format_table(const ConsoleTable& t) {
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head{t.row_header};
  head.insert(head.end(), t.columns.begin(), t.columns.end());
  table.push_back(head);
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::string> line{t.rows[r]};
    for (size_t c = 0; c < t.columns.size(); ++c)
      line.push_back(r < t.cells.size() && c < t.cells[r].size()
                         ? cell(t.cells[r][c], t.significant_digits)
                         : "-");
    table.push_back(line);
  }
  std::string out = "\n" + t.title + "\n" + render(table, "  ");
  for (const auto& n : t.notes) out += "  " + n + "\n";
  return out;
}

// Mean +- sample std across seeds (harness/run/seeds.h) of the metrics in the experiment's
// summary (all when it names none), one table per seeded entry and sweep point.
static std::string format_seed_summaries(const RunOutput& run) {
  std::string out;
  for (const SeedSummary& s : run.seed_summaries) {
    const ExperimentResult& first = run.experiments[s.experiments.front()].result;
    std::vector<std::string> columns;
    for (const auto& enc : s.encoders)
      for (const auto& m : enc.metrics)
        if ((first.summary_columns.empty() ||
             std::find(first.summary_columns.begin(), first.summary_columns.end(), m.metric) !=
                 first.summary_columns.end()) &&
            std::find(columns.begin(), columns.end(), m.metric) == columns.end())
          columns.push_back(m.metric);
    std::vector<std::vector<std::string>> table{{"scheme"}};
    for (const auto& c : columns) table[0].push_back(c);
    for (const auto& enc : s.encoders) {
      std::vector<std::string> row{enc.label};
      for (const auto& c : columns) {
        std::string v = "-";
        for (const auto& m : enc.metrics)
          if (m.metric == c && m.n > 0) v = cell(m.mean) + (m.n > 1 ? " +- " + cell(m.std, 2) : "");
        row.push_back(v);
      }
      table.push_back(row);
    }
    std::string seeds;
    for (uint64_t seed : s.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
    out += fmt::format("\n== {} {}{}: mean +- sample std over seeds {}\n", s.path, s.type,
                       s.point.empty() ? "" : "[" + s.point + "]", seeds);
    out += render(table);
  }
  return out;
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
      // Where the value is taken (Metric::at: a length, a distance) is part of the header.
      std::string at;
      for (const auto& o : outcomes)
        for (const auto& m : o.metrics)
          if (m.name == c && at.empty()) at = m.at;
      headers.push_back(at.empty() ? c : c + "@" + at);
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
    out +=
        fmt::format("\n== {} ({}, {:.2f} s)\n", e.planned->type, e.planned->path, e.wall_seconds);
    if (!e.result.summary_title.empty()) out += e.result.summary_title + "\n";
    // A table wider than a terminal (e.g. speed: one column per operation, threads and
    // implementation) is printed transposed: one line per metric, one column per scheme.
    std::vector<std::vector<std::string>> table{headers};
    bool any_unit = false;
    for (const auto& u : units) any_unit |= !u.empty();
    if (any_unit) table.push_back(units);
    for (auto& r : rows) table.push_back(r);
    const std::vector<size_t> width = table_width(table);
    size_t total = 0;
    for (size_t w : width) total += w + 2;
    if (total > kMaxConsoleWidth && rows.size() < columns.size()) {
      std::vector<std::vector<std::string>> t;
      std::vector<std::string> head{"metric"};
      if (any_unit) head.push_back("unit");
      for (const auto& r : rows) head.push_back(r[0]);
      t.push_back(head);
      for (size_t c = 1; c < headers.size(); ++c) {
        std::vector<std::string> line{headers[c]};
        if (any_unit) line.push_back(units[c]);
        for (const auto& r : rows) line.push_back(r[c]);
        t.push_back(line);
      }
      table = std::move(t);
    }
    out += render(table);
    for (const auto& n : notes) out += "  note: " + n + "\n";
    for (const auto& t : e.result.tables) out += format_table(t);
  }
  out += format_seed_summaries(run);
  return out;
}

namespace {
class ConsoleReporter final : public Reporter {
 public:
  std::string render(const RunOutput& run) const override { return format_summary(run); }
};
}  // namespace

std::unique_ptr<Reporter> make_console_reporter() { return std::make_unique<ConsoleReporter>(); }

}  // namespace posbench
