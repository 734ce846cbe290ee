#pragma once
// Progress of a long run on stderr: units done / total, the current unit, elapsed time and an
// estimate of the time left. On a terminal one line rewritten in place ("\r", cleared to the
// end); otherwise (a pipe, a Slurm log) a plain line at most every `interval_s` seconds, so a
// short run prints nothing and a long one a line now and then.

#include <functional>
#include <string>

namespace posbench {

class Progress {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic
  using Sink = std::function<void(const std::string&)>;
  // `total` units, `done` of them finished before (a resumed run). Defaults: the steady clock,
  // stderr, terminal = isatty(stderr).
  Progress(size_t total, size_t done);
  Progress(size_t total, size_t done, bool terminal, double interval_s, Clock clock, Sink sink);
  void begin(const std::string& what);  // a unit starts
  void finish();                        // it ended
  void close();                         // ends the in-place line (terminal)

  // "[3/12] 25% 0:12 elapsed, ~0:36 left: <what>"; the estimate is the mean time of the units
  // finished in this process times the units left, "?" before the first.
  static std::string line(size_t done, size_t total, double elapsed_s, double left_s,
                          const std::string& what);
  // "0:07", "12:34", "1:02:03"; "?" for NaN.
  static std::string clock_text(double seconds);

 private:
  void show(bool force);
  size_t total_, done_, done_here_ = 0;
  bool terminal_;
  double interval_s_, start_, last_;
  Clock clock_;
  Sink sink_;
  std::string what_;
  bool shown_ = false;
};

}  // namespace posbench
