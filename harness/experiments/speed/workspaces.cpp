// Workspaces: table, apply, materialize_bias, attention (with the scheme-free baseline), the
// bandwidth probes, and an operation paired with the probe measured next to it.
#include "harness/experiments/speed/workspaces.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "encoders/rng.h"
#include "harness/kernels/bfloat16.h"
#include "harness/kernels/buffer.h"
#include "harness/kernels/ops.h"
#include "harness/kernels/simd.h"

namespace posbench::speed {
namespace {

using kernels::bfloat16;
using kernels::Buffer;
using kernels::from_double;
using kernels::Impl;
using kernels::widen;

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
      case Family::rotary:
        setup_rotary(s);
        break;
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
  // q and k [seq, heads, head_dim]; caches [q cos, q sin, k cos, k sin, then the same four for
  // R^-1], each [seq, d'/2].
  void setup_rotary(const Setup& s) {
    const Shape& sh = s.shape;
    n_ = sh.seq * sh.heads * sh.head_dim;
    x_ = random_buffer<T>(n_, s.seed, "q", s.huge);
    k_ = random_buffer<T>(n_, s.seed, "k", s.huge);
    rd_ = s.enc->rotary_dims(sh.head_dim);
    pairing_ = s.enc->rotary_pairing();
    const int64_t c = sh.seq * (rd_ / 2);
    caches_ = Buffer(size_t(8 * c) * sizeof(T), s.huge);
    T* p = caches_.as<T>();
    kernels::RotaryTable<T>(*s.enc, sh.seq, sh.head_dim, Role::query)
        .run(Impl::reference, s.max_threads, p, p + c);
    kernels::RotaryTable<T>(*s.enc, sh.seq, sh.head_dim, Role::key)
        .run(Impl::reference, s.max_threads, p + 2 * c, p + 3 * c);
    for (int64_t r = 0; r < 2; ++r)  // R^-1: (cos, -sin) / (cos^2 + sin^2)
      for (int64_t i = 0; i < c; ++i) {
        const double cc = widen(p[2 * r * c + i]), ss = widen(p[(2 * r + 1) * c + i]);
        const double m2 = cc * cc + ss * ss;
        p[(4 + 2 * r) * c + i] = from_double<T>(cc / m2);
        p[(5 + 2 * r) * c + i] = from_double<T>(-ss / m2);
      }
    cache_ = c;
  }

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

}  // namespace

template <class T>
std::unique_ptr<Workspace> make_workspace(const Group& g, const Config& config,
                                          const std::vector<EncoderInstance>& encoders,
                                          uint64_t seed) {
  if (is_probe(g.op)) return std::make_unique<ProbeWorkspace>(g.probe_bytes, config.huge_pages);
  const Encoder* enc = g.encoder >= 0 ? encoders[size_t(g.encoder)].encoder.get() : nullptr;
  const Setup setup{enc,
                    config.shapes[size_t(g.shape)],
                    config.max_threads(),
                    seed,
                    config.huge_pages,
                    config.min_threads()};
  std::unique_ptr<Workspace> op;
  switch (g.op) {
    case Op::table:
      op = std::make_unique<TableWorkspace<T>>(setup);
      break;
    case Op::apply:
      op = std::make_unique<ApplyWorkspace<T>>(setup);
      break;
    case Op::materialize_bias:
      op = std::make_unique<MaterializeWorkspace<T>>(setup);
      break;
    default:
      op = make_attention_workspace<T>(setup);
      break;
  }
  if (g.probe_bytes == 0) return op;
  return std::make_unique<PairedWorkspace>(std::move(op), g.probe_bytes, config.huge_pages);
}

template std::unique_ptr<Workspace> make_workspace<float>(const Group&, const Config&,
                                                          const std::vector<EncoderInstance>&,
                                                          uint64_t);
template std::unique_ptr<Workspace> make_workspace<double>(const Group&, const Config&,
                                                           const std::vector<EncoderInstance>&,
                                                           uint64_t);
template std::unique_ptr<Workspace> make_workspace<bfloat16>(const Group&, const Config&,
                                                             const std::vector<EncoderInstance>&,
                                                             uint64_t);

}  // namespace posbench::speed
