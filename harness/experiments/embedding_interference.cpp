// embedding_interference — the seed's question, measured: a transformer's input is
// x = e_w + PE(p), content (the token's embedding) and "page number" added into one vector; can
// the two still be told apart? Per family, with token embeddings E [vocab, dim] and seeded
// projections W_q, W_k [dim, dim]:
//
// Embeddings: E = sigma * Z, Z [V, d] the N(0, 1) draws of Rng(seed, "embedding_interference/
// embeddings/d=<dim>") (row-major), sigma = `embedding_std` (std_unit "absolute") or
// embedding_std / sqrt(dim) ("inv_sqrt_dim"); or E read from the .npy `embeddings` [V, d]
// (float32/float64), as is ("as_is") or rescaled so that its entries' RMS is sigma ("to_std").
// Common conventions: 0.02 (BERT/GPT-2 init), 1/sqrt(d) (unit-norm rows), 1 (unit entries; the
// scale a sinusoidal table's entries have).
// Projections: W_q, W_k entries N(0, 1/d) (Rng streams "embedding_interference/w_q/d=<dim>",
// ".../w_k/d=<dim>"), so q = W_q^T e keeps |e| on average; `projection` "identity" sets both to
// I (the raw dot product, which makes cross terms of orthogonal subspaces exactly 0).
// Pairs (stream "embedding_interference/pairs", drawn once, independent of dim and scale):
//   probe pairs: `samples` (token, position) with even tokens (the fit set) and `samples` with
//     odd tokens (the unseen set), positions uniform in [0, N), N = `positions`;
//   logit grid: `samples` content pairs (w_i, w_j) x `samples` position pairs (p_i, p_j), all
//     uniform; a sentence of `sentence_length` tokens at positions 0, 1, ...
//
// Metrics (all "1" but rmse [positions]; null where a measure means nothing for the family, the
// reason in extra.not_applicable):
//   additive (x = e_w + PE(p)):
//     position_nearest_pe_accuracy: argmin_q |x - PE(q)|^2 == p over all probe pairs (exact ties
//       shared, so PE = 0 gives exactly position_chance_accuracy = 1/N);
//     position_ridge_r2_unseen_tokens / _train, position_ridge_rmse_unseen_tokens: ridge probe
//       x -> p (as position_probe: centred, lambda = `ridge` * trace(Xc^T Xc) / d, LDLT) fit on
//       the even-token pairs, scored on the odd-token pairs;
//     token_accuracy_with_position / _without_position: argmax_v cos(x, e_v) == w, for x and for
//       e_w alone (token_chance_accuracy = 1/V);
//     norm_ratio_mean / _min / _max / _cv: |PE(p)| / mean_w |e_w| over p in [0, N) (cv = std /
//       mean), mean_embedding_norm;
//     subspace_overlap: mean cos^2 of the principal angles between the top `top_k` principal
//       directions of the PE table (over positions) and of E (over the vocabulary);
//       subspace_overlap_chance = k_P k_E / (d min(k_P, k_E)), its expectation for random
//       subspaces; max_principal_cosine;
//     logit_share_{content_content, content_position, position_content, position_position}
//       (Ke et al. 2021, TUPE): (e_i + p_i) W_q W_k^T (e_j + p_j)^T = e_i A e_j + e_i A p_j +
//       p_i A e_j + p_i A p_j (A = W_q W_k^T) over the logit grid; share = Cov(term, logit) /
//       Var(logit), the four sum to 1.
//   every family: logit_share_position_given_content = E_c[Var_m(s)] / Var(s) over the grid
//     (law of total variance: the part of the logit variance that position explains with the
//     content pair fixed); additive s as above, rotary s = (R(p_i) W_q^T e_i) . (R(p_j) W_k^T
//     e_j) = q_i^T R(p_j - p_i) k_j for RoPE, bias s = e_i A e_j + b_h(p_i, p_j) (mean over
//     heads); token_accuracy_without_position.
//   rotary: token_accuracy_with_position from x = R(p) e_w (rotated as a query).
//   bias: logit_share_position_bias = Cov(b, s) / Var(s) (mean over heads; per head in the curve
//     logit_share_position_bias_by_head): the bias is a separate term by construction, so this is
//     its share at the same content scale, and equals logit_share_position_given_content.
// Curves: norm_ratio (x position), principal_angle_cosine (x index); with `std_sweep` /
// `dim_sweep`, every applicable metric as <metric>_by_embedding_std / <metric>_by_dim.
// extra.seed_picture: the sentence's x_t (additive e_w + PE(t), rotary R(t) e_w), its first two
// raw components and its first two principal components (centred, orientation fixed), coloured
// by position; extra.logit_variance_shares: {terms, shares} summing to 1, one stacked bar per
// scheme; extra.logit_sample: the first 4 x 4 grid cells (tokens, positions, logit; additive also
// the four terms; bias: head 0).
// Parallel loops write per-row results that are summed in order, Eigen is single-threaded
// (EIGEN_DONT_PARALLELIZE): identical numbers at any thread count.
#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "encoders/npy.h"
#include "encoders/rng.h"
#include "encoders/weight_init.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/position_features.h"
#include "harness/experiments/embedding_interference_measures.h"

namespace posbench {
namespace {

using nlohmann::json;
namespace ii = interference;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kSampleCells = 4;  // extra.logit_sample: the grid cells (c, m), c, m < 4

// Index uniform in [0, n).
int64_t draw_index(Rng& rng, int64_t n) { return std::min(n - 1, int64_t(rng.uniform() * n)); }

// Drawn once per run: which tokens and positions are probed (independent of dim and scale).
struct Draws {
  std::vector<int64_t> tokens[2], positions[2];  // probe pairs: [0] even tokens, [1] odd [S]
  std::vector<int64_t> wi, wj, pi, pj;           // logit grid: content and position pairs [S]
  std::vector<int64_t> sentence;                 // [sentence_length]
};

// Everything that depends on dim but not on the scale.
struct AtDim {
  int64_t dim = 0;
  RowMatrix Z;                         // [V, d] embeddings at unit scale
  RowMatrix P;                         // additive: PE(p), p in [0, N)  [N, d]
  std::vector<double> cq, sq, ck, sk;  // rotary: coefficients [N, d'/2], query and key role
  RowMatrix Wq, Wk;                    // [d, d]
  RowMatrix bias;                      // bias: b_h(pi[m], pj[m])  [heads, S]
  RotaryPairing pairing = RotaryPairing::half;
  int64_t rotary_dims = 0;
};

// What only the main measurement (dim, embedding_std) reports besides the metrics.
struct Details {
  std::vector<Curve> curves;
  json extra = json::object();
};

// The rows `idx` of M.
RowMatrix rows_of(const RowMatrix& M, const std::vector<int64_t>& idx) {
  RowMatrix out(int64_t(idx.size()), M.cols());
  for (size_t t = 0; t < idx.size(); ++t) out.row(int64_t(t)) = M.row(idx[t]);
  return out;
}

json to_json(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

class EmbeddingInterference final : public Experiment {
 public:
  explicit EmbeddingInterference(const Params& p)
      : dim_(p.integer("dim")),
        heads_(p.integer("heads")),
        positions_(p.integer("positions")),
        samples_(p.integer("samples")),
        top_k_(p.integer("top_k")),
        sentence_(p.integer("sentence_length")),
        std_(p.number("embedding_std")),
        ridge_(p.number("ridge")),
        inv_sqrt_dim_(p.string("std_unit") == "inv_sqrt_dim"),
        identity_(p.string("projection") == "identity"),
        to_std_(p.string("embeddings_scale") == "to_std"),
        std_sweep_(p.numbers("std_sweep")),
        dim_sweep_(p.integers("dim_sweep")) {
    if (sentence_ > positions_)
      throw UserError("sentence_length",
                      got_expected(sentence_, "at most positions (" + std::to_string(positions_) +
                                                  "): the sentence sits at positions 0, 1, ..."));
    for (size_t i = 0; i < dim_sweep_.size(); ++i)
      if (dim_sweep_[i] < top_k_)
        throw UserError(
            index_path("dim_sweep", i),
            got_expected(dim_sweep_[i], "a dim >= top_k (" + std::to_string(top_k_) + ")"));
    if (top_k_ > dim_)
      throw UserError("top_k", got_expected(top_k_, "at most dim (" + std::to_string(dim_) + ")"));
    if (!p.has("embeddings")) {
      if (to_std_)
        throw UserError("embeddings_scale",
                        "\"to_std\" rescales a loaded matrix, but no `embeddings` file is given; "
                        "expected \"as_is\" or an `embeddings` path");
      vocab_ = p.has("vocab") ? p.integer("vocab") : 1024;
      return;
    }
    path_ = p.string("embeddings");
    if (p.has("vocab"))
      throw UserError("vocab", got_expected(p.json("vocab"),
                                            "no vocab: the vocabulary is the rows of the "
                                            "embeddings file " +
                                                path_));
    if (!dim_sweep_.empty())
      throw UserError("dim_sweep", got_expected(p.json("dim_sweep"),
                                                "[] with an embeddings file (its width is fixed)"));
    if (!to_std_ && !std_sweep_.empty())
      throw UserError(
          "std_sweep",
          got_expected(p.json("std_sweep"),
                       "[] with embeddings_scale \"as_is\" (a loaded matrix has its own "
                       "scale; \"to_std\" rescales it)"));
    // The header only (shape, dtype, size); the data is read when the experiment runs, after
    // the memory guard, so `validate` never reads it.
    try {
      header_ = read_npy_header(path_);
    } catch (const UserError& e) {
      throw UserError("embeddings", e.message());
    }
    const std::vector<int64_t>& shape = header_.shape;
    if (shape.size() != 2 || shape[0] < 2)
      throw UserError("embeddings", path_ + ": has shape " + npy_shape_text(shape) +
                                        ", expected a 2-D matrix (vocab, dim) with vocab >= 2");
    if (shape[1] != dim_)
      throw UserError("embeddings", path_ + ": has shape " + npy_shape_text(shape) + " with " +
                                        std::to_string(shape[1]) + " columns, but dim is " +
                                        std::to_string(dim_) + "; expected shape (vocab, " +
                                        std::to_string(dim_) + ")");
    vocab_ = shape[0];
  }

  void check(const EncoderInstance& enc) const override {
    for (int64_t d : dims()) enc.encoder->check_shape(d, heads_);
  }

  uint64_t memory_bytes(const EncoderInstance&) const override {
    const std::vector<int64_t> all = dims();
    const int64_t d = *std::max_element(all.begin(), all.end());
    const int64_t V = vocab_, N = positions_, S = samples_;
    // Float64 values: Z, E and row copies [V, d] x 3; the PE table and rotary coefficients
    // [N, d] x 3; probe vectors and projected rows [S, d] x 12; the logit grid's terms, logits
    // and products [S, S] x 10; projections [d, d] x 4; bias values [heads, S]; per-thread
    // rotation buffers. Plus the embeddings file's data and its float64 copy.
    const CheckedSize values = CheckedSize(V) * d * 3 + CheckedSize(N) * d * 3 +
                               CheckedSize(S) * d * 12 + CheckedSize(S) * S * 10 +
                               CheckedSize(d) * d * 4 + CheckedSize(heads_) * S +
                               CheckedSize(d) * 64;
    return (values * 8 + (path_.empty() ? 0 : loaded_npy_bytes(header_))).saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    const Draws draws = draw(ctx.seed);
    EncoderOutcome out;
    Details details;
    const AtDim main = at_dim(enc, dim_, draws, ctx.seed, enc.path);
    out.metrics = measure(enc.family, main, sigma(std_, dim_), draws, &details);
    out.curves = std::move(details.curves);
    out.extra = std::move(details.extra);
    const auto& na = ii::not_applicable_reasons().at(enc.family);
    auto applicable = [&](const Metric& m) { return !na.count(m.name); };

    const std::string std_x_unit = inv_sqrt_dim_ ? "1/sqrt(dim)" : "1";
    if (!std_sweep_.empty()) {
      std::vector<std::vector<Metric>> rows;
      for (double s : std_sweep_)
        rows.push_back(measure(enc.family, main, sigma(s, dim_), draws, nullptr));
      add_sweep_curves(out, rows, std_sweep_, "_by_embedding_std", "embedding_std", std_x_unit,
                       applicable);
    }
    if (!dim_sweep_.empty()) {
      std::vector<std::vector<Metric>> rows;
      std::vector<double> xs;
      for (int64_t d : dim_sweep_) {
        rows.push_back(measure(enc.family, at_dim(enc, d, draws, ctx.seed, enc.path),
                               sigma(std_, d), draws, nullptr));
        xs.push_back(double(d));
      }
      add_sweep_curves(out, rows, xs, "_by_dim", "dim", "channels", applicable);
    }
    json na_json = json::object();
    for (const auto& [name, why] : na) na_json[name] = why;
    out.extra["not_applicable"] = na_json;
    out.extra["embeddings"] = {
        {"source", path_.empty() ? "seeded normal draws (stream embedding_interference/"
                                   "embeddings/d=<dim>)"
                                 : path_},
        {"vocab", vocab_},
        {"dim", dim_},
        {"std", (path_.empty() || to_std_) ? json(sigma(std_, dim_)) : json(nullptr)},
        {"std_unit", inv_sqrt_dim_ ? "inv_sqrt_dim" : "absolute"},
        {"scale", path_.empty() ? "std * N(0, 1)"
                  : to_std_     ? "rescaled to RMS std"
                                : "as_is"}};
    out.extra["projection"] = identity_ ? "identity (W_q = W_k = I)" : "W_q, W_k ~ N(0, 1/dim)";
    if (enc.family != Family::additive)
      out.note = std::string(enc.family == Family::rotary ? "rotary" : "bias") +
                 ": measures of the sum e_w + PE(p) are null (extra.not_applicable says why)";
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>&, ExperimentResult& r) const override {
    r.summary_columns = {"position_nearest_pe_accuracy",
                         "position_ridge_r2_unseen_tokens",
                         "token_accuracy_with_position",
                         "norm_ratio_mean",
                         "subspace_overlap",
                         "logit_share_position_position",
                         "logit_share_position_given_content",
                         "logit_share_position_bias"};
    r.summary_title = "embedding_std " + json(std_).dump() + (inv_sqrt_dim_ ? "/sqrt(dim)" : "") +
                      ", dim " + std::to_string(dim_);
  }

 private:
  std::vector<int64_t> dims() const {
    std::vector<int64_t> d = {dim_};
    d.insert(d.end(), dim_sweep_.begin(), dim_sweep_.end());
    return d;
  }

  double sigma(double s, int64_t d) const { return inv_sqrt_dim_ ? s / std::sqrt(double(d)) : s; }

  Draws draw(uint64_t seed) const {
    Rng rng(seed, "embedding_interference/pairs");
    Draws dr;
    const int64_t even = (vocab_ + 1) / 2, odd = vocab_ / 2;
    for (int set = 0; set < 2; ++set)
      for (int64_t s = 0; s < samples_; ++s) {
        dr.tokens[set].push_back(2 * draw_index(rng, set == 0 ? even : odd) + set);
        dr.positions[set].push_back(draw_index(rng, positions_));
      }
    for (int64_t s = 0; s < samples_; ++s) {
      dr.wi.push_back(draw_index(rng, vocab_)), dr.wj.push_back(draw_index(rng, vocab_));
      dr.pi.push_back(draw_index(rng, positions_)), dr.pj.push_back(draw_index(rng, positions_));
    }
    for (int64_t t = 0; t < sentence_; ++t) dr.sentence.push_back(draw_index(rng, vocab_));
    return dr;
  }

  // The embeddings at unit scale [V, d]: the normal draws, or the file (divided by its RMS when
  // rescaled; as is otherwise, with sigma then ignored).
  RowMatrix unit_embeddings(int64_t d, uint64_t seed, const std::string& enc_path) const {
    if (path_.empty()) {
      const std::vector<double> z =
          Rng(seed, "embedding_interference/embeddings/d=" + std::to_string(d))
              .normal_vector(vocab_ * d);
      return Eigen::Map<const RowMatrix>(z.data(), vocab_, d);
    }
    const std::shared_ptr<const std::vector<double>> data = file_.get([&] {
      try {
        return read_checked_npy_param(path_, header_).as_double();
      } catch (const UserError& e) {
        // The experiment's path: the encoder entry's without ".encoders[k]".
        const std::string exp = enc_path.substr(0, enc_path.rfind(".encoders["));
        throw UserError(join_path(exp, "embeddings"), e.message());
      }
    });
    RowMatrix Z = Eigen::Map<const RowMatrix>(data->data(), vocab_, d);
    if (to_std_) {
      const double rms = std::sqrt(Z.squaredNorm() / double(Z.size()));
      if (rms > 0) Z /= rms;
    }
    return Z;
  }

  AtDim at_dim(const EncoderInstance& enc, int64_t d, const Draws& dr, uint64_t seed,
               const std::string& enc_path) const {
    const Encoder& e = *enc.encoder;
    AtDim a;
    a.dim = d;
    a.Z = unit_embeddings(d, seed, enc_path);
    if (identity_) {
      a.Wq = a.Wk = RowMatrix::Identity(d, d);
    } else {
      const double s = 1.0 / std::sqrt(double(d));
      const std::string suffix = "/d=" + std::to_string(d);
      const auto wq = Rng(seed, "embedding_interference/w_q" + suffix).normal_vector(d * d, s);
      const auto wk = Rng(seed, "embedding_interference/w_k" + suffix).normal_vector(d * d, s);
      a.Wq = Eigen::Map<const RowMatrix>(wq.data(), d, d);
      a.Wk = Eigen::Map<const RowMatrix>(wk.data(), d, d);
    }
    const std::vector<int64_t> pos = position_range(0, positions_);
    switch (enc.family) {
      case Family::additive:
        a.P = position_encodings(e, pos, d, {}, positions_);
        break;
      case Family::rotary: {
        a.rotary_dims = e.rotary_dims(d), a.pairing = e.rotary_pairing();
        const size_t n = size_t(positions_ * (a.rotary_dims / 2));
        a.cq.resize(n), a.sq.resize(n), a.ck.resize(n), a.sk.resize(n);
        e.rotary_coefficients(pos, d, {Role::query, positions_}, a.cq.data(), a.sq.data());
        e.rotary_coefficients(pos, d, {Role::key, positions_}, a.ck.data(), a.sk.data());
        break;
      }
      case Family::bias: {
        a.bias.resize(heads_, samples_);
        std::vector<double> b(static_cast<size_t>(heads_));
        for (int64_t m = 0; m < samples_; ++m) {
          e.bias(std::span(&dr.pi[size_t(m)], 1), std::span(&dr.pj[size_t(m)], 1), heads_,
                 b.data());
          for (int64_t h = 0; h < heads_; ++h) a.bias(h, m) = b[size_t(h)];
        }
        break;
      }
    }
    return a;
  }

  // x rotated at position p (query or key coefficients), in place; x [d].
  static void rotate_at(const AtDim& a, bool query, int64_t p, double* x) {
    const size_t off = size_t(p * (a.rotary_dims / 2));
    const std::vector<double>& c = query ? a.cq : a.ck;
    const std::vector<double>& s = query ? a.sq : a.sk;
    rotate_vector(a.pairing, a.rotary_dims, &c[off], &s[off], x);
  }

  std::vector<Metric> measure(Family family, const AtDim& a, double sigma, const Draws& dr,
                              Details* details) const;

  void add_sweep_curves(EncoderOutcome& out, const std::vector<std::vector<Metric>>& rows,
                        const std::vector<double>& xs, const std::string& suffix,
                        const std::string& x_name, const std::string& x_unit,
                        const std::function<bool(const Metric&)>& applicable) const {
    for (size_t k = 0; k < rows[0].size(); ++k) {
      if (!applicable(rows[0][k])) continue;
      Curve c{rows[0][k].name + suffix, x_name, x_unit, rows[0][k].unit, xs, {}};
      for (const auto& r : rows) c.y.push_back(r[k].value);
      out.curves.push_back(std::move(c));
    }
  }

  int64_t dim_, heads_, positions_, samples_, top_k_, sentence_;
  double std_, ridge_;
  bool inv_sqrt_dim_, identity_, to_std_;
  std::vector<double> std_sweep_;
  std::vector<int64_t> dim_sweep_;
  int64_t vocab_ = 0;
  std::string path_;
  NpyHeader header_;
  LoadedOnce<std::vector<double>> file_;
};

std::vector<Metric> EmbeddingInterference::measure(Family family, const AtDim& a, double sigma,
                                                   const Draws& dr, Details* details) const {
  const int64_t d = a.dim, S = samples_;
  const bool additive = family == Family::additive, rotary = family == Family::rotary;
  // E [V, d]: the unit-scale matrix times sigma, or a loaded matrix as it is.
  const RowMatrix E = (path_.empty() || to_std_) ? RowMatrix(a.Z * sigma) : a.Z;
  std::map<std::string, double> v;
  json undefined = json::object();  // measures without a value at these numbers, and why

  // The vector a token at a position becomes: e_w + PE(p), R(p) e_w, or e_w (bias). [rows, d]
  auto vectors = [&](const std::vector<int64_t>& tokens, const std::vector<int64_t>& pos) {
    RowMatrix X = rows_of(E, tokens);
    if (additive) X += rows_of(a.P, pos);
    if (rotary)
      for (int64_t t = 0; t < X.rows(); ++t) rotate_at(a, true, pos[size_t(t)], X.row(t).data());
    return X;
  };

  // Probe pairs: the fit set (even tokens) then the unseen set (odd tokens).
  std::vector<int64_t> tokens = dr.tokens[0], pos = dr.positions[0];
  tokens.insert(tokens.end(), dr.tokens[1].begin(), dr.tokens[1].end());
  pos.insert(pos.end(), dr.positions[1].begin(), dr.positions[1].end());
  const RowMatrix X = vectors(tokens, pos);  // [2S, d]
  v["position_chance_accuracy"] = 1.0 / double(positions_);
  v["token_chance_accuracy"] = 1.0 / double(vocab_);
  v["token_accuracy_without_position"] = ii::nearest_cosine_accuracy(rows_of(E, tokens), E, tokens);
  if (family != Family::bias)
    v["token_accuracy_with_position"] = ii::nearest_cosine_accuracy(X, E, tokens);
  const Eigen::VectorXd e_norms = E.rowwise().norm();
  v["mean_embedding_norm"] = e_norms.mean();

  if (additive) {
    v["position_nearest_pe_accuracy"] = ii::nearest_l2_accuracy(X, a.P, pos);
    Eigen::VectorXd y_fit(S), y_unseen(S);
    for (int64_t s = 0; s < S; ++s)
      y_fit[s] = double(dr.positions[0][size_t(s)]),
      y_unseen[s] = double(dr.positions[1][size_t(s)]);
    const ii::RidgeScore r =
        ii::ridge_fit_score(X.topRows(S), y_fit, X.bottomRows(S), y_unseen, ridge_);
    v["position_ridge_r2_unseen_tokens"] = r.r2_test;
    v["position_ridge_r2_train"] = r.r2_train;
    v["position_ridge_rmse_unseen_tokens"] = r.rmse_test;

    // |PE(p)| / mean_w |e_w| over p in [0, N).
    const double mean_e = e_norms.mean();
    const Eigen::VectorXd ratio = a.P.rowwise().norm() / mean_e;
    if (mean_e > 0) {
      const double mean = ratio.mean();
      v["norm_ratio_mean"] = mean;
      v["norm_ratio_min"] = ratio.minCoeff();
      v["norm_ratio_max"] = ratio.maxCoeff();
      v["norm_ratio_cv"] =
          mean > 0 ? std::sqrt((ratio.array() - mean).square().mean()) / mean : kNaN;
      if (!(mean > 0)) undefined["norm_ratio_cv"] = "PE = 0: the ratio is 0 at every position";
    } else {
      for (const char* name :
           {"norm_ratio_mean", "norm_ratio_min", "norm_ratio_max", "norm_ratio_cv"})
        undefined[name] = "E = 0: no embedding norm to compare with";
    }
    if (details && mean_e > 0) {
      Curve c{"norm_ratio", "position", "positions", "1", {}, {}};
      for (int64_t p = 0; p < positions_; ++p) c.x.push_back(double(p)), c.y.push_back(ratio[p]);
      details->curves.push_back(std::move(c));
    }

    const Eigen::MatrixXd Up = ii::principal_directions(a.P, top_k_);
    const Eigen::MatrixXd Ue = ii::principal_directions(E, top_k_);
    if (Up.cols() > 0 && Ue.cols() > 0) {
      const Eigen::VectorXd cosines = ii::principal_angle_cosines(Up, Ue);
      v["subspace_overlap"] = cosines.squaredNorm() / double(cosines.size());
      v["subspace_overlap_chance"] =
          double(Up.cols() * Ue.cols()) / (double(d) * double(std::min(Up.cols(), Ue.cols())));
      v["max_principal_cosine"] = cosines[0];
      if (details) {
        Curve c{"principal_angle_cosine", "index", "1", "1", {}, {}};
        for (int64_t i = 0; i < cosines.size(); ++i)
          c.x.push_back(double(i)), c.y.push_back(cosines[i]);
        details->curves.push_back(std::move(c));
      }
    } else {
      for (const char* name :
           {"subspace_overlap", "subspace_overlap_chance", "max_principal_cosine"})
        undefined[name] = Up.cols() == 0 ? "the PE table has no variance over positions"
                                         : "E has no variance over the vocabulary";
    }
  }

  // The logit grid: content pair c (rows) x position pair m (columns). Qe, Ke [S, d]: row c is
  // (W_q^T e_{w_i})^T, (W_k^T e_{w_j})^T.
  const RowMatrix Qe = rows_of(E, dr.wi) * a.Wq, Ke = rows_of(E, dr.wj) * a.Wk;
  const Eigen::VectorXd cc = Qe.cwiseProduct(Ke).rowwise().sum();  // [S]
  RowMatrix logits(S, S);
  json shares_bar;
  RowMatrix cp_pc[2];    // additive: content-position, position-content terms [S, S] (c, m)
  Eigen::VectorXd pp_m;  // additive: position-position term [S] over m
  if (additive) {
    const RowMatrix Qp = rows_of(a.P, dr.pi) * a.Wq, Kp = rows_of(a.P, dr.pj) * a.Wk;
    pp_m = Qp.cwiseProduct(Kp).rowwise().sum();
    cp_pc[0] = Qe * Kp.transpose();
    cp_pc[1] = Ke * Qp.transpose();
    const RowMatrix& CP = cp_pc[0];
    const RowMatrix& PC = cp_pc[1];
    const Eigen::VectorXd& pp = pp_m;
    std::vector<std::vector<double>> terms(4, std::vector<double>(size_t(S * S)));
    for (int64_t c = 0; c < S; ++c)
      for (int64_t m = 0; m < S; ++m) {
        const size_t k = size_t(c * S + m);
        terms[0][k] = cc[c], terms[1][k] = CP(c, m), terms[2][k] = PC(c, m), terms[3][k] = pp[m];
        logits(c, m) = ((cc[c] + CP(c, m)) + PC(c, m)) + pp[m];
      }
    const std::vector<double> sh = ii::covariance_shares(terms);
    const char* names[4] = {"logit_share_content_content", "logit_share_content_position",
                            "logit_share_position_content", "logit_share_position_position"};
    for (int t = 0; t < 4; ++t) v[names[t]] = sh[size_t(t)];
    shares_bar = {
        {"terms", {"content-content", "content-position", "position-content", "position-position"}},
        {"shares", sh}};
    v["logit_share_position_given_content"] = ii::within_row_variance_share(logits);
  } else if (rotary) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < S; ++c) {
      std::vector<double> q(static_cast<size_t>(d)), k(static_cast<size_t>(d));
      for (int64_t m = 0; m < S; ++m) {
        std::copy(Qe.row(c).data(), Qe.row(c).data() + d, q.begin());
        std::copy(Ke.row(c).data(), Ke.row(c).data() + d, k.begin());
        rotate_at(a, true, dr.pi[size_t(m)], q.data());
        rotate_at(a, false, dr.pj[size_t(m)], k.data());
        double dot = 0;
        for (int64_t i = 0; i < d; ++i) dot += q[size_t(i)] * k[size_t(i)];
        logits(c, m) = dot;
      }
    }
    const double w = ii::within_row_variance_share(logits);
    v["logit_share_position_given_content"] = w;
    shares_bar = {{"terms", {"content (between content pairs)", "position given content"}},
                  {"shares", {1.0 - w, w}}};
  } else {
    // Per head h: s = e_i A e_j + b_h(p_i, p_j); the shares are the mean over heads.
    double share_c = 0, share_b = 0, within = 0;
    RowMatrix head0;
    Curve by_head{"logit_share_position_bias_by_head", "head", "index", "1", {}, {}};
    std::vector<std::vector<double>> terms(2, std::vector<double>(size_t(S * S)));
    for (int64_t h = 0; h < heads_; ++h) {
      for (int64_t c = 0; c < S; ++c)
        for (int64_t m = 0; m < S; ++m) {
          terms[0][size_t(c * S + m)] = cc[c], terms[1][size_t(c * S + m)] = a.bias(h, m);
          logits(c, m) = cc[c] + a.bias(h, m);
        }
      if (h == 0) head0 = logits;
      const std::vector<double> sh = ii::covariance_shares(terms);
      share_c += sh[0], share_b += sh[1];
      within += ii::within_row_variance_share(logits);
      by_head.x.push_back(double(h)), by_head.y.push_back(sh[1]);
    }
    v["logit_share_position_bias"] = share_b / double(heads_);
    v["logit_share_position_given_content"] = within / double(heads_);
    shares_bar = {{"terms", {"content", "position (bias)"}},
                  {"shares", {share_c / double(heads_), share_b / double(heads_)}}};
    if (details) details->curves.push_back(std::move(by_head));
    logits = head0;  // the sample below shows head 0
  }

  if (details) {
    // The first cells of the grid, so the logits can be checked from outside; additive: with
    // its four terms [content-content, content-position, position-content, position-position].
    json sample = json::array();
    for (int64_t c = 0; c < std::min(S, kSampleCells); ++c)
      for (int64_t m = 0; m < std::min(S, kSampleCells); ++m) {
        json cell = {{"token_i", dr.wi[size_t(c)]},
                     {"token_j", dr.wj[size_t(c)]},
                     {"position_i", dr.pi[size_t(m)]},
                     {"position_j", dr.pj[size_t(m)]},
                     {"logit", logits(c, m)}};
        if (additive) cell["terms"] = {cc[c], cp_pc[0](c, m), cp_pc[1](c, m), pp_m[m]};
        sample.push_back(cell);
      }
    details->extra["logit_sample"] = sample;
  }

  if (details) {
    details->extra["logit_variance_shares"] = shares_bar;
    details->extra["undefined"] = undefined;
    if (family != Family::bias) {
      // The seed's picture: the sentence's vectors, first two raw and principal components.
      const RowMatrix Xs = vectors(dr.sentence, position_range(0, sentence_));
      double explained[2];
      const RowMatrix pcs = ii::first_two_principal_components(Xs, explained);
      details->extra["seed_picture"] = {
          {"vector", additive ? "e_w + PE(t)" : "R(t) e_w"},
          {"positions", position_range(0, sentence_)},
          {"tokens", dr.sentence},
          {"raw", {{"component_0", to_json(Xs.col(0))}, {"component_1", to_json(Xs.col(1))}}},
          {"principal",
           {{"pc_1", to_json(pcs.col(0))},
            {"pc_2", to_json(pcs.col(1))},
            {"explained_variance_ratio", {explained[0], explained[1]}}}}};
    } else {
      details->extra["seed_picture"] = nullptr;
    }
  }

  std::vector<Metric> out;
  for (const auto& [name, unit] : ii::metric_names_and_units()) {
    auto it = v.find(name);
    out.push_back({name, it == v.end() ? kNaN : it->second, unit});
  }
  return out;
}

std::vector<ParamSpec> embedding_interference_params() {
  return {
      ParamSpec::integer("dim", 64,
                         "embedding width (additive), head width (rotary), content width (bias)")
          .at_least(2)
          .at_most(4096),
      ParamSpec::integer("heads", 8, "attention heads (bias schemes)").at_least(1).at_most(256),
      ParamSpec::integer("positions", 128, "positions [0, positions) the pairs are drawn from")
          .at_least(2)
          .at_most(1 << 16),
      ParamSpec::integer("samples", 256,
                         "probe pairs per set (fit, unseen) and content / position pairs of the "
                         "logit grid (samples x samples logits)")
          .at_least(8)
          .at_most(4096),
      ParamSpec::integer("vocab", nullptr,
                         "rows of the seeded embedding matrix (default 1024; not with "
                         "`embeddings`, whose rows are the vocabulary)")
          .at_least(2)
          .at_most(1 << 20),
      ParamSpec::number("embedding_std", 0.02,
                        "std of the embeddings' entries, in std_unit (0 gives E = 0)")
          .at_least(0),
      ParamSpec::choice("std_unit", "absolute", {"absolute", "inv_sqrt_dim"},
                        "unit of embedding_std and std_sweep: absolute, or multiples of "
                        "1/sqrt(dim) (1 = unit-norm rows at every dim of dim_sweep)"),
      ParamSpec::number_list("std_sweep", json::array(),
                             "scales (in std_unit) for the <metric>_by_embedding_std curves; [] "
                             "for none")
          .at_least(0),
      ParamSpec::list_of("dim_sweep",
                         ParamSpec::integer("dim", nullptr, "a width").at_least(2).at_most(4096),
                         json::array(), "dims for the <metric>_by_dim curves; [] for none"),
      ParamSpec::integer("top_k", 8, "principal directions compared (subspace overlap)")
          .at_least(1),
      ParamSpec::number("ridge", 1e-3,
                        "ridge lambda relative to the mean eigenvalue of the centred Gram matrix")
          .above(0),
      ParamSpec::choice("projection", "random", {"random", "identity"},
                        "W_q, W_k: random N(0, 1/dim) (seeded) or the identity (raw dot product)"),
      ParamSpec::integer("sentence_length", 32,
                         "tokens of the seed picture's sentence (positions 0, 1, ...)")
          .at_least(2)
          .at_most(256),
      ParamSpec::path("embeddings",
                      "optional .npy (float32/float64) embedding matrix [vocab, dim], e.g. a real "
                      "model's, instead of the seeded draws"),
      ParamSpec::choice("embeddings_scale", "as_is", {"as_is", "to_std"},
                        "a loaded matrix: as is, or rescaled so its entries' RMS is embedding_std"),
  };
}

const ExperimentRegistration kRegistration{{
    .name = "embedding_interference",
    .description = "x = e_w + PE(p): can content and position be told apart after the sum? "
                   "position/token recoverability, norm ratio, subspace overlap, TUPE logit terms",
    .params = embedding_interference_params(),
    .metrics = ii::metric_specs(),
    .factory = [](const Params& p) { return std::make_unique<EmbeddingInterference>(p); },
}};

}  // namespace
}  // namespace posbench
