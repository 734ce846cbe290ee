// speed — what each scheme costs on the operations a model runs, next to this machine's own
// memory bandwidth measured in the same run.
//
// One Google Benchmark is registered per (encoder, operation, shape, threads, implementation)
// with benchmark::RegisterBenchmark and run by benchmark::RunSpecifiedBenchmarks; a custom
// reporter collects every repetition into the results (median / mean / stddev / CV of time,
// GB/s, ns per element, fraction of the bandwidth probe) and forwards the runs to Google
// Benchmark's JSONReporter, whose file is written beside the results
// (<results>.<experiment index>.gbench.json).
//
// Operations (per family; others are reported as not applicable):
//   table            additive: PE [seq, dim];  rotary: cos/sin cache [seq, d'/2] each.
//                    Compared with the fill probe, but arithmetic-bound.
//   apply            additive: x += PE (x, PE [seq, dim]);  rotary: q and k [seq, heads,
//                    head_dim] rotated in place with a precomputed cos/sin cache;  bias: logits
//                    [heads, seq, seq] += b.  Memory-bound: compared with the in-place probe.
//                    In-place iterations alternate the operation and its inverse (R then R^-1,
//                    +PE then -PE, +b then -b) so the data stay bounded; both cost the same.
//   materialize_bias b [heads, seq, seq] written to a buffer. Compared with the fill probe.
//   attention        one causal attention head group (harness/kernels/ops.h AttentionOp);
//                    bias schemes also run `attention_fused` (the bias computed inside the
//                    logits loop, never materialised). With `attention_baseline`, attention
//                    without any scheme is measured once per shape so each scheme's share of
//                    the attention time is reported.
// Shapes: {"seq", "heads", "head_dim"} or {"seq", "dim"} (= 1 head of width dim). Additive
// schemes use dim = heads * head_dim; bias schemes use heads and seq.
//
// Bandwidth probes (in-place a = s - a, copy, fill; float32, the widest SIMD, OpenMP): every
// operation with a working set (table, apply, materialize_bias) is measured next to its own probe
// of the same kind at the same size and thread count, and `probe_mib` gives all three kinds as
// the machine's reference.
//
// Why "next to": on a shared virtual machine the bandwidth (in particular how much of a working
// set stays in the shared L3) drifts by 2x over a minute, so a probe measured at another time is
// no yardstick. Each group of benchmarks sharing data (one operation of one scheme at one shape,
// all thread counts and implementations, plus its probes) runs in `repetitions` rounds, one
// Google Benchmark session each: every benchmark of the group runs once per round, in a random
// order (--benchmark_enable_random_interleaving), so each repetition of an operation has one of
// its probe's within the same round, seconds away. (One session with all repetitions randomly
// interleaved put all five repetitions of an operation before all five of its probe's in one
// run here, 6 to 21 s apart.) The first round finds the iteration count for min_time; later
// rounds run that count.
//
// Every buffer is allocated and pre-faulted (every page written) once per group, outside the
// timing loops, and reused by every iteration; groups run one after another and free their
// memory. Inputs are a seeded block of 65537 uniform(-1, 1) values
// (posbench::Rng) tiled over each buffer.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "encoders/experiment.h"
#include "encoders/files.h"
#include "encoders/rng.h"
#include "harness/kernels/bfloat16.h"
#include "harness/kernels/buffer.h"
#include "harness/kernels/ops.h"
#include "harness/kernels/simd.h"

namespace posbench {
namespace {

using kernels::bfloat16;
using kernels::Buffer;
using kernels::from_double;
using kernels::Impl;
using kernels::widen;
using nlohmann::json;

// ---- configuration
// ---------------------------------------------------------------------------------

struct Shape {
  int64_t seq = 0, heads = 1, head_dim = 0;
  bool flat = false;  // given as {seq, dim}
  std::string text() const {
    return flat ? fmt::format("{}x{}", seq, head_dim)
                : fmt::format("{}x{}x{}", seq, heads, head_dim);
  }
  json to_json() const {
    return flat ? json{{"seq", seq}, {"dim", head_dim}}
                : json{{"seq", seq}, {"heads", heads}, {"head_dim", head_dim}};
  }
};

enum class Op {
  table,
  apply,
  materialize_bias,
  attention,
  attention_fused,
  attention_none,
  probe_inplace,
  probe_copy,
  probe_fill
};

const char* op_name(Op op) {
  switch (op) {
    case Op::table:
      return "table";
    case Op::apply:
      return "apply";
    case Op::materialize_bias:
      return "materialize_bias";
    case Op::attention:
      return "attention";
    case Op::attention_fused:
      return "attention_fused";
    case Op::attention_none:
      return "attention_none";
    case Op::probe_inplace:
      return "inplace";
    case Op::probe_copy:
      return "copy";
    case Op::probe_fill:
      return "fill";
  }
  return "?";
}

// Bytes of a probe buffer for a working set: whole cache lines, at least one.
uint64_t probe_size(uint64_t bytes) { return std::max<uint64_t>(64, (bytes + 63) / 64 * 64); }

bool is_probe(Op op) {
  return op == Op::probe_inplace || op == Op::probe_copy || op == Op::probe_fill;
}

const std::vector<std::string> kOperations = {"table", "apply", "materialize_bias", "attention"};
const std::vector<std::string> kImplementations = {"reference", "simd"};

// Operations and implementations in the order given, each once.
std::vector<std::string> unique_in_order(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

// Resolved shapes: {seq, heads, head_dim} or {seq, dim} (the spec admits exactly one form).
std::vector<Shape> shapes_of(const std::vector<Params>& given) {
  std::vector<Shape> out;
  for (const Params& s : given) {
    Shape shape;
    shape.seq = s.integer("seq");
    shape.flat = s.has("dim");
    shape.heads = shape.flat ? 1 : s.integer("heads");
    shape.head_dim = shape.flat ? s.integer("dim") : s.integer("head_dim");
    out.push_back(shape);
  }
  return out;
}

// ---- statistics
// ------------------------------------------------------------------------------------

struct Stats {
  double median = NAN, mean = NAN, stddev = NAN, cv = NAN;
  json to_json(const std::vector<double>& all) const {
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    return {{"median", num(median)},
            {"mean", num(mean)},
            {"stddev", num(stddev)},
            {"cv", num(cv)},
            {"all", all}};
  }
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(n);
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = n > 1 ? std::sqrt(ss / double(n - 1)) : 0.0;
  s.cv = s.mean != 0 ? s.stddev / s.mean : NAN;
  return s;
}

// ---- benchmarks and workspaces
// -------------------------------------------------------------------

struct Bench {
  std::string name;
  int encoder = -1;  // index into the encoders, -1 for probes and the attention baseline
  Op op = Op::table;
  int shape = -1;
  int threads = 1;
  Impl impl = Impl::simd;
  int group = -1;
  double bytes = 0;     // bytes moved per iteration (0: not reported)
  double elements = 0;  // elements produced / updated per iteration
  double flops = 0;     // useful floating-point operations per iteration (attention)
  uint64_t working_set = 0;
  Op probe = Op::table;  // probe_inplace / probe_fill for memory-bound operations
  std::string next_to;   // probes measured next to an operation: that group's name
  bool memory_bound = false;
  // filled while running
  bool warmed = false, checked = false;
  int64_t calls = 0;
  std::vector<double> seconds;      // per reported repetition: seconds per iteration
  std::vector<int64_t> iterations;  // per reported repetition
  // Every call of the benchmark function, in time order (Google Benchmark also calls it while
  // it estimates the iteration count); repetition_times() finds the reported ones among them.
  struct Call {
    double start = 0, end = 0;  // seconds on the steady clock
    int64_t iterations = 0;
  };
  std::vector<Call> call_log;
  std::string error;
  json detail = json::object();
};

double seconds_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// When each reported repetition ran: the mid-time of the call that produced it, or NaN for all
// of them if the calls cannot be told apart. A benchmark runs once per round (see the top of
// this file). In round 1 Google Benchmark 1.7 estimates the iteration count for min_time with
// strictly growing trial counts and reports the last trial; later rounds run that count in one
// call. So the calls with a reported iteration count are the repetitions, one for one, in
// order; anything else (another number of such calls, a call shorter than the time reported for
// it, although its interval wraps the timed loop on the same steady clock) means that
// assumption failed, and no repetition gets a time.
std::vector<double> repetition_times(const Bench& b) {
  std::vector<double> out(b.seconds.size(), NAN);
  std::vector<const Bench::Call*> calls;
  for (const Bench::Call& c : b.call_log)
    if (std::find(b.iterations.begin(), b.iterations.end(), c.iterations) != b.iterations.end())
      calls.push_back(&c);
  if (calls.size() != b.seconds.size()) return out;
  for (size_t j = 0; j < calls.size(); ++j) {
    const double reported = b.seconds[j] * double(b.iterations[j]);
    if (calls[j]->iterations != b.iterations[j] ||
        calls[j]->end - calls[j]->start < reported * (1 - 1e-9) - 1e-6)
      return std::vector<double>(b.seconds.size(), NAN);
  }
  for (size_t j = 0; j < calls.size(); ++j) out[j] = 0.5 * (calls[j]->start + calls[j]->end);
  return out;
}

// The operation's bandwidth as a fraction of its probe's, paired in time: for every repetition
// of the operation, its GB/s over the GB/s of the probe's repetition (same rounds, same thread
// count) that ran nearest in time. Why: on this shared machine the bandwidth at a 128 MiB working
// set drifts over seconds (in one run here, a group's repetitions fell from 5.7 to 4.2 ms in the
// order they ran, the probe's with them), which a neighbouring pair cancels and the ratio of two
// medians does not. The faster noise between repetitions (interquartile range about 20% of the
// median for repetitions of 50 ms) is left to the median. Empty if any repetition lacks its
// time.
std::vector<double> paired_fractions(const Bench& op, const Bench& probe) {
  const std::vector<double> op_at = repetition_times(op), probe_at = repetition_times(probe);
  auto known = [](const std::vector<double>& v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](double t) { return std::isfinite(t); });
  };
  if (!known(op_at) || !known(probe_at)) return {};
  std::vector<double> out;
  for (size_t j = 0; j < op_at.size(); ++j) {
    size_t best = 0;
    for (size_t k = 1; k < probe_at.size(); ++k)
      if (std::abs(probe_at[k] - op_at[j]) < std::abs(probe_at[best] - op_at[j])) best = k;
    out.push_back((op.bytes / op.seconds[j]) / (probe.bytes / probe.seconds[best]));
  }
  return out;
}

class Workspace {
 public:
  virtual ~Workspace() = default;
  virtual void run(Bench& b) = 0;
  virtual void check(Bench&) {}
};

template <class T>
void fill_random(T* p, int64_t n, uint64_t seed, const std::string& stream) {
  Rng rng(seed, "speed/" + stream);
  std::vector<T> block(65537);
  for (auto& v : block) v = from_double<T>(2.0 * rng.uniform() - 1.0);
  for (int64_t i = 0; i < n; ++i) p[i] = block[size_t(i % 65537)];
}

template <class T>
Buffer random_buffer(int64_t n, uint64_t seed, const std::string& stream, bool huge) {
  Buffer b(size_t(n) * sizeof(T), huge);
  fill_random(b.as<T>(), n, seed, stream);
  return b;
}

template <class T>
double max_abs_diff(const T* a, const double* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(widen(a[i])) - b[i]));
  return m;
}

struct Setup {
  const Encoder* enc = nullptr;
  Shape shape;
  int max_threads = 1;
  uint64_t seed = 0;
  bool huge = true;
  int min_threads = 1;  // the fewest threads any run uses (attention's comparison run)
};

// table: additive PE or rotary cos/sin cache, checked against the scheme's float64 values.
template <class T>
class TableWorkspace final : public Workspace {
 public:
  explicit TableWorkspace(const Setup& s) : s_(s) {
    const Shape& sh = s.shape;
    if (s.enc->family() == Family::additive) {
      const int64_t dim = sh.heads * sh.head_dim;
      additive_ = std::make_unique<kernels::AdditiveTable<T>>(*s.enc, sh.seq, dim);
      n_ = sh.seq * dim;
      out_ = Buffer(size_t(n_) * sizeof(T), s.huge);
      ref_ = Buffer(size_t(n_) * sizeof(double), s.huge);
      std::vector<int64_t> pos(size_t(sh.seq));
      std::iota(pos.begin(), pos.end(), int64_t(0));
      s.enc->additive_table(pos, dim, ref_.as<double>());
    } else {
      rotary_ = std::make_unique<kernels::RotaryTable<T>>(*s.enc, sh.seq, sh.head_dim, Role::query);
      n_ = sh.seq * rotary_->pairs();
      out_ = Buffer(size_t(2 * n_) * sizeof(T), s.huge);
      ref_ = Buffer(size_t(2 * n_) * sizeof(double), s.huge);
      std::vector<int64_t> pos(size_t(sh.seq));
      std::iota(pos.begin(), pos.end(), int64_t(0));
      s.enc->rotary_coefficients(pos, sh.head_dim, RotaryContext{Role::query, sh.seq},
                                 ref_.as<double>(), ref_.as<double>() + n_);
      n_ *= 2;
    }
  }
  void run(Bench& b) override {
    if (additive_)
      additive_->run(b.impl, b.threads, out_.as<T>());
    else
      rotary_->run(b.impl, b.threads, out_.as<T>(), out_.as<T>() + n_ / 2);
  }
  void check(Bench& b) override {
    b.detail["method"] = additive_ ? additive_->method() : rotary_->method();
    b.detail["closed_form"] = additive_ ? additive_->closed_form() : rotary_->closed_form();
    b.detail["max_abs_error_vs_float64"] = max_abs_diff(out_.as<T>(), ref_.as<double>(), n_);
  }

 private:
  Setup s_;
  std::unique_ptr<kernels::AdditiveTable<T>> additive_;
  std::unique_ptr<kernels::RotaryTable<T>> rotary_;
  int64_t n_ = 0;
  Buffer out_, ref_;
};

// apply: x += PE, rotate q and k in place, or logits += bias.
template <class T>
class ApplyWorkspace final : public Workspace {
 public:
  explicit ApplyWorkspace(const Setup& s) : s_(s) {
    const Shape& sh = s.shape;
    switch (s.enc->family()) {
      case Family::additive: {
        n_ = sh.seq * sh.heads * sh.head_dim;
        x_ = random_buffer<T>(n_, s.seed, "x", s.huge);
        pe_ = Buffer(size_t(n_) * sizeof(T), s.huge);
        kernels::AdditiveTable<T>(*s.enc, sh.seq, sh.heads * sh.head_dim)
            .run(Impl::reference, s.max_threads, pe_.as<T>());
        break;
      }
      case Family::rotary: {
        n_ = sh.seq * sh.heads * sh.head_dim;
        x_ = random_buffer<T>(n_, s.seed, "q", s.huge);
        k_ = random_buffer<T>(n_, s.seed, "k", s.huge);
        rd_ = s.enc->rotary_dims(sh.head_dim);
        pairing_ = s.enc->rotary_pairing();
        const int64_t c = sh.seq * (rd_ / 2);
        // [q cos, q sin, k cos, k sin, then the same four for R^-1]
        caches_ = Buffer(size_t(8 * c) * sizeof(T), s.huge);
        T* p = caches_.as<T>();
        kernels::RotaryTable<T>(*s.enc, sh.seq, sh.head_dim, Role::query)
            .run(Impl::reference, s.max_threads, p, p + c);
        kernels::RotaryTable<T>(*s.enc, sh.seq, sh.head_dim, Role::key)
            .run(Impl::reference, s.max_threads, p + 2 * c, p + 3 * c);
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t i = 0; i < c; ++i) {
            const double cc = widen(p[2 * r * c + i]), ss = widen(p[(2 * r + 1) * c + i]);
            const double m2 = cc * cc + ss * ss;
            p[(4 + 2 * r) * c + i] = from_double<T>(cc / m2);
            p[(5 + 2 * r) * c + i] = from_double<T>(-ss / m2);
          }
        cache_ = c;
        break;
      }
      case Family::bias: {
        n_ = sh.heads * sh.seq * sh.seq;
        x_ = random_buffer<T>(n_, s.seed, "logits", s.huge);
        bias_ = std::make_unique<kernels::BiasOp<T>>(*s.enc, sh.seq, sh.heads, s.max_threads);
        break;
      }
    }
  }
  void run(Bench& b) override {
    const bool inverse = (b.calls++ % 2) == 1;
    const Shape& sh = s_.shape;
    switch (s_.enc->family()) {
      case Family::additive:
        kernels::axpy(b.impl, b.threads, x_.as<T>(), x_.as<T>(), pe_.as<T>(), n_,
                      from_double<T>(inverse ? -1.0 : 1.0));
        break;
      case Family::rotary: {
        const T* p = caches_.as<T>() + (inverse ? 4 * cache_ : 0);
        kernels::rotate(b.impl, b.threads, x_.as<T>(), x_.as<T>(), sh.seq, sh.heads, sh.head_dim,
                        rd_, pairing_, p, p + cache_);
        kernels::rotate(b.impl, b.threads, k_.as<T>(), k_.as<T>(), sh.seq, sh.heads, sh.head_dim,
                        rd_, pairing_, p + 2 * cache_, p + 3 * cache_);
        break;
      }
      case Family::bias:
        bias_->add(b.impl, b.threads, x_.as<T>(), from_double<T>(inverse ? -1.0 : 1.0));
        break;
    }
  }
  void check(Bench& b) override {
    if (bias_) b.detail["method"] = bias_->method(b.impl);
    if (s_.enc->family() == Family::rotary)
      b.detail["method"] = "rotation with a precomputed [seq, d'/2] cos/sin cache per role";
    if (s_.enc->family() == Family::additive) b.detail["method"] = "x += PE, PE precomputed";
  }

 private:
  Setup s_;
  int64_t n_ = 0, rd_ = 0, cache_ = 0;
  RotaryPairing pairing_ = RotaryPairing::half;
  Buffer x_, k_, pe_, caches_;
  std::unique_ptr<kernels::BiasOp<T>> bias_;
};

// materialize_bias: b [heads, seq, seq]; a few rows are checked against the scheme's float64.
template <class T>
class MaterializeWorkspace final : public Workspace {
 public:
  explicit MaterializeWorkspace(const Setup& s) : s_(s) {
    const Shape& sh = s.shape;
    out_ = Buffer(size_t(sh.heads * sh.seq * sh.seq) * sizeof(T), s.huge);
    bias_ = std::make_unique<kernels::BiasOp<T>>(*s.enc, sh.seq, sh.heads, s.max_threads);
  }
  void run(Bench& b) override { bias_->materialize(b.impl, b.threads, out_.as<T>()); }
  void check(Bench& b) override {
    const Shape& sh = s_.shape;
    const int64_t n = sh.seq;
    std::vector<int64_t> keys(static_cast<size_t>(n));
    std::iota(keys.begin(), keys.end(), int64_t(0));
    double err = 0;
    std::vector<double> row(size_t(sh.heads * n));
    for (int64_t i : {int64_t(0), n / 2, n - 1}) {
      const std::vector<int64_t> q{i};
      s_.enc->bias(q, keys, sh.heads, row.data());
      for (int64_t h = 0; h < sh.heads; ++h)
        err = std::max(err, max_abs_diff(out_.as<T>() + (h * n + i) * n, row.data() + h * n, n));
    }
    b.detail["method"] = bias_->method(b.impl);
    b.detail["max_abs_error_vs_float64_rows_0_mid_last"] = err;
  }

 private:
  Setup s_;
  Buffer out_;
  std::unique_ptr<kernels::BiasOp<T>> bias_;
};

// attention (materialised and fused variants) or the scheme-free baseline.
template <class T>
class AttentionWorkspace final : public Workspace {
 public:
  explicit AttentionWorkspace(const Setup& s) : s_(s) {
    const Shape& sh = s.shape;
    n_ = sh.seq * sh.heads * sh.head_dim;
    q_ = random_buffer<T>(n_, s.seed, "q", s.huge);
    k_ = random_buffer<T>(n_, s.seed, "k", s.huge);
    v_ = random_buffer<T>(n_, s.seed, "v", s.huge);
    out_ = Buffer(size_t(n_) * sizeof(T), s.huge);
    if (s.enc && s.enc->family() == Family::bias)
      bias_ = Buffer(size_t(sh.heads * sh.seq * sh.seq) * sizeof(T), s.huge);
    op_ = std::make_unique<kernels::AttentionOp<T>>(s.enc, sh.seq, sh.heads, sh.head_dim,
                                                    s.max_threads);
  }
  void run(Bench& b) override {
    op_->run(b.impl, b.threads, b.op == Op::attention_fused, q_.as<T>(), k_.as<T>(), v_.as<T>(),
             out_.as<T>(), bias_.as<T>());
  }
  // Every variant (materialised, fused) and thread count of one implementation must give the
  // same output: each run is compared with the materialised run at the fewest threads of the
  // same implementation (max |difference| / max |that output|). That run is computed here, outside
  // the timing, because interleaved repetitions run the benchmarks in random order.
  void check(Bench& b) override {
    const bool fused = b.op == Op::attention_fused;
    b.detail["method"] = op_->method(b.impl, fused);
    if (!fused && b.threads == s_.min_threads) return;  // it is the comparison run
    const int k = b.impl == Impl::simd ? 1 : 0;
    if (first_[k].empty()) {
      first_[k] = Buffer(size_t(n_) * sizeof(T), s_.huge);
      op_->run(b.impl, s_.min_threads, false, q_.as<T>(), k_.as<T>(), v_.as<T>(), first_[k].as<T>(),
               bias_.as<T>());
    }
    double diff = 0, scale = 0;
    const T* a = out_.as<T>();
    const T* f = first_[k].as<T>();
    for (int64_t i = 0; i < n_; ++i) {
      diff = std::max(diff, std::abs(double(a[i]) - double(f[i])));
      scale = std::max(scale, std::abs(double(f[i])));
    }
    b.detail["compared_with"] =
        fmt::format("threads:{}/{}{}", s_.min_threads, kernels::to_string(b.impl),
                    s_.enc && s_.enc->family() == Family::bias ? " (materialised)" : "");
    b.detail["max_abs_diff"] = diff;
    b.detail["max_rel_diff"] = scale > 0 ? diff / scale : diff;
  }

 private:
  Setup s_;
  int64_t n_ = 0;
  Buffer q_, k_, v_, out_, bias_;
  Buffer first_[2];
  std::unique_ptr<kernels::AttentionOp<T>> op_;
};

template <class T>
std::unique_ptr<Workspace> make_attention_workspace(const Setup& s) {
  if constexpr (std::is_same_v<T, bfloat16>)
    throw std::logic_error("attention is not offered for bfloat16 storage");
  else
    return std::make_unique<AttentionWorkspace<T>>(s);
}

// Bandwidth probes over one buffer of `bytes` (copy: first half to second half).
class ProbeWorkspace final : public Workspace {
 public:
  ProbeWorkspace(uint64_t bytes, bool huge) : buf_(size_t(bytes), huge), n_(int64_t(bytes / 4)) {
    fill_random(buf_.as<float>(), n_, 0, "probe");
  }
  void run(Bench& b) override {
    kernels::ProbeArgs a;
    a.threads = b.threads;
    a.a = buf_.as<float>();
    a.n = n_;
    if (b.op == Op::probe_inplace) {
      a.kind = kernels::ProbeKind::inplace;
    } else if (b.op == Op::probe_fill) {
      a.kind = kernels::ProbeKind::fill;
      a.s = float(b.calls++ % 2) + 1.0f;
    } else {
      a.kind = kernels::ProbeKind::copy;
      a.n = n_ / 2;
      a.src = buf_.as<float>();
      a.a = buf_.as<float>() + n_ / 2;
    }
    kernels::simd_probe(a);
  }

 private:
  Buffer buf_;
  int64_t n_;
};

// An operation's workspace plus the probe buffer measured next to it (same size).
class PairedWorkspace final : public Workspace {
 public:
  PairedWorkspace(std::unique_ptr<Workspace> op, uint64_t probe_bytes, bool huge)
      : op_(std::move(op)), probe_(probe_bytes, huge) {}
  void run(Bench& b) override {
    if (is_probe(b.op))
      probe_.run(b);
    else
      op_->run(b);
  }
  void check(Bench& b) override {
    if (!is_probe(b.op)) op_->check(b);
  }

 private:
  std::unique_ptr<Workspace> op_;
  ProbeWorkspace probe_;
};

// ---- the Google Benchmark session ---------------------------------------------------------------

// Collects every repetition into the Bench records and, with `keep_json`, forwards the runs to
// Google Benchmark's JSONReporter (its own JSON, written beside the results): one reporter per
// session, merged into one document (the first session's context, every session's benchmarks).
class Collector final : public benchmark::BenchmarkReporter {
 public:
  Collector(std::vector<Bench>& benches, bool keep_json) : benches_(benches), keep_(keep_json) {
    for (size_t i = 0; i < benches.size(); ++i) index_[benches[i].name] = i;
  }
  void begin_session() {
    if (!keep_) return;
    session_text_.str("");
    json_ = std::make_unique<benchmark::JSONReporter>();
    json_->SetOutputStream(&session_text_);
    json_->SetErrorStream(&std::cerr);
  }
  void end_session() {
    if (!json_) return;
    json_.reset();
    json doc = json::parse(session_text_.str(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      gbench_["unparsed_sessions"].push_back(session_text_.str());
      return;
    }
    if (!gbench_.contains("context")) gbench_["context"] = doc["context"];
    if (!gbench_.contains("benchmarks")) gbench_["benchmarks"] = json::array();
    for (auto& r : doc["benchmarks"]) gbench_["benchmarks"].push_back(std::move(r));
  }
  const json& gbench_json() const { return gbench_; }
  bool ReportContext(const Context& context) override {
    const auto& cpu = context.cpu_info;
    cpu_ = {{"num_cpus", cpu.num_cpus},
            {"mhz_per_cpu", cpu.cycles_per_second / 1e6},
            {"cpu_scaling", cpu.scaling == benchmark::CPUInfo::ENABLED    ? "enabled"
                            : cpu.scaling == benchmark::CPUInfo::DISABLED ? "disabled"
                                                                          : "unknown"},
            {"load_avg", cpu.load_avg}};
    json caches = json::array();
    for (const auto& c : cpu.caches)
      caches.push_back(
          {{"type", c.type}, {"level", c.level}, {"size", c.size}, {"num_sharing", c.num_sharing}});
    cpu_["caches"] = caches;
    return json_ ? json_->ReportContext(context) : true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      auto it = index_.find(r.run_name.function_name);
      if (it == index_.end()) continue;
      Bench& b = benches_[it->second];
      if (r.error_occurred) {
        if (b.error.empty()) b.error = r.error_message;
        continue;
      }
      b.seconds.push_back(r.real_accumulated_time / double(std::max<int64_t>(1, r.iterations)));
      b.iterations.push_back(r.iterations);
    }
    if (json_) json_->ReportRuns(runs);
  }
  // One line per benchmark of a group, once all its rounds have run.
  void print(const std::vector<size_t>& members) const {
    for (size_t i : members) {
      const Bench& b = benches_[i];
      if (!b.error.empty())
        fmt::print(stderr, "speed: {}: error: {}\n", b.name, b.error);
      else
        fmt::print(stderr, "speed: {}: median {:.4g} ms over {} repetitions\n", b.name,
                   stats_of(b.seconds).median * 1e3, b.seconds.size());
    }
  }
  void Finalize() override {
    if (json_) json_->Finalize();
  }
  const json& cpu() const { return cpu_; }

 private:
  std::vector<Bench>& benches_;
  bool keep_;
  std::map<std::string, size_t> index_;
  std::ostringstream session_text_;
  std::unique_ptr<benchmark::JSONReporter> json_;
  json gbench_ = json::object();
  json cpu_ = json::object();
};

void initialize_google_benchmark() {
  static bool done = false;
  if (done) return;
  // Google Benchmark reads its flags from argv; posbench passes none of its own, but
  // Initialize also records the executable name its JSON reporter prints.
  // Random interleaving: see the comment at the top of this file.
  static char arg0[] = "posbench";
  static char arg1[] = "--benchmark_enable_random_interleaving=true";
  static char* argv[] = {arg0, arg1, nullptr};
  int argc = 2;
  benchmark::Initialize(&argc, argv);
  done = true;
}

// ---- the experiment
// --------------------------------------------------------------------------------

class Speed final : public Experiment {
 public:
  explicit Speed(const Params& p)
      : operations_(unique_in_order(p.strings("operations"))),
        shapes_(shapes_of(p.objects("shapes"))),
        dtype_(p.string("dtype")),
        min_time_(p.number("min_time")),
        repetitions_(int(p.integer("repetitions"))),
        probe_bytes_(uint64_t(p.integer("probe_mib")) << 20),
        huge_pages_(p.boolean("huge_pages")),
        attention_baseline_(p.boolean("attention_baseline")) {
    for (const auto& name : unique_in_order(p.strings("implementations")))
      impls_.push_back(name == "simd" ? Impl::simd : Impl::reference);
    for (int64_t t : p.integers("threads")) threads_.push_back(int(t));
    std::sort(threads_.begin(), threads_.end());
    threads_.erase(std::unique(threads_.begin(), threads_.end()), threads_.end());
    for (const Shape& s : shapes_)
      if (s.heads * s.seq * s.seq > (int64_t(1) << 36) ||
          s.seq * s.heads * s.head_dim > (int64_t(1) << 36))
        throw UserError("shapes", "shape " + s.text() + " is too large (more than 2^36 elements)");
  }

  void check(const EncoderInstance& enc) const override {
    for (const Shape& s : shapes_) {
      switch (enc.family) {
        case Family::additive:
          enc.encoder->check_shape(s.heads * s.head_dim, s.heads);
          break;
        case Family::rotary:
          enc.encoder->check_shape(s.head_dim, s.heads);
          break;
        case Family::bias:
          enc.encoder->check_shape(s.head_dim, s.heads);
          break;
      }
    }
  }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    if (dtype_ == "float64") return peak_bytes<double>(&enc);
    if (dtype_ == "bfloat16") return peak_bytes<bfloat16>(&enc);
    return peak_bytes<float>(&enc);
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    return run_all({enc}, ctx).outcomes.at(0);
  }

  ExperimentResult run_all(const std::vector<EncoderInstance>& encoders,
                           const RunContext& ctx) const override {
    if (dtype_ == "float64") return run_typed<double>(encoders, ctx);
    if (dtype_ == "bfloat16") return run_typed<bfloat16>(encoders, ctx);
    return run_typed<float>(encoders, ctx);
  }

 private:
  // Operations of `operations` that apply to a family (in the order given).
  std::vector<Op> ops_for(Family family) const {
    std::vector<Op> out;
    for (const auto& name : operations_) {
      if (name == "table" && family != Family::bias) out.push_back(Op::table);
      if (name == "apply") out.push_back(Op::apply);
      if (name == "materialize_bias" && family == Family::bias) out.push_back(Op::materialize_bias);
      if (name == "attention" && attention_supported())
        out.push_back(Op::attention);  // + attention_fused for bias
    }
    return out;
  }

  std::vector<std::string> not_applicable(Family family) const {
    std::vector<std::string> out;
    for (const auto& name : operations_) {
      if (name == "table" && family == Family::bias)
        out.push_back("table: a bias scheme has no table (see materialize_bias)");
      if (name == "materialize_bias" && family != Family::bias)
        out.push_back("materialize_bias: only bias schemes have a bias");
      if (name == "attention" && !attention_supported())
        out.push_back(
            "attention: not implemented for bfloat16 storage (the attention kernels "
            "store logits and outputs in float32 or float64); use dtype float32");
    }
    return out;
  }

  // bfloat16 storage covers table, apply and materialize_bias (harness/kernels/bfloat16.h).
  bool attention_supported() const { return dtype_ != "bfloat16"; }

  // Bytes alive at once for one group of benchmarks (mirrors the workspaces above; Buffer
  // pages are rounded up, hence the slack).
  template <class T>
  uint64_t group_bytes(const Encoder* enc, Op op, const Shape& sh) const {
    // Slack for what is not a Buffer: Eigen's GEMM packing, position vectors, page rounding.
    const uint64_t s = sizeof(T), slack = uint64_t(16) << 20;
    const int mt = threads_.back();
    const uint64_t qkv = uint64_t(sh.seq) * uint64_t(sh.heads) * uint64_t(sh.head_dim);
    const uint64_t nn = uint64_t(sh.heads) * uint64_t(sh.seq) * uint64_t(sh.seq);
    if (op == Op::attention || op == Op::attention_fused || op == Op::attention_none) {
      if constexpr (std::is_same_v<T, bfloat16>) {
        return 0;  // not offered (attention_supported)
      } else {
        // q, k, v, out and one comparison output per implementation (AttentionWorkspace).
        uint64_t b = (4 + impls_.size()) * qkv * s +
                     kernels::AttentionOp<T>::scratch_bytes(enc, sh.seq, sh.heads, sh.head_dim, mt);
        if (enc && enc->family() == Family::bias) b += nn * s;
        return b + slack;
      }
    }
    switch (enc->family()) {
      case Family::additive: {
        const int64_t dim = sh.heads * sh.head_dim;
        const uint64_t scratch = kernels::AdditiveTable<T>::scratch_bytes(*enc, sh.seq, dim);
        if (op == Op::table) return qkv * (s + 8) + scratch + slack;
        return 2 * qkv * s + scratch + slack;
      }
      case Family::rotary: {
        const uint64_t c = uint64_t(sh.seq) * uint64_t(enc->rotary_dims(sh.head_dim) / 2);
        const uint64_t scratch = kernels::RotaryTable<T>::scratch_bytes(*enc, sh.seq, sh.head_dim);
        if (op == Op::table) return 2 * c * (s + 8) + scratch + slack;
        return 2 * qkv * s + 8 * c * s + scratch + slack;
      }
      case Family::bias:
        return nn * s + kernels::BiasOp<T>::scratch_bytes(*enc, sh.seq, sh.heads, mt) + slack;
    }
    return slack;
  }

  // Working set of a memory-bound operation (what its bandwidth probe is sized to).
  template <class T>
  static uint64_t working_set(const Encoder& enc, Op op, const Shape& sh) {
    const uint64_t s = sizeof(T);
    const uint64_t qkv = uint64_t(sh.seq) * uint64_t(sh.heads) * uint64_t(sh.head_dim);
    const uint64_t nn = uint64_t(sh.heads) * uint64_t(sh.seq) * uint64_t(sh.seq);
    switch (op) {
      case Op::table:
        return enc.family() == Family::additive
                   ? qkv * s
                   : 2 * uint64_t(sh.seq) * uint64_t(enc.rotary_dims(sh.head_dim) / 2) * s;
      case Op::apply:
        if (enc.family() == Family::additive) return 2 * qkv * s;
        if (enc.family() == Family::rotary)
          return 2 * uint64_t(sh.seq) * uint64_t(sh.heads) *
                 uint64_t(enc.rotary_dims(sh.head_dim)) * s;
        return nn * s;
      case Op::materialize_bias:
        return nn * s;
      default:
        return 0;
    }
  }

  template <class T>
  uint64_t peak_bytes(const EncoderInstance* enc) const {
    uint64_t peak = probe_bytes_;
    for (const Shape& sh : shapes_) {
      if (attention_baseline_ &&
          std::find(operations_.begin(), operations_.end(), "attention") != operations_.end())
        peak = std::max(peak, group_bytes<T>(nullptr, Op::attention_none, sh));
      if (!enc) continue;
      for (Op op : ops_for(enc->family)) {  // the group's buffers + the probe next to it
        const uint64_t ws = working_set<T>(*enc->encoder, op, sh);
        peak = std::max(peak,
                        group_bytes<T>(enc->encoder.get(), op, sh) + (ws > 0 ? probe_size(ws) : 0));
      }
    }
    return peak;
  }

  template <class T>
  ExperimentResult run_typed(const std::vector<EncoderInstance>& encoders,
                             const RunContext& ctx) const {
    initialize_google_benchmark();
    benchmark::ClearRegisteredBenchmarks();
    const int saved_dynamic = omp_get_dynamic();
    omp_set_dynamic(0);  // OpenMP must give exactly the threads asked for
    Buffer::reset_peak();
    const uint64_t live_before = Buffer::live_bytes();

    std::vector<Bench> benches;
    std::vector<std::function<std::unique_ptr<Workspace>()>> groups;
    const int max_threads = threads_.back();
    const std::string isa = kernels::simd_isa();
    // Probe benchmarks of one kind per thread count, in group g.
    auto add_probes = [&](int g, Op kind, uint64_t bytes, const std::string& next_to) {
      for (int t : threads_) {
        Bench b;
        b.name = fmt::format("probe/{}/{}B/threads:{}{}", op_name(kind), bytes, t,
                             next_to.empty() ? "" : "/next_to:" + next_to);
        b.op = kind;
        b.threads = t;
        b.group = g;
        b.working_set = bytes;
        b.bytes = kind == Op::probe_inplace ? 2.0 * double(bytes) : double(bytes);
        b.elements = double(bytes / 4);
        b.memory_bound = true;
        b.next_to = next_to;
        benches.push_back(b);
      }
    };

    {  // the machine's reference: all three kinds at probe_mib
      const uint64_t bytes = probe_size(probe_bytes_);
      const bool huge = huge_pages_;
      groups.push_back([bytes, huge] { return std::make_unique<ProbeWorkspace>(bytes, huge); });
      for (Op kind : {Op::probe_inplace, Op::probe_copy, Op::probe_fill})
        add_probes(int(groups.size()) - 1, kind, bytes, "");
    }

    const bool want_attention =
        attention_supported() &&
        std::find(operations_.begin(), operations_.end(), "attention") != operations_.end();
    if (want_attention && attention_baseline_)
      for (size_t si = 0; si < shapes_.size(); ++si) {
        const int g = int(groups.size());
        Setup setup{nullptr, shapes_[si], max_threads, ctx.seed, huge_pages_, threads_.front()};
        groups.push_back([setup] { return make_attention_workspace<T>(setup); });
        for (int t : threads_)
          for (Impl impl : impls_) {
            Bench b;
            b.name = fmt::format("baseline/attention_none/{}/threads:{}/{}", shapes_[si].text(), t,
                                 kernels::to_string(impl));
            b.op = Op::attention_none;
            b.shape = int(si);
            b.threads = t;
            b.impl = impl;
            b.group = g;
            const Shape& sh = shapes_[si];
            b.elements = double(sh.heads) * double(sh.seq) * double(sh.seq + 1) / 2;
            b.flops = 4.0 * double(sh.head_dim) * b.elements;
            benches.push_back(b);
          }
      }

    for (size_t e = 0; e < encoders.size(); ++e) {
      const EncoderInstance& enc = encoders[e];
      for (Op op : ops_for(enc.family))
        for (size_t si = 0; si < shapes_.size(); ++si) {
          const Shape& sh = shapes_[si];
          const bool memory_bound = op == Op::apply || op == Op::materialize_bias;
          const uint64_t ws = working_set<T>(*enc.encoder, op, sh);
          const Op probe_kind = op == Op::apply ? Op::probe_inplace : Op::probe_fill;
          {
            Setup setup{enc.encoder.get(), sh,          max_threads,
                        ctx.seed,          huge_pages_, threads_.front()};
            std::function<std::unique_ptr<Workspace>()> make;
            switch (op) {
              case Op::table:
                make = [setup] { return std::make_unique<TableWorkspace<T>>(setup); };
                break;
              case Op::apply:
                make = [setup] { return std::make_unique<ApplyWorkspace<T>>(setup); };
                break;
              case Op::materialize_bias:
                make = [setup] { return std::make_unique<MaterializeWorkspace<T>>(setup); };
                break;
              default:
                make = [setup] { return make_attention_workspace<T>(setup); };
                break;
            }
            if (ws > 0) {
              const uint64_t bytes = probe_size(ws);
              const bool huge = huge_pages_;
              groups.push_back([make, bytes, huge] {
                return std::make_unique<PairedWorkspace>(make(), bytes, huge);
              });
              add_probes(int(groups.size()) - 1, probe_kind, bytes,
                         fmt::format("{}/{}/{}", enc.label, op_name(op), sh.text()));
            } else {
              groups.push_back(make);
            }
          }
          const int g = int(groups.size()) - 1;
          const double s = sizeof(T);
          const double qkv = double(sh.seq) * double(sh.heads) * double(sh.head_dim);
          const double nn = double(sh.heads) * double(sh.seq) * double(sh.seq);
          // Bias schemes time the fused variant in the same group (same data; the outputs of
          // all benchmarks of a group are compared).
          std::vector<Op> variants{op};
          if (op == Op::attention && enc.family == Family::bias)
            variants.push_back(Op::attention_fused);
          for (int t : threads_)
            for (Impl impl : impls_)
              for (Op variant : variants) {
                Bench b;
                b.name = fmt::format("{}/{}/{}/threads:{}/{}", enc.label, op_name(variant),
                                     sh.text(), t, kernels::to_string(impl));
                b.encoder = int(e);
                b.op = variant;
                b.shape = int(si);
                b.threads = t;
                b.impl = impl;
                b.group = g;
                b.memory_bound = memory_bound;
                b.working_set = ws > 0 ? probe_size(ws) : 0;
                b.probe = probe_kind;
                switch (op) {
                  case Op::table:
                    b.elements = double(ws) / s;
                    b.bytes = double(ws);
                    break;
                  case Op::apply:
                    if (enc.family == Family::additive) {
                      b.elements = qkv;
                      b.bytes = 3 * qkv * s;
                    } else if (enc.family == Family::rotary) {
                      b.elements = 2 * double(sh.seq) * double(sh.heads) *
                                   double(enc.encoder->rotary_dims(sh.head_dim));
                      b.bytes = 2 * b.elements * s;
                    } else {
                      b.elements = nn;
                      b.bytes = 2 * nn * s;
                    }
                    break;
                  case Op::materialize_bias:
                    b.elements = nn;
                    b.bytes = nn * s;
                    break;
                  default:
                    b.elements = double(sh.heads) * double(sh.seq) * double(sh.seq + 1) / 2;
                    b.flops = 4.0 * double(sh.head_dim) * b.elements;
                    break;
                }
                benches.push_back(b);
              }
        }
    }

    // One Google Benchmark session per group (see the top of this file): the group's buffers are
    // created before its session and freed after it, so only one group's memory is alive.
    std::unique_ptr<Workspace> workspace;
    // round 0 lets Google Benchmark find the iteration count for min_time; later rounds run
    // that count (no estimation calls).
    auto register_bench = [&](size_t i, int round) {
      auto fn = [&, i](benchmark::State& st) {
        Bench& b = benches[i];
        try {
          if (!b.warmed) {
            workspace->run(b);  // warm-up, outside timing; also surfaces a scheme's errors
            b.warmed = true;
          }
        } catch (const std::exception& ex) {
          b.error = ex.what();
          st.SkipWithError(b.error.c_str());
          return;
        }
        const auto start = std::chrono::steady_clock::now();
        for (auto _ : st) workspace->run(b);
        const auto end = std::chrono::steady_clock::now();
        b.call_log.push_back({seconds_of(start), seconds_of(end), int64_t(st.iterations())});
        // (No zero counters: Google Benchmark's CV of a zero counter is NaN, which its JSON
        // reporter writes as an invalid literal.)
        if (b.bytes > 0) st.SetBytesProcessed(int64_t(double(st.iterations()) * b.bytes));
        st.SetItemsProcessed(int64_t(double(st.iterations()) * b.elements));
        st.counters["threads"] = b.threads;
        if (!b.checked) {
          b.checked = true;
          try {
            workspace->check(b);
          } catch (const std::exception& ex) {
            b.detail["check_error"] = ex.what();
          }
        }
      };
      auto* bench = benchmark::RegisterBenchmark(benches[i].name.c_str(), fn);
      bench->UseRealTime()->Repetitions(1)->Unit(benchmark::kMillisecond);
      if (round == 0 || benches[i].iterations.empty())
        bench->MinTime(min_time_);
      else
        bench->Iterations(benches[i].iterations.front());
    };
    Collector collector(benches, !ctx.artifact_prefix.empty());
    for (size_t g = 0; g < groups.size(); ++g) {
      benchmark::ClearRegisteredBenchmarks();
      std::vector<size_t> members;
      for (size_t i = 0; i < benches.size(); ++i)
        if (benches[i].group == int(g)) members.push_back(i);
      if (members.empty()) continue;
      try {
        workspace = groups[g]();
      } catch (const std::exception& ex) {  // e.g. a scheme refusing the shape
        for (size_t i : members) {
          Bench& b = benches[i];
          b.error =
              is_probe(b.op) && !b.next_to.empty()
                  ? fmt::format("not run: the workspace of {} failed: {}", b.next_to, ex.what())
                  : ex.what();
          fmt::print(stderr, "speed: {}: error: {}\n", b.name, b.error);
        }
        continue;
      }
      // Rounds (see the top of this file): every benchmark of the group runs once per round,
      // in a random order, so each repetition of an operation has its probe's within seconds.
      for (int round = 0; round < repetitions_; ++round) {
        benchmark::ClearRegisteredBenchmarks();
        int registered = 0;
        for (size_t i : members)
          if (benches[i].error.empty()) {
            register_bench(i, round);
            ++registered;
          }
        if (registered == 0) break;
        collector.begin_session();
        benchmark::RunSpecifiedBenchmarks(&collector);
        collector.end_session();
      }
      collector.print(members);
      workspace.reset();
    }
    std::string gbench_path;
    if (!ctx.artifact_prefix.empty()) {
      gbench_path = ctx.artifact_prefix + ".gbench.json";
      try {  // whole or not at all, like the results file
        write_file_atomically(gbench_path, collector.gbench_json().dump(2) + "\n");
      } catch (const std::exception& ex) {
        fmt::print(stderr, "speed: Google Benchmark JSON not written: {}\n", ex.what());
        gbench_path.clear();
      }
    }
    benchmark::ClearRegisteredBenchmarks();
    omp_set_dynamic(saved_dynamic);
    const uint64_t peak = Buffer::peak_bytes() - live_before;

    return assemble<T>(encoders, benches, collector, isa, gbench_path, peak);
  }

  template <class T>
  ExperimentResult assemble(const std::vector<EncoderInstance>& encoders,
                            const std::vector<Bench>& benches, const Collector& collector,
                            const std::string& isa, const std::string& gbench_path,
                            uint64_t peak) const {
    // Lookups: the reference probes (at probe_mib) by (kind, threads); medians by key.
    std::map<std::pair<int, int>, const Bench*> fixed_probes;
    for (const Bench& b : benches)
      if (is_probe(b.op) && b.next_to.empty()) fixed_probes[{int(b.op), b.threads}] = &b;
    auto probe_next_to = [&](const Bench& like) -> const Bench* {
      for (const Bench& o : benches)
        if (is_probe(o.op) && o.group == like.group && o.op == like.probe &&
            o.threads == like.threads)
          return &o;
      return nullptr;
    };
    auto median = [](const Bench& b) { return stats_of(b.seconds).median; };
    auto find = [&](const Bench& like, int threads, Impl impl, Op op) -> const Bench* {
      for (const Bench& o : benches)
        if (o.encoder == like.encoder && o.op == op && o.shape == like.shape &&
            o.threads == threads && o.impl == impl && !o.seconds.empty())
          return &o;
      return nullptr;
    };
    // Repetition times (time_s.at) count from the experiment's first benchmark call.
    double epoch = INFINITY;
    for (const Bench& b : benches)
      for (const Bench::Call& c : b.call_log) epoch = std::min(epoch, c.start);
    auto record = [&](const Bench& b) {
      json r = {{"name", b.name},
                {"operation", op_name(b.op)},
                {"threads", b.threads},
                {"dtype", b.encoder < 0 && b.op != Op::attention_none ? "float32" : dtype_},
                {"repetitions", b.seconds.size()},
                {"iterations", b.iterations}};
      if (!is_probe(b.op)) {
        r["implementation"] = kernels::to_string(b.impl);
        r["isa"] =
            b.impl == Impl::simd ? isa : "baseline x86-64 (plain loops, compiler-vectorised)";
        r["shape"] = shapes_[size_t(b.shape)].to_json();
      } else {
        r["isa"] = isa;
        r["working_set_bytes"] = b.working_set;
        if (!b.next_to.empty()) r["measured_next_to"] = b.next_to;
      }
      if (!b.error.empty()) {
        r["error"] = b.error;
        return r;
      }
      const Stats t = stats_of(b.seconds);
      r["time_s"] = t.to_json(b.seconds);
      {
        json at = json::array();
        for (double w : repetition_times(b))
          at.push_back(std::isfinite(w) ? json(w - epoch) : json(nullptr));
        r["time_s"]["at"] = at;  // mid-time of each repetition (null: unknown)
      }
      r["elements"] = b.elements;
      r["ns_per_element"] = t.median * 1e9 / b.elements;
      if (b.bytes > 0) {
        std::vector<double> gbs;
        for (double sec : b.seconds) gbs.push_back(b.bytes / sec / 1e9);
        r["bytes_per_iteration"] = b.bytes;
        r["gb_per_s"] = stats_of(gbs).to_json(gbs);
      }
      if (b.flops > 0) r["gflop_per_s"] = b.flops / t.median / 1e9;
      if (b.encoder >= 0 && b.working_set > 0) {
        r["bound"] = b.memory_bound ? "memory" : "arithmetic";
        const double gbs = b.bytes / t.median / 1e9;
        auto versus = [&](const std::string& key, const Bench* p) {
          if (!p || p->seconds.empty()) return;
          const double pg = p->bytes / median(*p) / 1e9;
          r["probe" + key] = {{"name", p->name},
                              {"kind", op_name(b.probe)},
                              {"bytes", p->working_set},
                              {"gb_per_s", pg}};
          r["fraction_of_probe" + key] = gbs / pg;
        };
        const Bench* next = probe_next_to(b);
        versus("", next);
        // Measured in the same rounds: the time-paired fraction is the headline figure, and
        // the ratio of the two medians stays beside it (and stands in, said so, if the
        // repetitions' times are unknown).
        if (next && !next->seconds.empty()) {
          r["fraction_of_probe_of_medians"] = r["fraction_of_probe"];
          const std::vector<double> paired = paired_fractions(b, *next);
          if (!paired.empty()) {
            const Stats ps = stats_of(paired);
            r["fraction_of_probe"] = ps.median;
            r["fraction_of_probe_paired"] = ps.to_json(paired);
            r["fraction_of_probe_method"] = "median of time-paired repetitions";
          } else {
            r["fraction_of_probe_method"] =
                "ratio of medians (the repetitions' times are unknown, so none were paired)";
          }
        }
        const auto fixed = fixed_probes.find({int(b.probe), b.threads});
        versus("_fixed", fixed == fixed_probes.end() ? nullptr : fixed->second);
      }
      if (b.threads != threads_.front()) {
        const Bench* one = nullptr;
        for (const Bench& o : benches)
          if (o.group == b.group && o.encoder == b.encoder && o.op == b.op && o.shape == b.shape &&
              o.working_set == b.working_set && o.threads == threads_.front() && o.impl == b.impl &&
              !o.seconds.empty())
            one = &o;
        if (one)
          r[fmt::format("speedup_vs_{}_thread{}", threads_.front(),
                        threads_.front() == 1 ? "" : "s")] = median(*one) / t.median;
      }
      if (b.encoder >= 0) {
        if (b.impl == Impl::simd)
          if (const Bench* ref = find(b, b.threads, Impl::reference, b.op))
            r["speedup_vs_reference"] = median(*ref) / t.median;
        if (b.op == Op::attention_fused)
          if (const Bench* mat = find(b, b.threads, b.impl, Op::attention))
            r["speedup_vs_materialized"] = median(*mat) / t.median;
        if ((b.op == Op::attention || b.op == Op::attention_fused) && attention_baseline_) {
          for (const Bench& o : benches)
            if (o.op == Op::attention_none && o.shape == b.shape && o.threads == b.threads &&
                o.impl == b.impl && !o.seconds.empty()) {
              r["attention_without_scheme_s"] = median(o);
              r["scheme_share_of_attention"] = 1.0 - median(o) / t.median;
            }
        }
      }
      for (auto it = b.detail.begin(); it != b.detail.end(); ++it) r[it.key()] = it.value();
      return r;
    };

    ExperimentResult result;
    for (size_t e = 0; e < encoders.size(); ++e) {
      const EncoderInstance& enc = encoders[e];
      EncoderOutcome out;
      out.label = enc.label;
      json records = json::array();
      std::vector<std::string> errors;
      std::map<std::string, Curve> curves;
      const bool many_shapes = shapes_.size() > 1;
      for (const Bench& b : benches) {
        if (b.encoder != int(e)) continue;
        json r = record(b);
        records.push_back(r);
        if (!b.error.empty()) {
          errors.push_back(b.name + ": " + b.error);
          continue;
        }
        const std::string base =
            fmt::format("{}_{}_t{}{}", op_name(b.op), kernels::to_string(b.impl), b.threads,
                        many_shapes ? "_" + shapes_[size_t(b.shape)].text() : "");
        out.metrics.push_back(
            {base + "_median_ms", r["time_s"]["median"].get<double>() * 1e3, "ms"});
        if (r.contains("gb_per_s"))
          out.metrics.push_back(
              {base + "_gb_per_s", r["gb_per_s"]["median"].get<double>(), "GB/s"});
        if (r.contains("gflop_per_s"))
          out.metrics.push_back({base + "_gflop_per_s", r["gflop_per_s"].get<double>(), "GFLOP/s"});
        if (r.contains("fraction_of_probe"))
          out.metrics.push_back(
              {base + "_fraction_of_probe", r["fraction_of_probe"].get<double>(), "1"});
        if (r.contains("max_abs_error_vs_float64"))
          out.metrics.push_back(
              {base + "_max_abs_error", r["max_abs_error_vs_float64"].get<double>(), "1"});
        const std::string cname = fmt::format("{}_{}_{}", op_name(b.op), kernels::to_string(b.impl),
                                              shapes_[size_t(b.shape)].text());
        const bool flops = r.contains("gflop_per_s");
        Curve& c = curves[cname];
        if (c.name.empty())
          c = {cname + (flops ? "_gflop_per_s" : "_gb_per_s"),
               "threads",
               "threads",
               flops ? "GFLOP/s" : "GB/s",
               {},
               {}};
        c.x.push_back(b.threads);
        c.y.push_back(flops ? r["gflop_per_s"].get<double>()
                            : r["gb_per_s"]["median"].get<double>());
      }
      for (auto& [name, c] : curves) out.curves.push_back(c);
      // The console shows times, fractions of the probe for memory-bound operations and the
      // simd tables' errors (everything else is in the results file).
      for (const Metric& m : out.metrics) {
        const bool shown =
            m.name.ends_with("_median_ms") ||
            (m.name.ends_with("_fraction_of_probe") && !m.name.starts_with("table")) ||
            (m.name.ends_with("_max_abs_error") && m.name.find("_simd_") != std::string::npos);
        if (shown && std::find(result.summary_columns.begin(), result.summary_columns.end(),
                               m.name) == result.summary_columns.end())
          result.summary_columns.push_back(m.name);
      }
      const auto na = not_applicable(enc.family);
      out.extra = {{"benchmarks", records}, {"not_applicable", na}};
      if (records.empty()) {
        out.status = Status::not_applicable;
        out.note = "none of the operations " + show(json(operations_)) + " applies to a " +
                   std::string(to_string(enc.family)) + " scheme with dtype " + dtype_;
        for (size_t k = 0; k < na.size(); ++k) out.note += (k == 0 ? ": " : "; ") + na[k];
      } else if (!errors.empty()) {
        out.status = Status::unsupported;
        out.note = errors.front() +
                   (errors.size() > 1 ? fmt::format(" (and {} more)", errors.size() - 1) : "");
      }
      result.outcomes.push_back(std::move(out));
    }

    json probe_records = json::array(), baseline = json::array();
    for (const Bench& b : benches) {
      if (b.encoder >= 0) continue;
      (b.op == Op::attention_none ? baseline : probe_records).push_back(record(b));
    }
    const auto avail = xsimd::available_architectures();
    json machine = collector.cpu();
    machine["simd_isa_dispatched"] = isa;
    machine["xsimd_available"] = {{"sse2", bool(avail.sse2)},
                                  {"sse4_2", bool(avail.sse4_2)},
                                  {"avx", bool(avail.avx)},
                                  {"avx2", bool(avail.avx2)},
                                  {"fma3_avx2", bool(avail.fma3_avx2)},
                                  {"avx512f", bool(avail.avx512f)},
                                  {"avx512bw", bool(avail.avx512bw)}};
    machine["hardware_threads"] = std::thread::hardware_concurrency();
    machine["omp_num_procs"] = omp_get_num_procs();
    machine["transparent_hugepage"] = kernels::transparent_hugepage_mode();
    result.extra = {
        {"machine", machine},
        {"dtype", dtype_},
        {"threads", threads_},
        {"probes", probe_records},
        {"attention_baseline", baseline},
        {"google_benchmark_json", gbench_path.empty() ? json(nullptr) : json(gbench_path)},
        {"peak_buffer_bytes", peak},
        {"memory_bytes_estimate",
         [&] {
           uint64_t m = peak_bytes<T>(nullptr);
           for (const auto& enc : encoders) m = std::max(m, peak_bytes<T>(&enc));
           return m;
         }()},
        {"methods",
         {{"timing", "Google Benchmark, real (wall) time per iteration, min_time " +
                         fmt::format("{}", min_time_) + " s, " + std::to_string(repetitions_) +
                         " repetitions; statistics over the repetitions; each group of "
                         "benchmarks sharing data (an operation with all its thread counts and "
                         "implementations, and its probe) runs in rounds, one Google Benchmark "
                         "session per round, each benchmark once per round in random order "
                         "(Google Benchmark shuffles with std::random_device: the order is not "
                         "reproducible, the statistics do not depend on it); round 1 finds the "
                         "iteration count for min_time, later rounds run that count"},
          {"probes",
           "float32, widest SIMD, OpenMP over 256 KiB chunks; in place a = s - a and copy "
           "prefetch 8 KiB ahead like the memory-bound kernels; fill writes only"},
          {"buffers",
           "allocated once per group of benchmarks sharing data, every page written before the "
           "first measurement (pre-faulted), reused by every iteration; nothing is allocated "
           "inside a timing loop" +
               std::string(huge_pages_ ? "; advised MADV_HUGEPAGE (transparent huge pages)" : "")},
          {"sin_cos",
           "simd tables: angles p * inv_freq in float64, reduced to [-pi, pi] in float64 "
           "(2 pi split hi + lo), then vectorised xsimd::sincos in the dtype; reference tables: "
           "std::sin / std::cos (float64 libm) of the float64 angle"},
          {"threads",
           "OpenMP over rows with num_threads(t) exactly (omp_set_dynamic(0)); Eigen "
           "GEMMs inside attention are single-threaded"},
          {"in_place",
           "in-place apply iterations alternate the operation and its inverse so data stay "
           "bounded; both cost the same"},
          {"inputs",
           "a seeded block of 65537 uniform(-1, 1) values (posbench::Rng) tiled over "
           "each buffer"},
          {"fraction_of_probe",
           "GB/s of the operation / GB/s of the probe of the same kind (in place for apply, "
           "fill for materialize_bias and table) at the operation's working-set size and the "
           "same thread count, measured in the same rounds (each runs every benchmark of the "
           "group once, in random order) "
           "(probe.name): the median over the operation's repetitions of its GB/s over the GB/s "
           "of the probe repetition nearest in time (fraction_of_probe_paired has them all; "
           "fraction_of_probe_method says if the times were unknown and none were paired); "
           "fraction_of_probe_of_medians: the ratio of the two medians; _fixed: the reference "
           "probe at probe_mib, measured at the start of the experiment (ratio of medians)"}}},
    };
    return result;
  }

  std::vector<std::string> operations_;
  std::vector<Shape> shapes_;
  std::string dtype_;
  double min_time_;
  int repetitions_;
  uint64_t probe_bytes_;
  bool huge_pages_;
  bool attention_baseline_;
  std::vector<Impl> impls_;
  std::vector<int> threads_;
};

const ExperimentRegistration kRegistration{
    {
        .name = "speed",
        .description = "cost of each scheme's operations (Google Benchmark, xsimd, OpenMP) next to "
                       "this machine's memory bandwidth",
        .params =
            {
                ParamSpec::list_of("operations", ParamSpec::choice("", "", kOperations, ""),
                                   kOperations,
                                   "operations to time: table, apply, materialize_bias, attention "
                                   "(attention also times the fused variant for bias schemes)")
                    .non_empty(),
                ParamSpec::list_of(
                    "shapes",
                    ParamSpec::object_of(
                        "",
                        {ParamSpec::integer("seq", nullptr, "sequence length")
                             .at_least(1)
                             .mandatory(),
                         ParamSpec::integer("heads", nullptr, "attention heads").at_least(1),
                         ParamSpec::integer("head_dim", nullptr, "width of a head").at_least(1),
                         ParamSpec::integer("dim", nullptr, "width of one head (= 1 head)")
                             .at_least(1)},
                        nullptr, "")
                        .exactly_one_of({{"heads", "head_dim"}, {"dim"}}),
                    json::array({{{"seq", 1024}, {"heads", 8}, {"head_dim", 64}}}),
                    "list of {seq, heads, head_dim} or {seq, dim}")
                    .non_empty(),
                ParamSpec::
                    list_of("threads",
                            ParamSpec::integer("", nullptr, "").at_least(1).at_most(1024), {1},
                            "OpenMP thread counts, each honoured exactly")
                        .non_empty(),
                ParamSpec::
                    choice("dtype", "float32", {"float32", "float64", "bfloat16"},
                           "storage type; bfloat16: stored in bfloat16, computed in float32, "
                           "rounded once (table, apply, materialize_bias; not attention)"),
                ParamSpec::
                    list_of("implementations", ParamSpec::choice("", "", kImplementations, ""),
                            kImplementations,
                            "reference (plain scalar loops) and/or simd (xsimd, runtime "
                            "dispatch)")
                        .non_empty(),
                ParamSpec::
                    number("min_time", 0.25,
                           "Google Benchmark minimum time per repetition, seconds")
                        .above(0)
                        .at_most(600),
                ParamSpec::
                    integer("repetitions", 5, "repetitions per benchmark (statistics over them)")
                        .at_least(1)
                        .at_most(1000),
                ParamSpec::
                    integer("probe_mib", 256,
                            "size of the fixed bandwidth probe, MiB (besides each operation's "
                            "working-set size)")
                        .at_least(1)
                        .at_most(1 << 20),
                ParamSpec::
                    boolean("huge_pages", true,
                            "advise MADV_HUGEPAGE on benchmark buffers (faster pre-fault, no "
                            "TLB misses)"),
                ParamSpec::
                    boolean("attention_baseline", true,
                            "also time attention without any scheme, for each scheme's share"),
            },
        .factory = [](const Params& p) { return std::make_unique<Speed>(p); },
    }};

}  // namespace
}  // namespace posbench
