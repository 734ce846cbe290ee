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
//            Empirical: the logit as attention uses it, mean over the content pairs (q_s, k_s)
//            of |(R(a) q_s) . (R(a + r) k_s)| / sqrt(dim), q as a query at the fixed anchor
//            a = `anchor` (default 0), k as a key at a + r (seq_len = a + max r + 1). Content:
//            the `content` model (harness/analysis/content.h; stream "long_term_decay/content").
//   additive : mean over anchors x in [0, positions) of |<PE(x), PE(x + r)>| (no content: a
//            PE dot product, unit "1", reported as mean_abs_pe_dot).
//   bias     : mean over anchors x of |b_h(x, x + r)| per head (the logit added to q.k/sqrt(d);
//            metrics use the mean over heads). Additive and bias need positions up to
//            positions - 1 + max(distances) (a learned table must have that many rows).
// Metrics, at the largest distance r_max (Metric::at "r=<r_max>"): mean_abs_logit (rotary, bias)
// or mean_abs_pe_dot (additive); bound (rotary) = B(r_max); decay_ratio = the mean |.| at r_max
// over that at the smallest distance asked. The console prints every distance asked in tables
// (one column per r); curves: bound, mean_abs_logit / mean_abs_pe_dot (bias: the mean over
// heads, and mean_abs_logit_head<h> per head), x = r.
// Content and decay: with `content` "independent" (q, k ~ N(0, I)) the rotary curve does not
// decay. A rotation maps the Gaussian k to a Gaussian, so (R(a)q).(R(a+r)k) has the same
// distribution for every r, and mean |logit| stays near E|q.k|/sqrt(d) = sqrt(2/pi) = 0.80 (up
// to sampling noise). RoFormer's curve is for structured content: with "ones" (q = k = 1),
// logit(r) = (2/sqrt(d)) sum_j cos(r theta_j), sqrt(d) = 11.3 at r = 0 for d = 128, and it
// decays with r like the bound; "shared" (q = k random) decays towards the independent level.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
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

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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
    min_distance_ = *std::min_element(distances_.begin(), distances_.end());
  }

  void check(const EncoderInstance& enc) const override {
    enc.encoder->check_shape(shape_.dim, shape_.heads);
  }

  void load() const override { shape_.content->load(); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    const CheckedSize R = distances_.size(), D = shape_.dim;
    switch (enc.family) {
      case Family::rotary:
        // coefficients [R + 1, d'/2] x 2 (twice: bound and empirical), content, per-r outputs.
        return ((R + 1) * D * 8 * 2 +
                CheckedSize(shape_.content->memory_bytes(shape_.samples, shape_.dim)) + R * 8 * 8)
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
    const std::string at = "r=" + std::to_string(max_distance_);
    // The quantity and its name: rotary and bias compare logits (one meaning, one column),
    // additive the PE dot product (no logit without content).
    const bool additive = enc.family == Family::additive;
    const std::string name = additive ? "mean_abs_pe_dot" : "mean_abs_logit";
    const char* unit = additive ? "1" : "logit";
    std::vector<std::vector<double>> empirical;  // [view][r]
    if (enc.family == Family::rotary) {
      const std::vector<double> bound = rotary_bound(*enc.encoder);
      empirical.push_back(rotary_empirical(*enc.encoder, ctx.seed));
      out.curves.push_back(curve("bound", "1", bound));
      out.metrics.push_back({"bound", bound[index_of(max_distance_)], "1", at});
      out.extra["content"] = shape_.content->to_json();
    } else if (additive) {
      empirical.push_back(additive_empirical(*enc.encoder));
    } else {
      empirical = bias_empirical(*enc.encoder);
    }
    // Mean over views (heads) per distance; curves per head for bias.
    std::vector<double> mean(distances_.size(), 0.0);
    for (size_t v = 0; v < empirical.size(); ++v) {
      for (size_t i = 0; i < mean.size(); ++i) mean[i] += empirical[v][i];
      if (enc.family == Family::bias)
        out.curves.push_back(curve(name + "_head" + std::to_string(v), unit, empirical[v]));
    }
    for (double& m : mean) m /= double(empirical.size());
    out.curves.push_back(curve(name, unit, mean));  // bias: the mean over heads
    const double first = mean[index_of(min_distance_)], last = mean[index_of(max_distance_)];
    out.metrics.push_back({name, last, unit, at});
    out.metrics.push_back({"decay_ratio", first != 0 ? last / first : kNaN, "1",
                           at + "/r=" + std::to_string(min_distance_)});
    out.extra["quantity"] = additive ? "|<PE(x), PE(x + r)>|, mean over x in [0, positions)"
                            : enc.family == Family::rotary
                                ? "|(R(a) q) . (R(a + r) k)| / sqrt(dim), mean over the content "
                                  "pairs (the logit as attention uses it)"
                                : "|b_h(x, x + r)|, mean over x in [0, positions) and heads";
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>&, ExperimentResult& r) const override {
    // The summary's columns in this order, those some scheme reports.
    for (const char* name : {"mean_abs_logit", "mean_abs_pe_dot", "decay_ratio", "bound"}) {
      bool reported = false;
      for (const EncoderOutcome& o : r.outcomes)
        for (const Metric& m : o.metrics) reported |= m.name == name;
      if (reported) r.summary_columns.push_back(name);
    }
    // Every distance asked for, one column each (at most kColumns per table): the curves'
    // values by scheme.
    struct Quantity {
      const char* curve;
      std::string title;
    };
    const std::vector<Quantity> quantities = {
        {"mean_abs_logit",
         "mean |logit| [logit] by distance r (rotary: |(R(a)q).(R(a+r)k)| / sqrt(dim), content " +
             std::string(shape_.content->name()) + "; bias: |b_h(x, x+r)|, mean over heads)"},
        {"mean_abs_pe_dot", "mean |<PE(x), PE(x+r)>| [1] by distance r (additive)"},
        {"bound", "RoFormer bound B(r) = (1/(d/2)) sum_j |S_j| [1] by distance r (rotary)"},
    };
    constexpr size_t kColumns = 12;
    for (const auto& q : quantities) {
      std::vector<std::string> rows;
      std::vector<std::vector<double>> cells;
      for (const EncoderOutcome& o : r.outcomes) {
        std::vector<double> y;
        for (const Curve& c : o.curves)
          if (c.name == q.curve) y = c.y;
        if (y.empty()) continue;
        rows.push_back(o.label);
        cells.push_back(y);
      }
      if (rows.empty()) continue;
      for (size_t c0 = 0; c0 < distances_.size(); c0 += kColumns) {
        ConsoleTable t;
        t.title = q.title;
        const size_t c1 = std::min(distances_.size(), c0 + kColumns);
        for (size_t c = c0; c < c1; ++c) t.columns.push_back("r=" + std::to_string(distances_[c]));
        t.rows = rows;
        for (const auto& row : cells)
          t.cells.emplace_back(row.begin() + ptrdiff_t(c0), row.begin() + ptrdiff_t(c1));
        r.tables.push_back(std::move(t));
      }
    }
  }

 private:
  Curve curve(std::string name, const char* unit, const std::vector<double>& y) const {
    Curve c{std::move(name), "distance", "positions", unit, {}, y};
    for (int64_t r : distances_) c.x.push_back(double(r));
    return c;
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

  // mean_s |(R(a) q_s) . (R(a + r) k_s)| / sqrt(dim) for every r, over the content pairs.
  std::vector<double> rotary_empirical(const Encoder& enc, uint64_t seed) const {
    const int64_t D = shape_.dim, rd = enc.rotary_dims(D), half = rd / 2;
    const int64_t R = int64_t(distances_.size());
    const ContentVectors content =
        shape_.content->vectors(shape_.samples, D, seed, "long_term_decay/content");
    const int64_t S = content.pairs;
    const double scale = 1.0 / std::sqrt(double(D));  // the softmax scale attention applies
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
        result[size_t(t)] = sum * scale / double(S);
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
  int64_t max_distance_ = 0, min_distance_ = 0;
};

std::vector<double> default_distances() {
  std::vector<double> d{0};
  for (int64_t r = 1; r <= 8192; r *= 2) d.push_back(double(r));
  return d;
}

const ExperimentRegistration kRegistration{{
    .name = "long_term_decay",
    .description =
        "RoFormer 3.4.3 bound B(r) = mean_j |sum_{k<j} e^{i r theta_k}| and the mean |logit| "
        "(rotary: q.k/sqrt(d) with the `content` model; bias: b_h) at every distance r asked",
    .params = with_common_property_params({
        ParamSpec::number_list("distances", default_distances(),
                               "relative distances r (non-negative integers)")
            .at_least(0),
        ParamSpec::integer("anchor", 0,
                           "rotary: query position a of the empirical |s(q, k, a, a + r)|")
            .at_least(0)
            .at_most(double(int64_t(1) << 40)),
    }),
    .metrics =
        {
            {"bound", "1",
             "rotary: RoFormer's relative upper bound B(r) = (1/(d/2)) sum_j |S_j|, S_j = "
             "sum_{k<j} e^{i r theta_k}, at the largest distance",
             "rope d = 128, base 1e4: B(0) = 32.5, B(256) = 6.54, B(1024) = 4.02"},
            {"mean_abs_logit", "logit",
             "rotary: mean over content pairs of |(R(a) q).(R(a + r) k)| / sqrt(dim), the logit as "
             "attention uses it; bias: mean over x and heads of |b_h(x, x + r)|; at the largest "
             "distance",
             "rope, content ones, d = 128: sqrt(128) = 11.3 at r = 0, decaying with r; content "
             "independent: ~sqrt(2/pi) = 0.80 at every r"},
            {"mean_abs_pe_dot", "1",
             "additive: mean over x of |<PE(x), PE(x + r)>| at the largest distance (no content, "
             "not a logit)",
             "sinusoidal: dim/2 = 64 at r = 0"},
            {"decay_ratio", "1",
             "mean_abs_logit (or mean_abs_pe_dot) at the largest distance over its value at the "
             "smallest (< 1: decays)",
             "rope with content ones: < 1; content independent: ~1"},
        },
    .factory = [](const Params& p) { return std::make_unique<LongTermDecay>(p); },
}};

}  // namespace
}  // namespace posbench
