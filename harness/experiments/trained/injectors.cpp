// Position injectors of trained_extrapolation (see model.h): frozen schemes through the Encoder
// interface, and the trainable counterparts of learned, t5, kerple and fire, each initialised from
// what the scheme itself computes or draws (tests/harness/experiments/trained/model_test.cpp
// checks each against the scheme's own output at initialisation).
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "encoders/rng.h"
#include "encoders/t5_bucket.h"
#include "harness/experiments/trained/model.h"

namespace posbench::trained {

using torch::Tensor;
namespace idx = torch::indexing;

Positions Positions::contiguous(int64_t length) {
  Positions p;
  p.rows.emplace_back(size_t(length));
  for (int64_t t = 0; t < length; ++t) p.rows[0][size_t(t)] = t;
  return p;
}

Tensor Positions::tensor() const {
  const int64_t R = int64_t(rows.size()), T = length();
  Tensor out = torch::empty({R, T}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t t = 0; t < T; ++t) a[r][t] = rows[size_t(r)][size_t(t)];
  return out;
}

Tensor PositionInjector::table(const Positions&) { throw std::logic_error("not additive"); }
std::pair<Tensor, Tensor> PositionInjector::rotary(const Positions&, Role) {
  throw std::logic_error("not rotary");
}
Tensor PositionInjector::bias(const Positions&) { throw std::logic_error("not bias"); }

Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin, RotaryPairing pairing) {
  const int64_t p = cos.size(-1), hd = x.size(-1);
  const Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);  // [R, 1, T, p]
  const Tensor rest = x.narrow(-1, 2 * p, hd - 2 * p);
  if (pairing == RotaryPairing::half) {
    const Tensor x1 = x.narrow(-1, 0, p), x2 = x.narrow(-1, p, p);
    return torch::cat({x1 * c - x2 * s, x1 * s + x2 * c, rest}, -1);
  }
  auto shape = x.sizes().vec();
  shape.back() = p;
  shape.push_back(2);
  const Tensor xr = x.narrow(-1, 0, 2 * p).reshape(shape);  // [..., p, 2]
  const Tensor x1 = xr.select(-1, 0), x2 = xr.select(-1, 1);
  return torch::cat({torch::stack({x1 * c - x2 * s, x1 * s + x2 * c}, -1).flatten(-2), rest}, -1);
}

namespace {

// A float64 buffer [sizes] as a tensor of the model's dtype (a copy).
Tensor to_tensor(std::vector<double>& v, std::vector<int64_t> sizes, torch::Dtype dtype) {
  return torch::from_blob(v.data(), sizes, torch::kDouble).to(dtype).clone();
}

// A tensor that depends on the positions alone (no parameter), kept for single-row positions
// (contiguous 0..T-1, one entry per length) so a training step does not rebuild it; rebuilt for
// every call with one row per example (randomized positions differ at every step).
class RowCache {
 public:
  template <class F>
  const Tensor& get(const Positions& pos, F make) {
    if (pos.rows.size() != 1) return last_ = make();
    Tensor& slot = cache_[pos.rows[0]];
    if (!slot.defined()) slot = make();
    return slot;
  }

 private:
  std::map<std::vector<int64_t>, Tensor> cache_;
  Tensor last_;
};

// ---- frozen: every value from the Encoder, cached per length when rows are shared -----------
class Frozen final : public PositionInjector {
 public:
  Frozen(std::shared_ptr<const Encoder> enc, bool nope, int64_t d_model, int64_t heads,
         torch::Dtype dtype)
      : enc_(std::move(enc)), nope_(nope), d_(d_model), heads_(heads), dtype_(dtype) {
    if (enc_->family() == Family::rotary) {
      rot_dims_ = enc_->rotary_dims(d_ / heads_);
      pairing_ = enc_->rotary_pairing();
    }
  }
  Family family() const override { return enc_->family(); }
  bool trainable() const override { return false; }
  bool is_nope() const override { return nope_; }
  int64_t rotary_dims() const override { return rot_dims_; }
  RotaryPairing pairing() const override { return pairing_; }

  Tensor table(const Positions& pos) override {
    return cached(pos, 0, [&](const std::vector<int64_t>& row) {
      std::vector<double> buf(row.size() * size_t(d_));
      enc_->additive_table(row, d_, buf.data());
      return to_tensor(buf, {int64_t(row.size()), d_}, dtype_);
    });
  }

  std::pair<Tensor, Tensor> rotary(const Positions& pos, Role role) override {
    const int64_t half = rot_dims_ / 2, key = role == Role::query ? 1 : 3;
    auto one = [&](const std::vector<int64_t>& row, bool want_cos) {
      std::vector<double> c(row.size() * size_t(half)), s(c.size());
      enc_->rotary_coefficients(row, d_ / heads_, {role, int64_t(row.size())}, c.data(), s.data());
      return to_tensor(want_cos ? c : s, {int64_t(row.size()), half}, dtype_);
    };
    return {cached(pos, key, [&](const auto& row) { return one(row, true); }),
            cached(pos, key + 1, [&](const auto& row) { return one(row, false); })};
  }

  Tensor bias(const Positions& pos) override {
    return cached(pos, 5, [&](const std::vector<int64_t>& row) {
      const int64_t T = int64_t(row.size());
      std::vector<double> buf(size_t(heads_ * T * T));
      enc_->bias(row, row, heads_, buf.data());
      return to_tensor(buf, {heads_, T, T}, dtype_);
    });
  }

 private:
  // One row's tensor per call of make (stacked to [R, ...]); a single row is cached per
  // (what, length, row contents) so a fixed length is fetched once.
  template <class F>
  Tensor cached(const Positions& pos, int what, F make) {
    if (pos.rows.size() != 1) {
      std::vector<Tensor> parts;
      for (const auto& row : pos.rows) parts.push_back(make(row));
      return torch::stack(parts);
    }
    auto& slot = cache_[{what, pos.rows[0]}];
    if (!slot.defined()) slot = make(pos.rows[0]).unsqueeze(0);
    return slot;
  }

  std::shared_ptr<const Encoder> enc_;
  bool nope_;
  int64_t d_, heads_;
  torch::Dtype dtype_;
  int64_t rot_dims_ = 0;
  RotaryPairing pairing_ = RotaryPairing::half;
  std::map<std::pair<int, std::vector<int64_t>>, Tensor> cache_;
};

// ---- learned: W [max_len, d] trainable, initialised with the scheme's own table ------------
class LearnedTable final : public PositionInjector {
 public:
  LearnedTable(const SchemeRef& s, int64_t d_model, torch::Dtype dtype)
      : max_len_(s.params.at("max_len").get<int64_t>()),
        policy_(s.params.at("out_of_range").get<std::string>()) {
    std::vector<int64_t> rows(static_cast<size_t>(max_len_));
    for (int64_t p = 0; p < max_len_; ++p) rows[size_t(p)] = p;
    std::vector<double> buf(size_t(max_len_ * d_model));
    s.encoder->additive_table(rows, d_model, buf.data());
    w_ = register_parameter("table", to_tensor(buf, {max_len_, d_model}, dtype));
  }
  Family family() const override { return Family::additive; }
  bool trainable() const override { return true; }

  // Per row, exactly the scheme's rule (encoders/learned.cpp): clamp, or interpolate with the
  // row's largest position P setting the scale when P >= max_len.
  Tensor table(const Positions& pos) override {
    const int64_t last = max_len_ - 1;
    std::vector<Tensor> out;
    for (const auto& row : pos.rows) {
      const int64_t largest = row.empty() ? 0 : *std::max_element(row.begin(), row.end());
      for (int64_t p : row)
        if (p < 0 || (p > last && policy_ == "error"))
          throw UnsupportedPosition("learned: position " + std::to_string(p) +
                                    " is outside the table [0, " + std::to_string(max_len_) +
                                    ") (out_of_range = \"error\")");
      Tensor p = torch::tensor(row, torch::kLong);
      if (policy_ != "interpolate" || largest <= last) {
        out.push_back(w_.index_select(0, p.clamp_max(last)));
        continue;
      }
      const Tensor scaled = p.to(torch::kDouble) * double(last) / double(largest);
      const Tensor lo = scaled.floor().to(torch::kLong).clamp_max(last);
      const Tensor hi = (lo + 1).clamp_max(last);
      const Tensor frac = (scaled - lo.to(torch::kDouble)).to(w_.scalar_type()).unsqueeze(1);
      out.push_back(w_.index_select(0, lo) * (1 - frac) + w_.index_select(0, hi) * frac);
    }
    return torch::stack(out);
  }

 private:
  int64_t max_len_;
  std::string policy_;
  Tensor w_;
};

// ---- t5: T [num_buckets, heads] trainable, read back from the scheme's own bias ------------
class T5Table final : public PositionInjector {
 public:
  T5Table(const SchemeRef& s, int64_t heads, torch::Dtype dtype)
      : heads_(heads),
        nb_(s.params.at("num_buckets").get<int64_t>()),
        maxd_(s.params.at("max_distance").get<int64_t>()),
        bidi_(s.params.at("bidirectional").get<bool>()) {
    // b_h(maxd, k) for k in [0, 2 maxd]: every bucket is reached (the last at |rel| = maxd).
    std::vector<int64_t> q = {maxd_}, k(size_t(2 * maxd_ + 1));
    for (int64_t j = 0; j <= 2 * maxd_; ++j) k[size_t(j)] = j;
    std::vector<double> b(size_t(heads * (2 * maxd_ + 1)));
    s.encoder->bias(q, k, heads, b.data());
    std::vector<double> table(size_t(nb_ * heads), 0.0);
    for (int64_t j = 0; j <= 2 * maxd_; ++j) {
      const int64_t bucket = t5_relative_position_bucket(j - maxd_, bidi_, nb_, maxd_);
      for (int64_t h = 0; h < heads; ++h)
        table[size_t(bucket * heads + h)] = b[size_t(h * (2 * maxd_ + 1) + j)];
    }
    t_ = register_parameter("table", to_tensor(table, {nb_, heads}, dtype));
  }
  Family family() const override { return Family::bias; }
  bool trainable() const override { return true; }

  Tensor bias(const Positions& pos) override {
    const int64_t R = int64_t(pos.rows.size()), T = pos.length();
    const Tensor& buckets = buckets_.get(pos, [&] {
      Tensor b = torch::empty({R, T, T}, torch::kLong);
      auto a = b.accessor<int64_t, 3>();
      for (int64_t r = 0; r < R; ++r)
        for (int64_t i = 0; i < T; ++i)
          for (int64_t j = 0; j < T; ++j)
            a[r][i][j] = t5_relative_position_bucket(
                pos.rows[size_t(r)][size_t(j)] - pos.rows[size_t(r)][size_t(i)], bidi_, nb_, maxd_);
      return b.flatten();  // [R * T * T]
    });
    return t_.index_select(0, buckets).view({R, T, T, heads_}).permute({0, 3, 1, 2});
  }

 private:
  int64_t heads_, nb_, maxd_;
  bool bidi_;
  Tensor t_;
  RowCache buckets_;
};

// Pairwise |i - j| [R, T, T] in the model's dtype.
Tensor distances(const Positions& pos, torch::Dtype dtype) {
  const Tensor p = pos.tensor().to(dtype);
  return (p.unsqueeze(2) - p.unsqueeze(1)).abs();
}

// ---- kerple: r1, r2 [heads] trainable, as the scheme sets them (encoders/kerple.cpp) -------
class KerpleParams final : public PositionInjector {
 public:
  KerpleParams(const SchemeRef& s, int64_t heads, torch::Dtype dtype)
      : power_(s.params.at("variant") == "power") {
    const bool ones = s.params.at("init") == "ones";
    const uint64_t seed = s.params.at("seed").get<uint64_t>();
    auto values = [&](const char* name, const char* stream, double scale) {
      if (!s.params.at(name).is_null()) return s.params.at(name).get<std::vector<double>>();
      std::vector<double> v(size_t(heads), 1.0);
      if (ones) return v;
      Rng rng(seed, stream);
      for (auto& x : v) x = std::clamp(scale * rng.uniform(), 0.01, 2.0);
      return v;
    };
    std::vector<double> r1 = values("r1", "kerple/r1", power_ ? 1.0 : 2.0);
    std::vector<double> r2 = values("r2", "kerple/r2", power_ ? 2.0 : 1.0);
    r1_ = register_parameter("r1", to_tensor(r1, {heads}, dtype));
    r2_ = register_parameter("r2", to_tensor(r2, {heads}, dtype));
  }
  Family family() const override { return Family::bias; }
  bool trainable() const override { return true; }

  // The reference code keeps r1, r2 >= eps = 0.01 (and r2 <= 2 for power) during training.
  Tensor bias(const Positions& pos) override {
    const Tensor& d = distances_.get(pos, [&] {
      return distances(pos, r1_.scalar_type()).unsqueeze(1);  // [R, 1, T, T]
    });
    const Tensor r1 = r1_.clamp_min(0.01).view({1, -1, 1, 1});
    const Tensor r2 = (power_ ? r2_.clamp(0.01, 2.0) : r2_.clamp_min(0.01)).view({1, -1, 1, 1});
    return power_ ? -r1 * torch::pow(d, r2) : -r1 * torch::log1p(r2 * d);
  }

 private:
  bool power_;
  Tensor r1_, r2_;
  RowCache distances_;
};

// ---- fire: the MLP, c and L_thr trainable, drawn as the scheme draws them (encoders/fire.cpp)
class FireMlp final : public PositionInjector {
 public:
  FireMlp(const SchemeRef& s, int64_t heads, torch::Dtype dtype) {
    const int64_t hidden = s.params.at("hidden").get<int64_t>();
    Rng rng(s.params.at("seed").get<uint64_t>(), "fire/mlp");
    auto draw = [&](int64_t n, double k) {
      std::vector<double> v(static_cast<size_t>(n));
      for (auto& x : v) x = k * (2.0 * rng.uniform() - 1.0);
      return v;
    };
    const double k2 = 1.0 / std::sqrt(double(hidden));
    auto w1 = draw(hidden, 1.0), b1 = draw(hidden, 1.0);
    auto w2 = draw(heads * hidden, k2), b2 = draw(heads, k2);
    std::vector<double> c = {s.params.at("c").get<double>()};
    std::vector<double> l = {s.params.at("L_thr").get<double>()};
    w1_ = register_parameter("w1", to_tensor(w1, {hidden}, dtype));
    b1_ = register_parameter("b1", to_tensor(b1, {hidden}, dtype));
    w2_ = register_parameter("w2", to_tensor(w2, {heads, hidden}, dtype));
    b2_ = register_parameter("b2", to_tensor(b2, {heads}, dtype));
    c_ = register_parameter("c", to_tensor(c, {}, dtype));
    l_thr_ = register_parameter("L_thr", to_tensor(l, {}, dtype));
  }
  Family family() const override { return Family::bias; }
  bool trainable() const override { return true; }

  // b_h(i, j) = MLP(psi(i - j) / psi(max(i, L_thr)))_h, psi(x) = ln(c |x| + 1); c > 0 and
  // L_thr >= 1 are kept by clamping (the scheme's own parameter ranges).
  Tensor bias(const Positions& pos) override {
    const Tensor c = c_.clamp_min(1e-6);
    const Tensor& qi = query_positions_.get(pos, [&] {
      return pos.tensor().to(w1_.scalar_type()).unsqueeze(2);  // [R, T, 1]
    });
    const Tensor& dist = distances_.get(pos, [&] { return distances(pos, w1_.scalar_type()); });
    const Tensor num = torch::log1p(c * dist);
    const Tensor den = torch::log1p(c * torch::maximum(qi, l_thr_.clamp_min(1.0)));
    const Tensor x = (num / den).unsqueeze(-1);                         // [R, T, T, 1]
    const Tensor act = torch::relu(x * w1_ + b1_);                      // [R, T, T, hidden]
    return torch::matmul(act, w2_.t()).add(b2_).permute({0, 3, 1, 2});  // [R, H, T, T]
  }

 private:
  Tensor w1_, b1_, w2_, b2_, c_, l_thr_;
  RowCache query_positions_, distances_;
};

}  // namespace

std::shared_ptr<PositionInjector> make_injector(const SchemeRef& s, int64_t d_model, int64_t heads,
                                                bool trainable, torch::Dtype dtype) {
  const auto init = [&] {
    return s.params.contains("init") ? s.params["init"].get<std::string>() : "";
  };
  if (trainable) {
    if (s.name == "learned") return std::make_shared<LearnedTable>(s, d_model, dtype);
    if (s.name == "t5") return std::make_shared<T5Table>(s, heads, dtype);
    if (s.name == "kerple") return std::make_shared<KerpleParams>(s, heads, dtype);
    if (s.name == "fire" && init() == "uniform") return std::make_shared<FireMlp>(s, heads, dtype);
  }
  return std::make_shared<Frozen>(s.encoder, s.name == "nope", d_model, heads, dtype);
}

}  // namespace posbench::trained
