// The console summary: one row per scheme, or, when that table would be wider than a terminal,
// one row per metric (transposed), with the same cells either way.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "harness/report/console.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"

namespace posbench {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Two schemes with `n` metrics named long_metric_name_<k> (value k + 0.5 for "a", k + 0.25 for
// "b"); "b" is unsupported with a note.
std::string summary_with(int n, const PlannedExperiment& planned) {
  RunOutput run;
  ExperimentRun e;
  e.planned = &planned;
  for (const char* label : {"a", "b"}) {
    EncoderOutcome o;
    o.label = label;
    for (int k = 0; k < n; ++k)
      o.metrics.push_back({"long_metric_name_" + std::to_string(k),
                           k + (o.label == "a" ? 0.5 : 0.25), k == 0 ? "ms" : "1"});
    if (o.label == "b") {
      o.status = Status::unsupported;
      o.note = "why b is unsupported";
    }
    e.result.outcomes.push_back(o);
  }
  run.experiments.push_back(std::move(e));
  return format_summary(run);
}

TEST(ConsoleSummary, NarrowTableHasOneRowPerScheme) {
  PlannedExperiment planned;
  planned.type = "demo";
  planned.path = "experiments[0]";
  const auto lines = lines_of(summary_with(2, planned));
  ASSERT_GE(lines.size(), 6u);
  EXPECT_EQ(lines[1].rfind("== demo (experiments[0], ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("scheme", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("long_metric_name_1"), std::string::npos);
  EXPECT_NE(lines[3].find("[ms]"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[4].rfind("a ", 0), 0u) << lines[4];
  EXPECT_NE(lines[4].find("1.5"), std::string::npos) << lines[4];
  EXPECT_EQ(lines[5].rfind("b (unsupported)", 0), 0u) << lines[5];
  EXPECT_NE(lines[5].find("1.25"), std::string::npos) << lines[5];
  EXPECT_EQ(lines.back(), "  note: b: why b is unsupported");
}

TEST(ConsoleSummary, WideTableIsTransposedWithTheSameCells) {
  PlannedExperiment planned;
  planned.type = "demo";
  planned.path = "experiments[0]";
  const int n = 12;  // 12 columns of ~18 characters: wider than 160
  const auto lines = lines_of(summary_with(n, planned));
  ASSERT_EQ(lines.size(), size_t(2 + 1 + n + 1));  // blank, title, header, n metrics, note
  EXPECT_EQ(lines[2].rfind("metric", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("b (unsupported)"), std::string::npos) << lines[2];
  for (int k = 0; k < n; ++k) {
    const std::string& l = lines[size_t(3 + k)];
    SCOPED_TRACE(l);
    EXPECT_EQ(l.rfind("long_metric_name_" + std::to_string(k) + " ", 0), 0u);
    std::istringstream cells(l);
    std::string name, unit_or_a, a, b;
    cells >> name;
    if (k == 0) {
      cells >> unit_or_a;
      EXPECT_EQ(unit_or_a, "[ms]");
    }
    cells >> a >> b;
    EXPECT_DOUBLE_EQ(std::stod(a), k + 0.5);
    EXPECT_DOUBLE_EQ(std::stod(b), k + 0.25);
    for (const auto& line : lines) EXPECT_LE(line.size(), 160u);
  }
  EXPECT_EQ(lines.back(), "  note: b: why b is unsupported");
}

TEST(ConsoleSummary, TablesBelowTheSummaryShowTheirColumnHeaders) {
  PlannedExperiment planned;
  planned.type = "demo";
  planned.path = "experiments[0]";
  RunOutput run;
  ExperimentRun e;
  e.planned = &planned;
  EncoderOutcome o;
  o.label = "a";
  o.metrics.push_back({"m", 32768, "positions"});  // an integer prints as one
  e.result.outcomes.push_back(o);
  e.result.summary_title = "values at n = 32768";
  ConsoleTable t;
  t.title = "unseen pairs [pairs]";
  t.columns = {"L_ref", "n=8192", "n=16384"};
  t.rows = {"rope-10k", "linear-x4"};
  t.cells = {{4096, 18, 18}, {4096, 0, NAN}};
  t.notes = {"n=8192: linear-x4 < rope-10k"};
  e.result.tables.push_back(t);
  run.experiments.push_back(std::move(e));
  const auto lines = lines_of(format_summary(run));
  ASSERT_EQ(lines.size(), 12u) << format_summary(run);
  EXPECT_EQ(lines[2], "values at n = 32768");
  EXPECT_EQ(lines[3].rfind("scheme", 0), 0u) << lines[3];
  EXPECT_NE(lines[5].find("32768"), std::string::npos) << lines[5];
  EXPECT_EQ(lines[6], "");
  EXPECT_EQ(lines[7], "unseen pairs [pairs]");
  EXPECT_EQ(lines[8], "  scheme     L_ref  n=8192  n=16384");
  EXPECT_EQ(lines[9], "  rope-10k    4096      18       18");
  EXPECT_EQ(lines[10], "  linear-x4   4096       0        -");
  EXPECT_EQ(lines[11], "  n=8192: linear-x4 < rope-10k");
}

TEST(ConsoleSummary, HeaderNamesWhereTheValueIsTaken) {
  // Metric::at ("r=4096", "n=8192") joins the header as name@at; a metric without stays bare.
  PlannedExperiment planned;
  planned.type = "demo";
  planned.path = "experiments[0]";
  RunOutput run;
  ExperimentRun e;
  e.planned = &planned;
  EncoderOutcome o;
  o.label = "a";
  o.metrics.push_back({"mean_abs_logit", 1.5, "logit", "r=4096"});
  o.metrics.push_back({"pairs", 64, "1"});
  e.result.outcomes.push_back(o);
  run.experiments.push_back(std::move(e));
  const auto lines = lines_of(format_summary(run));
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[2], "scheme  mean_abs_logit@r=4096  pairs") << format_summary(run);
}

}  // namespace
}  // namespace posbench
