#include "harness/run/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

namespace posbench {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Lines longer than a terminal wrap, and "\r" then rewrites only the last row.
constexpr size_t kTerminalWidth = 100;

}  // namespace

Progress::Progress(size_t total, size_t done)
    : Progress(total, done, isatty(STDERR_FILENO) == 1, 10.0, steady_seconds,
               [](const std::string& s) {
                 std::fputs(s.c_str(), stderr);
                 std::fflush(stderr);
               }) {}

Progress::Progress(size_t total, size_t done, bool terminal, double interval_s, Clock clock,
                   Sink sink)
    : total_(total),
      done_(done),
      terminal_(terminal),
      interval_s_(interval_s),
      clock_(std::move(clock)),
      sink_(std::move(sink)) {
  start_ = last_ = clock_();
}

std::string Progress::clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string Progress::line(size_t done, size_t total, double elapsed_s, double left_s,
                           const std::string& what) {
  const double pct = total ? 100.0 * double(done) / double(total) : 100.0;
  return fmt::format("[{}/{}] {:.0f}% {} elapsed, ~{} left{}{}", done, total, pct,
                     clock_text(elapsed_s), clock_text(left_s), what.empty() ? "" : ": ", what);
}

void Progress::show(bool force) {
  const double now = clock_();
  if (!terminal_ && !force && now - last_ < interval_s_) return;
  last_ = now;
  const double elapsed = now - start_;
  const double left = done_here_ ? elapsed / double(done_here_) * double(total_ - done_)
                                 : std::numeric_limits<double>::quiet_NaN();
  std::string text = line(done_, total_, elapsed, left, what_);
  if (terminal_) {
    if (text.size() > kTerminalWidth) text = text.substr(0, kTerminalWidth - 3) + "...";
    sink_("\r" + text + "\033[K");
    shown_ = true;
  } else {
    sink_("posbench: " + text + "\n");
  }
}

void Progress::begin(const std::string& what) {
  what_ = what;
  show(false);
}

void Progress::finish() {
  ++done_;
  ++done_here_;
  if (terminal_) show(false);
}

void Progress::close() {
  if (terminal_ && shown_) sink_("\r\033[K");
  shown_ = false;
}

}  // namespace posbench
