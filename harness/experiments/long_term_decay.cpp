// long_term_decay — RoFormer §3.4.3 (Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary
// Position Embedding"): the logit of a rotary scheme at relative distance r is bounded by
//   |sum_i h_i e^{i r theta_i}| <= (max_i |h_{i+1} - h_i|) sum_{j=1}^{d/2} |S_j|,
//   S_j = sum_{k=0}^{j-1} e^{i r theta_k},
// and the paper's figure plots B(r) = (1 / (d/2)) sum_{j=1}^{d/2} |S_j|, which decays (not
// monotonically) with r. For d = 128, base 1e4: B(0) = 32.5, B(16) = 15.78, B(256) = 6.54,
// B(1024) = 4.02.
// For each r in `distances`:
//   rotary : bound B(r) over the d'/2 rotated pairs. e^{i r theta_k} comes from angular_form()
//            when the scheme has one (angle r * inv_freq[k]); otherwise from rotary_coefficients
//            at positions 0 and r (query role): z_k = w_k(r) conj(w_k(0)) / |w_k(r) w_k(0)| with
//            w_k(p) = c_k(p) + i s_k(p) — the phase of the relative rotation, which is
//            c_k(r) + i s_k(r) for plain RoPE and ignores magnitude factors (xPos, YaRN).
//            Empirical: mean over `samples` draws of |s(q, k, a, a + r)| = |(R(a)q).(R(a+r)k)|,
//            q, k ~ N(0, I) [dim] (stream "long_term_decay/content"), q as a query at the fixed
//            anchor a = `anchor` (default 0), k as a key at a + r (seq_len = a + max r + 1).
//   additive, bias : mean over anchors x in [0, positions) of |phi(x, x + r)| (<PE(x), PE(x+r)>,
//            or |b_h(x, x + r)| per head; metrics use the mean over heads). This needs positions
//            up to positions - 1 + max(distances) (a learned table must have that many rows).
// Metrics at r in {0, 16, 256, 1024, max(distances)} that are in `distances`:
//   bound_r<r> (rotary) and mean_abs_phi_r<r> (the empirical value, every family).
// Curves: bound (rotary), mean_abs_phi (per head for bias), x = r.
// Note: with independent q, k ~ N(0, I) the empirical curve does not decay. A rotation maps the
// Gaussian k to a Gaussian, so (R(a)q).(R(a+r)k) has the same distribution for every r, and
// mean |s| stays near E|q.k| ~ sqrt(2 d / pi) = 9.03 for d = 128 (up to sampling noise). The
// decay RoFormer describes is that of the bound, which is tight for content whose per-pair
// products h_i vary slowly with i, not for random content; the curve shows the contrast.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/similarity.h"

namespace posbench {
namespace {

class LongTermDecay final : public Experiment {
 public:
  explicit LongTermDecay(const Params& p) : shape_(p), anchor_(p.integer("anchor")) {
    for (double r : p.numbers("distances")) {
      if (r != std::floor(r) || r < 0)
        throw UserError("distances",
                        "distance " + std::to_string(r) + " is not a non-negative integer");
      if (r > double(int64_t(1) << 40))
        throw UserError("distances",
                        "distance " + std::to_string(r) + " is too large; expected <= 2^40");
      distances_.push_back(int64_t(r));
    }
    if (distances_.empty())
      throw UserError("distances", "is empty; expected at least one distance");
    max_distance_ = *std::max_element(distances_.begin(), distances_.end());
  }

  void check(const EncoderInstance& enc) const override {
    enc.encoder->check_shape(shape_.dim, shape_.heads);
  }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    const CheckedSize R = distances_.size(), D = shape_.dim;
    switch (enc.family) {
      case Family::rotary:
        // coefficients [R + 1, d'/2] x 2 (twice: bound and empirical), content, per-r outputs.
        return ((R + 1) * D * 8 * 2 + CheckedSize(shape_.samples) * D * 8 * 2 + R * 8 * 8)
            .saturated();
      case Family::additive: {
        // PE table over [0, positions + max r) (or the union of positions used), and per-r sums.
        const CheckedSize union_of_ranges = CheckedSize(shape_.positions) * (R + 1);
        const uint64_t rows = std::min((CheckedSize(shape_.positions) + max_distance_).saturated(),
                                       union_of_ranges.saturated());
        return (CheckedSize(rows) * D * 8 + R * 8).saturated();
      }
      case Family::bias:
        // per anchor: b_h(x, x + r) for all heads and r, one buffer per thread (<= 256).
        return (CheckedSize(shape_.heads) * R * 8 * 256 + CheckedSize(shape_.heads) * R * 8)
            .saturated();
    }
    return 0;
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    EncoderOutcome out;
    const char* unit = phi_unit(enc.family);
    std::vector<std::vector<double>> empirical;  // [view][r]
    if (enc.family == Family::rotary) {
      const std::vector<double> bound = rotary_bound(*enc.encoder);
      empirical.push_back(rotary_empirical(*enc.encoder, ctx.seed));
      out.curves.push_back(curve("bound", "1", bound));
      for (int64_t r : key_distances())
        out.metrics.push_back({"bound_r" + std::to_string(r), bound[index_of(r)], "1"});
    } else if (enc.family == Family::additive) {
      empirical.push_back(additive_empirical(*enc.encoder));
    } else {
      empirical = bias_empirical(*enc.encoder);
    }
    // Mean over views (heads) per distance; curves per head for bias.
    std::vector<double> mean(distances_.size(), 0.0);
    for (size_t v = 0; v < empirical.size(); ++v) {
      for (size_t i = 0; i < mean.size(); ++i) mean[i] += empirical[v][i];
      if (enc.family == Family::bias)
        out.curves.push_back(curve("mean_abs_phi_head" + std::to_string(v), unit, empirical[v]));
    }
    for (double& m : mean) m /= double(empirical.size());
    if (enc.family != Family::bias) out.curves.push_back(curve("mean_abs_phi", unit, mean));
    for (int64_t r : key_distances())
      out.metrics.push_back({"mean_abs_phi_r" + std::to_string(r), mean[index_of(r)], unit});
    return out;
  }

 private:
  Curve curve(std::string name, const char* unit, const std::vector<double>& y) const {
    Curve c{std::move(name), "distance", "positions", unit, {}, y};
    for (int64_t r : distances_) c.x.push_back(double(r));
    return c;
  }

  std::vector<int64_t> key_distances() const {
    std::set<int64_t> keys;
    for (int64_t r : {int64_t(0), int64_t(16), int64_t(256), int64_t(1024), max_distance_})
      if (std::find(distances_.begin(), distances_.end(), r) != distances_.end()) keys.insert(r);
    return {keys.begin(), keys.end()};
  }

  size_t index_of(int64_t r) const {
    return size_t(std::find(distances_.begin(), distances_.end(), r) - distances_.begin());
  }

  // B(r) for every r in distances_.
  std::vector<double> rotary_bound(const Encoder& enc) const {
    const int64_t rd = enc.rotary_dims(shape_.dim), half = rd / 2, R = int64_t(distances_.size());
    const RotaryContext qctx{Role::query, max_distance_ + 1};
    std::vector<std::complex<double>> z(size_t(R * half));  // e^{i r theta_k}, [R, half]
    if (const auto form = enc.angular_form(shape_.dim, qctx)) {
      for (int64_t t = 0; t < R; ++t)
        for (int64_t k = 0; k < half; ++k) {
          const double angle = double(distances_[size_t(t)]) * form->inv_freq[size_t(k)];
          z[size_t(t * half + k)] = {std::cos(angle), std::sin(angle)};
        }
    } else {
      std::vector<int64_t> pos{0};
      pos.insert(pos.end(), distances_.begin(), distances_.end());
      std::vector<double> c(pos.size() * size_t(half)), s(pos.size() * size_t(half));
      enc.rotary_coefficients(pos, shape_.dim, qctx, c.data(), s.data());
      for (int64_t t = 0; t < R; ++t)
        for (int64_t k = 0; k < half; ++k) {
          const std::complex<double> w0{c[size_t(k)], s[size_t(k)]};
          const std::complex<double> wr{c[size_t((t + 1) * half + k)],
                                        s[size_t((t + 1) * half + k)]};
          const std::complex<double> rel = wr * std::conj(w0);
          const double mag = std::abs(rel);
          z[size_t(t * half + k)] = mag > 0 ? rel / mag : std::complex<double>(0, 0);
        }
    }
    std::vector<double> bound(static_cast<size_t>(R));
    for (int64_t t = 0; t < R; ++t) {
      std::complex<double> partial = 0;
      double sum = 0;
      for (int64_t j = 0; j < half; ++j) {
        partial += z[size_t(t * half + j)];  // S_{j+1}
        sum += std::abs(partial);
      }
      bound[size_t(t)] = sum / double(half);
    }
    return bound;
  }

  // mean_s |(R(a) q_s) . (R(a + r) k_s)| for every r.
  std::vector<double> rotary_empirical(const Encoder& enc, uint64_t seed) const {
    const int64_t D = shape_.dim, rd = enc.rotary_dims(D), half = rd / 2;
    const int64_t R = int64_t(distances_.size()), S = shape_.samples;
    const RandomContent content = random_content(S, D, seed, "long_term_decay/content");
    const int64_t seq_len = anchor_ + max_distance_ + 1;
    const int64_t qpos[1] = {anchor_};
    std::vector<int64_t> kpos(distances_.size());
    for (size_t t = 0; t < distances_.size(); ++t) kpos[t] = anchor_ + distances_[t];
    std::vector<double> qc(static_cast<size_t>(half)), qs(static_cast<size_t>(half));
    std::vector<double> kc(size_t(R * half)), ks(size_t(R * half));
    enc.rotary_coefficients(qpos, D, RotaryContext{Role::query, seq_len}, qc.data(), qs.data());
    enc.rotary_coefficients(kpos, D, RotaryContext{Role::key, seq_len}, kc.data(), ks.data());
    const RotaryPairing pairing = enc.rotary_pairing();
    // Rotated queries [S, D] once; then per r in parallel, a fixed-order sum over samples.
    std::vector<double> rq(content.q);
    for (int64_t s = 0; s < S; ++s)
      rotate_vector(pairing, rd, qc.data(), qs.data(), rq.data() + s * D);
    std::vector<double> result(static_cast<size_t>(R));
#pragma omp parallel
    {
      std::vector<double> k(static_cast<size_t>(D));
#pragma omp for schedule(static)
      for (int64_t t = 0; t < R; ++t) {
        double sum = 0;
        for (int64_t s = 0; s < S; ++s) {
          std::copy(content.key(s), content.key(s) + D, k.begin());
          rotate_vector(pairing, rd, &kc[size_t(t * half)], &ks[size_t(t * half)], k.data());
          sum += std::fabs(dot(rq.data() + s * D, k.data(), D));
        }
        result[size_t(t)] = sum / double(S);
      }
    }
    return result;
  }

  // mean over x in [0, positions) of |<PE(x), PE(x + r)>| for every r.
  std::vector<double> additive_empirical(const Encoder& enc) const {
    const int64_t P = shape_.positions, D = shape_.dim, R = int64_t(distances_.size());
    // One call with every position needed: [0, P + max r) when that is no larger than listing
    // the P (R + 1) positions used, otherwise the sorted union of x and x + r.
    std::vector<int64_t> pos;
    if (P + max_distance_ <= P * (R + 1)) {
      pos.resize(size_t(P + max_distance_));
      std::iota(pos.begin(), pos.end(), int64_t(0));
    } else {
      std::set<int64_t> all;
      for (int64_t x = 0; x < P; ++x) {
        all.insert(x);
        for (int64_t r : distances_) all.insert(x + r);
      }
      pos.assign(all.begin(), all.end());
    }
    std::vector<double> table(pos.size() * size_t(D));
    enc.additive_table(pos, D, table.data());
    auto row = [&](int64_t p) {
      const size_t i = size_t(std::lower_bound(pos.begin(), pos.end(), p) - pos.begin());
      return table.data() + i * size_t(D);
    };
    std::vector<double> result(static_cast<size_t>(R));
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < R; ++t) {
      double sum = 0;
      for (int64_t x = 0; x < P; ++x) sum += std::fabs(dot(row(x), row(x + distances_[t]), D));
      result[size_t(t)] = sum / double(P);
    }
    return result;
  }

  // [head][r]: mean over x in [0, positions) of |b_h(x, x + r)|.
  std::vector<std::vector<double>> bias_empirical(const Encoder& enc) const {
    const int64_t P = shape_.positions, H = shape_.heads, R = int64_t(distances_.size());
    // Per anchor in parallel: |b_h(x, x + r)| into [P, H, R]-shaped partial sums would be large;
    // instead each anchor writes its H x R values into a per-anchor block of a chunked buffer and
    // the sums over x run serially in x order per (h, r) — blocks of anchors keep memory small.
    std::vector<std::vector<double>> sums(size_t(H), std::vector<double>(size_t(R), 0.0));
    const int64_t block = 256;
    std::vector<double> buf(size_t(block * H * R));
    for (int64_t x0 = 0; x0 < P; x0 += block) {
      const int64_t n = std::min(block, P - x0);
#pragma omp parallel
      {
        std::vector<int64_t> kpos(static_cast<size_t>(R));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
          const int64_t x = x0 + i;
          const int64_t qpos[1] = {x};
          for (int64_t t = 0; t < R; ++t) kpos[size_t(t)] = x + distances_[size_t(t)];
          enc.bias(qpos, kpos, H, &buf[size_t(i * H * R)]);  // [H, 1, R]
        }
      }
      for (int64_t i = 0; i < n; ++i)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t t = 0; t < R; ++t)
            sums[size_t(h)][size_t(t)] += std::fabs(buf[size_t((i * H + h) * R + t)]);
    }
    for (auto& row : sums)
      for (double& v : row) v /= double(P);
    return sums;
  }

  PropertyShape shape_;
  int64_t anchor_;
  std::vector<int64_t> distances_;
  int64_t max_distance_ = 0;
};

std::vector<double> default_distances() {
  std::vector<double> d{0};
  for (int64_t r = 1; r <= 8192; r *= 2) d.push_back(double(r));
  return d;
}

const ExperimentRegistration kRegistration{{
    .name = "long_term_decay",
    .description =
        "RoFormer 3.4.3 bound B(r) = mean_j |sum_{k<j} e^{i r theta_k}| and mean |phi| at "
        "distance r",
    .params = with_common_property_params({
        ParamSpec::number_list("distances", default_distances(),
                               "relative distances r (non-negative integers)")
            .at_least(0),
        ParamSpec::integer("anchor", 0,
                           "rotary: query position a of the empirical |s(q, k, a, a + r)|")
            .at_least(0)
            .at_most(double(int64_t(1) << 40)),
    }),
    .factory = [](const Params& p) { return std::make_unique<LongTermDecay>(p); },
}};

}  // namespace
}  // namespace posbench
