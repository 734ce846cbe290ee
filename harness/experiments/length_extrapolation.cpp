// length_extrapolation — how far does a scheme's behaviour at sequence length n drift from what
// it showed up to the training length L? No model is trained; every quantity is a property of
// the scheme alone (plus seeded random content). Lengths: L and every n in `eval_lengths`
// (default L * {1, 2, 4, 8, 16}); each n must be >= L.
//
// 1. Attention statistics (every family). For each of `samples` draws, the last query of a
//    length-n sequence (position n - 1) attends causally over keys j in [0, n). Content
//    q, k_j ~ N(0, content_std^2 I) of width `dim`. Logits (all in float64):
//      additive : (q + PE(n-1)) . (k_j + PE(j)) / sqrt(dim)
//      rotary   : (R(n-1) q) . (R(j) k_j) / sqrt(dim)      (q rotated as query, k_j as key)
//      bias     : q . k_j / sqrt(dim) + b_h(n-1, j)        (the softmax scale applies to the dot
//                                                           product; the bias is added after it,
//                                                           as in ALiBi and T5)
//    All positions of length n come from one encoder call over [0, n) with seq_len n, so
//    length-dependent schemes (learned "interpolate", dynamic rotary scaling) see length n.
//    `content` "independent" (default): a new k_j per key. Each logit is linear in k_j,
//    g_j . k_j + h_j, and g_j . k_j ~ N(0, content_std^2 |g_j|^2) independently over j, so
//    posbench samples that scalar directly (z_j ~ N(0, 1), one per key) instead of drawing
//    dim values per key: the same distribution, 1/dim of the random numbers. (Consequence
//    worth knowing: for a norm-preserving rotary scheme |g_j| = |q| for every j, so with
//    independent random keys RoPE's attention statistics do not depend on position at all.)
//    The other `content` models (harness/analysis/content.h) give one pair (q_s, k_s) per
//    draw, and k_s sits at every key, so the logits vary with position only through the
//    scheme (the composed logit exactly as written above): "shared" q = k ~ N(0, I) (stream
//    "length_extrapolation/content/<s>"), "ones" q = k = 1 (one draw), "file" the pairs of a
//    .npy (every row). content_std scales q and k of every model.
//    Per length: normalized entropy H / ln(n), the largest attention weight, and the
//    attention mass on the last `window` keys (j >= n - window), each averaged over samples
//    (bias: over samples and heads; the per-head values at the largest length are in the curve
//    "*_by_head").
// 2. The reference: what the pretrained model saw. Novelty (items 3 to 5) is measured against
//    a reference scheme ref at its original length L_ref. An encoder entry may give it
//    explicitly: "reference": {"name": ..., "params": {...}, "length": L_ref} (same family; a
//    rotary reference must rotate as many pairs). Without it: a scheme that extends a
//    pretrained one (Encoder::pretrained(): RoPE with `scaling`) is compared with that scheme
//    (the same RoPE, base, layout and rotary fraction, without scaling) at its original length
//    (scaling.original_max_position_embeddings, or the L rope.cpp reads for the rope_type;
//    train_length for linear and ntk, which have none); every other scheme with itself at
//    train_length, so unscaled results keep their meaning. extra.reference says which.
// 3. rotary (the wavelength analysis of YaRN, Peng et al. 2023): theta_i per rotated pair
//    (from Encoder::angular_form, else atan2 of the coefficients at position 1, which assumes
//    theta_i < pi). Pair i of the reference "completes a full turn within L_ref" when
//    L_ref * theta_ref_i >= 2 pi (its wavelength 2 pi / theta_ref_i <= L_ref; no tolerance):
//    it has met every angle. Among the other pairs ("short of a turn"), pair i is unseen at
//    length n when its angle range (n - 1) * theta_i(n) exceeds the reference's,
//    (L_ref - 1) * theta_ref_i, by more than a relative tolerance of 1e-9: it meets angles the
//    pretrained model never produced. theta_i(n) is read with seq_len = n (dynamic scaling
//    may shrink it), theta_ref_i with seq_len = L_ref. Per length: the count of unseen pairs
//    (unseen_angle_pairs), that count over all rotated pairs (unseen_angle_fraction_of_pairs)
//    and over the pairs short of a turn (unseen_angle_fraction), and the largest ratio
//    (n - 1) theta_i(n) / ((L_ref - 1) theta_ref_i) over the pairs short of a turn
//    (max_angle_ratio; > 1 means unseen). full_turn_pairs counts the reference's full turns.
//    run_all ranks the rotary schemes at every length by unseen_angle_pairs, ties broken by
//    max_angle_ratio (equal within 1e-9 relative: equal rank).
// 4. additive: for each position p the reference never encoded, the largest cosine
//    similarity between PE(p) (from the length-n call) and any reference PE_ref(q),
//    q in [0, L_ref) (from one call of the reference over [0, L_ref)): the min and the mean over
//    p, per n. The positions are p in [L_ref, n) when the reference is the scheme itself, and
//    every p in [0, n) when it is another scheme (whose table differs from the first position
//    on). 1 means p looks like some seen position; random vectors in 128 dimensions give ~0.3.
// 5. bias: the logit gap between the nearest and the farthest key at length n, per head:
//    b_h(n-1, n-1) - b_h(n-1, 0) (ALiBi: m_h * (n - 1)). Against the reference: per head h,
//    the range [lo_h, hi_h] of every bias the reference produced in its causal window
//    (b_ref_h(i, j), 0 <= j <= i < L_ref; one row when the bias is relative). At length n,
//    unseen_bias_fraction is the fraction of the last query's values b_h(n-1, j), over all
//    heads and keys j in [0, n), outside [lo_h - t, hi_h + t], t = 1e-9 max(|lo_h|, |hi_h|):
//    bias values the pretrained model never added (ALiBi: keys farther than L_ref - 1, so
//    (n - L_ref) / n; T5's saturated buckets: none). bias_range_ratio is the largest, over
//    heads, (max_j - min_j of that row) / (hi_h - lo_h) (ALiBi: (n - 1) / (L_ref - 1)).
// Every per-length value is a curve (x = length) and a row of extra.per_length; the console
// prints them as tables with one column per length.
// A length the scheme cannot produce (learned with out_of_range "error" past max_len) is
// reported as unsupported: NaN (null) in the curves, listed in the note and in
// extra.unsupported_lengths, and the outcome's status is "unsupported"; lengths that work are
// still reported.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/content.h"
#include "harness/analysis/position_features.h"
#include "harness/experiments/extrapolation_reference.h"

namespace posbench {
namespace {

using extrapolation::Reference;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Softmax statistics of one row of logits.
struct AttentionStats {
  double entropy = 0, max_weight = 0, window_mass = 0;
};

AttentionStats attention_stats(const double* x, int64_t n, int64_t window) {
  double m = x[0];
  for (int64_t j = 1; j < n; ++j) m = std::max(m, x[j]);
  double z = 0, zx = 0, zw = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double e = std::exp(x[j] - m);
    z += e;
    zx += e * (x[j] - m);
    if (j >= n - window) zw += e;
  }
  // H = -sum w log w with w = e^{x - m} / z:  H = log z - sum w (x - m).
  return {(std::log(z) - zx / z) / std::log(double(n)), 1.0 / z, zw / z};
}

class LengthExtrapolation final : public Experiment {
 public:
  explicit LengthExtrapolation(const Params& p)
      : dim_(p.integer("dim")),
        heads_(p.integer("heads")),
        samples_(p.integer("samples")),
        train_(p.integer("train_length")),
        window_(p.integer("window")),
        content_std_(p.number("content_std")),
        content_(std::make_shared<const ContentModel>(p, dim_)),
        shared_(content_->kind() != ContentModel::Kind::independent),
        draws_(content_->pairs(samples_)) {
    std::vector<int64_t> evals;
    if (p.has("eval_lengths")) {
      for (double v : p.numbers("eval_lengths")) {
        if (v != std::floor(v))
          throw UserError("eval_lengths", "length " + std::to_string(v) +
                                              " is not an integer; expected lengths "
                                              ">= train_length = " +
                                              std::to_string(train_));
        if (int64_t(v) < train_)
          throw UserError("eval_lengths", "length " + std::to_string(int64_t(v)) +
                                              " is below train_length = " + std::to_string(train_) +
                                              "; expected every eval length >= train_length");
        evals.push_back(int64_t(v));
      }
      if (evals.empty())
        throw UserError("eval_lengths", "is empty; expected at least one length >= train_length");
    } else {
      for (int64_t f : {1, 2, 4, 8, 16}) evals.push_back(train_ * f);
    }
    if (window_ > train_)
      throw UserError("window", "window " + std::to_string(window_) +
                                    " is longer than train_length = " + std::to_string(train_) +
                                    "; expected window <= train_length");
    lengths_ = evals;
    lengths_.push_back(train_);  // L is always the first point of every curve: the reference
    std::sort(lengths_.begin(), lengths_.end());
    lengths_.erase(std::unique(lengths_.begin(), lengths_.end()), lengths_.end());
  }

  void check(const EncoderInstance& enc) const override { enc.encoder->check_shape(dim_, heads_); }

  void load() const override { content_->load(); }

  bool takes_reference() const override { return true; }

  void check_reference(const EncoderInstance& enc, const EncoderReference& ref) const override {
    const Encoder& r = *ref.encoder.encoder;
    if (enc.family == Family::rotary) {
      const int64_t mine = enc.encoder->rotary_dims(dim_) / 2, theirs = r.rotary_dims(dim_) / 2;
      if (mine != theirs)
        throw UserError("", "the reference rotates " + std::to_string(theirs) +
                                " pairs of head_dim " + std::to_string(dim_) + ", '" + enc.label +
                                "' rotates " + std::to_string(mine) +
                                "; expected the same pairs (angles are compared pair by pair)");
    }
    // The reference must produce its last position, L_ref - 1.
    const int64_t last[1] = {ref.length - 1};
    try {
      switch (enc.family) {
        case Family::additive: {
          std::vector<double> row(dim_);
          r.additive_table(last, dim_, row.data());
          break;
        }
        case Family::rotary: {
          const int64_t half = r.rotary_dims(dim_) / 2;
          std::vector<double> c(half), s(half);
          r.rotary_coefficients(last, dim_, RotaryContext{Role::key, ref.length}, c.data(),
                                s.data());
          break;
        }
        case Family::bias: {
          std::vector<double> b(heads_);
          const int64_t first[1] = {0};
          r.bias(last, first, heads_, b.data());
          break;
        }
      }
    } catch (const UnsupportedPosition& e) {
      throw UserError("length", "got " + std::to_string(ref.length) +
                                    ", but the reference cannot produce position " +
                                    std::to_string(ref.length - 1) + " (" + e.what() +
                                    "); expected a length the reference supports");
    }
  }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    CheckedSize total = 0;
    for (int64_t n : lengths_) total += n;
    const CheckedSize nmax = lengths_.back();
    const CheckedSize threads = std::max(1, omp_get_max_threads());
    // Per thread: the z draws, one row of logits per head slot, a rotated key.
    const CheckedSize per_thread = (nmax * (CheckedSize(heads_) + 1) + CheckedSize(dim_) * 4) * 8;
    const CheckedSize stats = CheckedSize(draws_) * lengths_.size() * heads_ * 3 * 8 +
                              CheckedSize(content_->memory_bytes(samples_, dim_));
    const CheckedSize lref = extrapolation::reference_length(enc, train_);
    switch (enc.family) {
      case Family::additive:
        // Tables of every length, the reference table and its normalised rows, the normalised
        // unseen rows, a [256, L_ref] dot block per thread.
        return (total * dim_ * 8 + (lref * 2 + nmax) * dim_ * 8 +
                threads * (lref * 256 * 8 + per_thread) + stats)
            .saturated();
      case Family::rotary:
        return (total * dim_ * 8 + threads * per_thread + stats).saturated();
      case Family::bias:
        // + a block of 64 reference rows [heads, 64, L_ref].
        return (total * heads_ * 8 + threads * per_thread + stats + lref * heads_ * 64 * 8)
            .saturated();
    }
    return 0;
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Encoder& e = *enc.encoder;
    const size_t nl = lengths_.size();
    const int64_t slots = enc.family == Family::bias ? heads_ : 1;  // attention rows per draw

    // ---- per-length data from the encoder (serial: encoders are called from one thread) ----
    std::vector<LengthData> data(nl);
    std::vector<std::string> unsupported;
    for (size_t li = 0; li < nl; ++li) {
      try {
        data[li] = length_data(e, enc.family, lengths_[li]);
        data[li].supported = true;
      } catch (const UnsupportedPosition& ex) {
        data[li] = LengthData{};
        unsupported.push_back(ex.what());
      }
    }

    // ---- attention statistics, one independent draw per sample (parallel) ----
    // stats[((s * nl + li) * slots + h) * 3 + {0, 1, 2}]
    std::vector<double> stats(size_t(draws_) * nl * slots * 3, kNaN);
    const int64_t nmax = lengths_.back();
    const double scale = 1.0 / std::sqrt(double(dim_));
    // ones, file: the pairs (q_s, k_s) [draws, dim], scaled by content_std below.
    const ContentVectors fixed =
        content_->random() ? ContentVectors{}
                           : content_->vectors(samples_, dim_, ctx.seed, "length_extrapolation");
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t s = 0; s < draws_; ++s) {
      Rng rng(ctx.seed, "length_extrapolation/content/" + std::to_string(s));
      std::vector<double> q, k;  // [dim]
      if (content_->random()) {
        q = rng.normal_vector(dim_, content_std_);
        if (shared_) k = q;  // shared: q = k
      } else {
        q.assign(fixed.query(s), fixed.query(s) + dim_);
        k.assign(fixed.key(s), fixed.key(s) + dim_);
        for (int64_t c = 0; c < dim_; ++c) q[c] *= content_std_, k[c] *= content_std_;
      }
      // shared models: k at every key; independent: z_j ~ N(0, 1), one per key.
      const std::vector<double> z = shared_ ? std::vector<double>() : rng.normal_vector(nmax);
      std::vector<double> logits(size_t(slots) * nmax), work(dim_), g(dim_);
      for (size_t li = 0; li < nl; ++li) {
        if (!data[li].supported) continue;
        const int64_t n = lengths_[li];
        const LengthData& d = data[li];
        fill_logits(e, enc.family, d, n, q, k, z, scale, g, work, logits);
        for (int64_t h = 0; h < slots; ++h) {
          const AttentionStats a = attention_stats(&logits[size_t(h) * n], n, window_);
          double* out = &stats[((size_t(s) * nl + li) * slots + h) * 3];
          out[0] = a.entropy, out[1] = a.max_weight, out[2] = a.window_mass;
        }
      }
    }

    // ---- reduce in a fixed order ----
    EncoderOutcome out;
    std::vector<double> xs(lengths_.begin(), lengths_.end());
    Curve c_entropy{"normalized_entropy", "length", "positions", "1", xs, {}};
    Curve c_maxw{"max_attention_weight", "length", "positions", "1", xs, {}};
    Curve c_window{"window_mass", "length", "positions", "1", xs, {}};
    auto mean_stat = [&](size_t li, int64_t h_begin, int64_t h_end, int which) {
      double sum = 0;
      for (int64_t s = 0; s < draws_; ++s)
        for (int64_t h = h_begin; h < h_end; ++h)
          sum += stats[((size_t(s) * nl + li) * slots + h) * 3 + which];
      return sum / double(draws_ * (h_end - h_begin));
    };
    for (size_t li = 0; li < nl; ++li) {
      const bool ok = data[li].supported;
      c_entropy.y.push_back(ok ? mean_stat(li, 0, slots, 0) : kNaN);
      c_maxw.y.push_back(ok ? mean_stat(li, 0, slots, 1) : kNaN);
      c_window.y.push_back(ok ? mean_stat(li, 0, slots, 2) : kNaN);
    }
    int64_t max_supported = 0;
    for (size_t li = 0; li < nl; ++li)
      if (data[li].supported) max_supported = lengths_[li];
    out.metrics = {
        {"normalized_entropy", c_entropy.y.back(), "1"},
        {"max_attention_weight", c_maxw.y.back(), "1"},
        {"window_mass", c_window.y.back(), "1"},
        {"normalized_entropy_drift", c_entropy.y.back() - c_entropy.y.front(), "1"},
        {"max_supported_length", max_supported ? double(max_supported) : kNaN, "positions"},
    };
    out.curves = {c_entropy, c_maxw, c_window};
    if (enc.family == Family::bias && data.back().supported) {
      Curve he{"normalized_entropy_by_head", "head", "index", "1", {}, {}};
      Curve hm{"max_attention_weight_by_head", "head", "index", "1", {}, {}};
      Curve hw{"window_mass_by_head", "head", "index", "1", {}, {}};
      for (int64_t h = 0; h < heads_; ++h) {
        he.x.push_back(double(h)), hm.x.push_back(double(h)), hw.x.push_back(double(h));
        he.y.push_back(mean_stat(nl - 1, h, h + 1, 0));
        hm.y.push_back(mean_stat(nl - 1, h, h + 1, 1));
        hw.y.push_back(mean_stat(nl - 1, h, h + 1, 2));
      }
      out.curves.insert(out.curves.end(), {he, hm, hw});
    }
    out.extra["lengths"] = lengths_;
    out.extra["content"] = content_->to_json();
    out.extra["attention_average"] =
        enc.family == Family::bias ? "mean over samples and heads" : "mean over samples";

    const Reference ref = extrapolation::resolve_reference(enc, train_);
    out.metrics.push_back({"reference_length", double(ref.length), "positions"});
    out.extra["reference"] = ref.to_json();
    out.extra["reference"]["relative_tolerance"] = extrapolation::kRelativeTolerance;
    std::string ref_problem;  // the reference could not produce its length
    switch (enc.family) {
      case Family::rotary:
        rotary_wavelengths(e, ref, out);
        break;
      case Family::additive:
        ref_problem = additive_novelty(data, ref, out);
        break;
      case Family::bias:
        bias_gaps(data, ref, out);
        break;
    }
    out.extra["per_length"] = per_length_table(out.curves);
    if (!ref_problem.empty()) out.note = ref_problem;

    if (!unsupported.empty()) {
      std::vector<int64_t> bad;
      std::string list;
      for (size_t li = 0; li < nl; ++li)
        if (!data[li].supported) {
          bad.push_back(lengths_[li]);
          list += (list.empty() ? "" : ", ") + std::to_string(lengths_[li]);
        }
      out.status = Status::unsupported;
      out.note = "unsupported lengths " + list + " (first: " + unsupported.front() +
                 "); metrics at the largest length are NaN" +
                 (out.note.empty() ? "" : "; " + out.note);
      out.extra["unsupported_lengths"] = bad;
    }
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>& encoders, ExperimentResult& r) const override {
    extrapolation::mark_lengths(lengths_, r);  // the console shows "name@n=..."
    r.summary_columns = {
        "normalized_entropy",       "max_attention_weight", "window_mass",
        "normalized_entropy_drift", "full_turn_pairs",      "unseen_angle_fraction",
        "mean_max_cosine_unseen",   "logit_gap_max_head",   "max_supported_length"};
    r.summary_title = "values at the largest length n = " + std::to_string(lengths_.back()) +
                      " (train_length L = " + std::to_string(train_) + "); per-length tables below";
    extrapolation::add_reference_tables(encoders, lengths_, r);
  }

 private:
  struct LengthData {
    bool supported = false;
    RowMatrix table;             // additive: PE of [0, n)             [n, dim]
    std::vector<double> ck, sk;  // rotary: key coefficients of [0, n) [n, half]
    std::vector<double> cq, sq;  // rotary: query coefficients at n-1  [half]
    std::vector<double> brow;    // bias: b_h(n-1, j)                  [heads, n]
  };

  LengthData length_data(const Encoder& e, Family family, int64_t n) const {
    LengthData d;
    const std::vector<int64_t> pos = position_range(0, n);
    switch (family) {
      case Family::additive:
        d.table.resize(n, dim_);
        e.additive_table(pos, dim_, d.table.data());
        break;
      case Family::rotary: {
        const int64_t half = e.rotary_dims(dim_) / 2;
        d.ck.resize(size_t(n) * half), d.sk.resize(size_t(n) * half);
        d.cq.resize(half), d.sq.resize(half);
        e.rotary_coefficients(pos, dim_, RotaryContext{Role::key, n}, d.ck.data(), d.sk.data());
        const int64_t last[1] = {n - 1};
        e.rotary_coefficients(last, dim_, RotaryContext{Role::query, n}, d.cq.data(), d.sq.data());
        break;
      }
      case Family::bias: {
        d.brow.resize(size_t(heads_) * n);
        const int64_t last[1] = {n - 1};
        e.bias(last, pos, heads_, d.brow.data());
        break;
      }
    }
    return d;
  }

  // logits[h * n + j] for the query at n - 1 (see the header comment).
  void fill_logits(const Encoder& e, Family family, const LengthData& d, int64_t n,
                   const std::vector<double>& q, const std::vector<double>& k,
                   const std::vector<double>& z, double scale, std::vector<double>& g,
                   std::vector<double>& work, std::vector<double>& logits) const {
    auto dot = [&](const double* a, const double* b) {
      double s = 0;
      for (int64_t c = 0; c < dim_; ++c) s += a[c] * b[c];
      return s;
    };
    switch (family) {
      case Family::additive: {
        const double* pe_last = d.table.row(n - 1).data();
        for (int64_t c = 0; c < dim_; ++c) g[c] = q[c] + pe_last[c];
        if (shared_) {
          for (int64_t j = 0; j < n; ++j) {
            const double* pe = d.table.row(j).data();
            double s = 0;
            for (int64_t c = 0; c < dim_; ++c) s += g[c] * (k[c] + pe[c]);
            logits[j] = s * scale;
          }
        } else {
          const double gnorm = std::sqrt(dot(g.data(), g.data()));
          for (int64_t j = 0; j < n; ++j)
            logits[j] =
                (content_std_ * gnorm * z[j] + dot(g.data(), d.table.row(j).data())) * scale;
        }
        break;
      }
      case Family::rotary: {
        const int64_t rd = e.rotary_dims(dim_), half = rd / 2;
        const RotaryPairing pairing = e.rotary_pairing();
        std::copy(q.begin(), q.end(), g.begin());  // g = R(n-1) q
        rotate_vector(pairing, rd, d.cq.data(), d.sq.data(), g.data());
        if (shared_) {
          for (int64_t j = 0; j < n; ++j) {
            std::copy(k.begin(), k.end(), work.begin());
            rotate_vector(pairing, rd, &d.ck[size_t(j) * half], &d.sk[size_t(j) * half],
                          work.data());
            logits[j] = dot(g.data(), work.data()) * scale;
          }
        } else {
          // logit_j = (R(j)^T R(n-1) q) . k_j; per pair, R(j)^T scales the pair's length by
          // a = sqrt(c^2 + s^2), so |R(j)^T g|^2 = sum_i a_ji^2 |g_pair i|^2 + |g_pass|^2.
          std::vector<double> pair_sq(half);
          for (int64_t i = 0; i < half; ++i) {
            const int64_t ia = pairing == RotaryPairing::half ? i : 2 * i;
            const int64_t ib = pairing == RotaryPairing::half ? i + half : 2 * i + 1;
            pair_sq[i] = g[ia] * g[ia] + g[ib] * g[ib];
          }
          double pass = 0;
          for (int64_t c = rd; c < dim_; ++c) pass += g[c] * g[c];
          for (int64_t j = 0; j < n; ++j) {
            const double* c = &d.ck[size_t(j) * half];
            const double* s = &d.sk[size_t(j) * half];
            double norm2 = pass;
            for (int64_t i = 0; i < half; ++i) norm2 += (c[i] * c[i] + s[i] * s[i]) * pair_sq[i];
            logits[j] = content_std_ * std::sqrt(norm2) * z[j] * scale;
          }
        }
        break;
      }
      case Family::bias: {
        // Content part q . k_j / sqrt(dim), then + b_h(n-1, j) per head.
        const double qk_shared = shared_ ? dot(q.data(), k.data()) : 0;
        const double qnorm = std::sqrt(dot(q.data(), q.data()));
        for (int64_t h = 0; h < heads_; ++h)
          for (int64_t j = 0; j < n; ++j)
            logits[size_t(h) * n + j] =
                (shared_ ? qk_shared : content_std_ * qnorm * z[j]) * scale +
                d.brow[size_t(h) * n + j];
        break;
      }
    }
  }

  void rotary_wavelengths(const Encoder& e, const Reference& ref, EncoderOutcome& out) const {
    using namespace extrapolation;
    const std::vector<double> theta_ref = rotary_thetas(*ref.encoder, dim_, ref.length);
    const std::vector<bool> full = full_turn(theta_ref, ref.length);
    const int64_t pairs = int64_t(theta_ref.size());
    int64_t full_count = 0;
    for (bool f : full) full_count += f;
    const int64_t partial = pairs - full_count;
    Curve frac{"unseen_angle_fraction", "length", "positions", "1", {}, {}};
    Curve count{"unseen_angle_pairs", "length", "positions", "pairs", {}, {}};
    Curve of_pairs{"unseen_angle_fraction_of_pairs", "length", "positions", "1", {}, {}};
    Curve ratio{"max_angle_ratio", "length", "positions", "1", {}, {}};
    for (int64_t n : lengths_) {
      const RotaryNovelty nov =
          rotary_novelty(rotary_thetas(e, dim_, n), n, theta_ref, ref.length, full);
      for (Curve* c : {&frac, &count, &of_pairs, &ratio}) c->x.push_back(double(n));
      frac.y.push_back(partial ? double(nov.unseen) / double(partial) : kNaN);
      count.y.push_back(double(nov.unseen));
      of_pairs.y.push_back(pairs ? double(nov.unseen) / double(pairs) : kNaN);
      ratio.y.push_back(nov.max_ratio);
    }
    // The scheme's own wavelengths at train_length (as before the reference existed).
    const std::vector<double> theta_train = rotary_thetas(e, dim_, train_);
    Curve wavelength{"wavelength", "pair", "index", "positions", {}, {}};
    for (size_t i = 0; i < theta_train.size(); ++i) {
      wavelength.x.push_back(double(i));
      wavelength.y.push_back(2 * std::numbers::pi / theta_train[i]);
    }
    out.metrics.push_back({"full_turn_pairs", double(full_count), "pairs"});
    out.metrics.push_back({"rotary_pairs", double(pairs), "pairs"});
    out.metrics.push_back({"unseen_angle_fraction", frac.y.back(), "1"});
    out.metrics.push_back({"unseen_angle_pairs", count.y.back(), "pairs"});
    out.metrics.push_back({"unseen_angle_fraction_of_pairs", of_pairs.y.back(), "1"});
    out.metrics.push_back({"max_angle_ratio", ratio.y.back(), "1"});
    out.curves.insert(out.curves.end(), {frac, count, of_pairs, ratio, wavelength});
  }

  static RowMatrix normalized_rows(const RowMatrix& m) {
    RowMatrix out = m;
    for (int64_t r = 0; r < out.rows(); ++r) {
      const double norm = out.row(r).norm();
      if (norm > 0) out.row(r) /= norm;  // a zero row has cosine 0 with everything
    }
    return out;
  }

  // Returns why the reference could not be read ("" when it could).
  std::string additive_novelty(const std::vector<LengthData>& data, const Reference& ref,
                               EncoderOutcome& out) const {
    Curve cmin{"min_max_cosine_unseen", "length", "positions", "1", {}, {}};
    Curve cmean{"mean_max_cosine_unseen", "length", "positions", "1", {}, {}};
    Curve per_pos{"max_cosine_to_seen", "position", "positions", "1", {}, {}};
    double last_min = kNaN, last_mean = kNaN;
    const int64_t L = ref.length;
    RowMatrix seen(L, dim_);  // the reference's rows [0, L_ref), normalised
    std::string problem;
    try {
      ref.encoder->additive_table(position_range(0, L), dim_, seen.data());
      seen = normalized_rows(seen);
    } catch (const UnsupportedPosition& e) {
      problem = "the reference cannot produce L_ref = " + std::to_string(L) + " (" + e.what() +
                "): no novelty against it";
    }
    // Positions the reference never encoded: past L_ref if it is the scheme itself, else all.
    const int64_t start = ref.is_self ? L : 0;
    if (problem.empty()) {
      for (size_t li = 0; li < lengths_.size(); ++li) {
        const int64_t n = lengths_[li];
        if (n <= start) continue;
        cmin.x.push_back(double(n)), cmean.x.push_back(double(n));
        if (!data[li].supported) {
          cmin.y.push_back(kNaN), cmean.y.push_back(kNaN);
          last_min = last_mean = kNaN;
          continue;
        }
        const RowMatrix unseen = normalized_rows(data[li].table.bottomRows(n - start));
        std::vector<double> best(n - start);
        for_each_dot_block(unseen, seen, 256, [&](int64_t r0, const RowMatrix& G) {
          for (int64_t r = 0; r < G.rows(); ++r) best[r0 + r] = G.row(r).maxCoeff();
        });
        double mn = best[0], sum = 0;
        for (double b : best) mn = std::min(mn, b), sum += b;
        last_min = mn, last_mean = sum / double(best.size());
        cmin.y.push_back(last_min), cmean.y.push_back(last_mean);
        if (li + 1 == lengths_.size()) {
          for (int64_t p = start; p < n; ++p) per_pos.x.push_back(double(p));
          per_pos.y = best;
        }
      }
    }
    out.metrics.push_back({"min_max_cosine_unseen", last_min, "1"});
    out.metrics.push_back({"mean_max_cosine_unseen", last_mean, "1"});
    out.curves.insert(out.curves.end(), {cmin, cmean});
    if (!per_pos.x.empty()) out.curves.push_back(per_pos);
    return problem;
  }

  void bias_gaps(const std::vector<LengthData>& data, const Reference& ref,
                 EncoderOutcome& out) const {
    std::vector<Curve> gaps;
    for (int64_t h = 0; h < heads_; ++h)
      gaps.push_back(
          {"logit_gap_head" + std::to_string(h), "length", "positions", "logit", {}, {}});
    for (size_t li = 0; li < lengths_.size(); ++li) {
      const int64_t n = lengths_[li];
      for (int64_t h = 0; h < heads_; ++h) {
        gaps[h].x.push_back(double(n));
        gaps[h].y.push_back(data[li].supported ? data[li].brow[size_t(h) * n + n - 1] -
                                                     data[li].brow[size_t(h) * n]
                                               : kNaN);
      }
    }
    double lo = kNaN, hi = kNaN;
    if (data.back().supported) {
      lo = hi = gaps[0].y.back();
      for (const auto& c : gaps) lo = std::min(lo, c.y.back()), hi = std::max(hi, c.y.back());
    }
    out.metrics.push_back({"logit_gap_head0", gaps[0].y.back(), "logit"});
    out.metrics.push_back({"logit_gap_min_head", lo, "logit"});
    out.metrics.push_back({"logit_gap_max_head", hi, "logit"});
    out.curves.insert(out.curves.end(), gaps.begin(), gaps.end());

    // Against the reference's range of values.
    const extrapolation::BiasRange range =
        extrapolation::bias_range(*ref.encoder, heads_, ref.length);
    Curve unseen{"unseen_bias_fraction", "length", "positions", "1", {}, {}};
    Curve ratio{"bias_range_ratio", "length", "positions", "1", {}, {}};
    for (size_t li = 0; li < lengths_.size(); ++li) {
      const int64_t n = lengths_[li];
      unseen.x.push_back(double(n)), ratio.x.push_back(double(n));
      if (!data[li].supported) {
        unseen.y.push_back(kNaN), ratio.y.push_back(kNaN);
        continue;
      }
      const auto nov = extrapolation::bias_novelty(data[li].brow.data(), heads_, n, range);
      unseen.y.push_back(nov.unseen_fraction), ratio.y.push_back(nov.range_ratio);
    }
    out.metrics.push_back({"unseen_bias_fraction", unseen.y.back(), "1"});
    out.metrics.push_back({"bias_range_ratio", ratio.y.back(), "1"});
    out.curves.insert(out.curves.end(), {unseen, ratio});
  }

  // One row per length: every curve with x = length at that length (null where it has none).
  nlohmann::json per_length_table(const std::vector<Curve>& curves) const {
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t n : lengths_) {
      nlohmann::json row = {{"length", n}};
      for (const Curve& c : curves) {
        if (c.x_name != "length") continue;
        nlohmann::json v = nullptr;
        for (size_t k = 0; k < c.x.size(); ++k)
          if (c.x[k] == double(n) && std::isfinite(c.y[k])) v = c.y[k];
        row[c.name] = v;
      }
      rows.push_back(row);
    }
    return rows;
  }

  int64_t dim_, heads_, samples_, train_, window_;
  double content_std_;
  std::shared_ptr<const ContentModel> content_;
  bool shared_;    // one k at every key (every model but independent)
  int64_t draws_;  // content pairs averaged: samples (random models), 1 (ones), N (file)
  std::vector<int64_t> lengths_;  // sorted, unique, lengths_[0] = train_length
};

std::vector<ParamSpec> length_extrapolation_params() {
  std::vector<ParamSpec> specs = property_common_params(
      "unused by this experiment (lengths come from train_length / eval_lengths)",
      "random draws of the content q, k per length");
  specs.push_back(
      ParamSpec::integer("train_length", 512, "training length L").at_least(2).at_most(1 << 24));
  specs.push_back(ParamSpec::number_list("eval_lengths", nullptr,
                                         "lengths n >= train_length to evaluate (default: "
                                         "train_length * [1, 2, 4, 8, 16])")
                      .at_least(2)
                      .at_most(1 << 24));
  specs.push_back(
      ParamSpec::integer("window", 64, "attention mass is measured on the last `window` keys")
          .at_least(1)
          .at_most(1 << 24));
  specs.push_back(ParamSpec::number("content_std", 1.0,
                                    "scale of the content q, k (random models: their standard "
                                    "deviation; ones, file: a factor; 0: position-only logits)")
                      .at_least(0));
  specs.push_back(content_param());
  return specs;
}

const ExperimentRegistration kRegistration{{
    .name = "length_extrapolation",
    .description = "drift from train_length L to longer n: attention entropy/locality; against "
                   "a pretrained reference (an encoder entry's \"reference\": {name, params, "
                   "length}; default: a scaled RoPE without scaling at its original length, "
                   "else the scheme at L): rotary unseen angles (YaRN), additive novelty, bias "
                   "values out of range",
    .params = length_extrapolation_params(),
    .metrics = extrapolation::length_extrapolation_metrics(),
    .factory = [](const Params& p) { return std::make_unique<LengthExtrapolation>(p); },
}};

}  // namespace
}  // namespace posbench
