#include "harness/experiments/embedding_interference_measures.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/analysis/svd.h"

namespace posbench::interference {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Shared-tie accuracy of an argmin (or argmax) over keys, per query; score(s, k) is the value
// compared. Per-query results are written to their own slot and summed in order afterwards,
// so the value is the same at any thread count.
template <class Score>
double tie_shared_accuracy(int64_t queries, int64_t keys, const std::vector<int64_t>& truth,
                           bool largest, Score score) {
  std::vector<double> credit(size_t(queries), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < queries; ++s) {
    double best = largest ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity();
    int64_t ties = 0;
    bool truth_in = false;
    for (int64_t k = 0; k < keys; ++k) {
      const double v = score(s, k);
      const bool better = largest ? v > best : v < best;
      if (better) {
        best = v, ties = 1, truth_in = k == truth[size_t(s)];
      } else if (v == best) {
        ++ties;
        truth_in = truth_in || k == truth[size_t(s)];
      }
    }
    credit[size_t(s)] = truth_in ? 1.0 / double(ties) : 0.0;
  }
  double sum = 0;
  for (double c : credit) sum += c;
  return queries > 0 ? sum / double(queries) : kNaN;
}

}  // namespace

double nearest_l2_accuracy(const RowMatrix& queries, const RowMatrix& keys,
                           const std::vector<int64_t>& truth) {
  const int64_t d = queries.cols();
  return tie_shared_accuracy(queries.rows(), keys.rows(), truth, false, [&](int64_t s, int64_t k) {
    const double* x = queries.row(s).data();
    const double* y = keys.row(k).data();
    double sum = 0;
    for (int64_t c = 0; c < d; ++c) sum += (x[c] - y[c]) * (x[c] - y[c]);
    return sum;
  });
}

double nearest_cosine_accuracy(const RowMatrix& queries, const RowMatrix& keys,
                               const std::vector<int64_t>& truth) {
  const int64_t d = queries.cols();
  Eigen::VectorXd qn = queries.rowwise().norm(), kn = keys.rowwise().norm();
  return tie_shared_accuracy(queries.rows(), keys.rows(), truth, true, [&](int64_t s, int64_t k) {
    if (qn[s] == 0 || kn[k] == 0) return 0.0;
    const double* x = queries.row(s).data();
    const double* y = keys.row(k).data();
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) dot += x[c] * y[c];
    return dot / (qn[s] * kn[k]);
  });
}

RidgeScore ridge_fit_score(const RowMatrix& Xtr, const Eigen::VectorXd& ytr, const RowMatrix& Xte,
                           const Eigen::VectorXd& yte, double ridge) {
  const RidgeFit fit = ridge_fit(Xtr, ytr, ridge);
  RidgeScore r;
  r2_and_rmse(fit.predict(Xtr), ytr, r.r2_train, r.rmse_train);
  r2_and_rmse(fit.predict(Xte), yte, r.r2_test, r.rmse_test);
  return r;
}

Eigen::MatrixXd principal_directions(const RowMatrix& X, int64_t k) {
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
  Svd svd(Xc, Eigen::ComputeThinV);
  const Eigen::VectorXd& sv = svd.singularValues();
  int64_t keep = 0;
  const double top = sv.size() > 0 ? sv[0] : 0.0;
  while (keep < std::min<int64_t>(k, sv.size()) && top > 0 && sv[keep] > 1e-10 * top) ++keep;
  return svd.matrixV().leftCols(keep);
}

Eigen::VectorXd principal_angle_cosines(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V) {
  if (U.cols() == 0 || V.cols() == 0) return Eigen::VectorXd(0);
  const Eigen::MatrixXd M = U.transpose() * V;  // [ku, kv]
  Svd svd(M);
  // Rounding can put a cosine of parallel directions a few ulps above 1.
  return svd.singularValues().cwiseMin(1.0);
}

std::vector<double> covariance_shares(const std::vector<std::vector<double>>& terms) {
  const size_t T = terms.size(), S = T ? terms[0].size() : 0;
  std::vector<double> total(S, 0.0);
  for (size_t t = 0; t < T; ++t)
    for (size_t s = 0; s < S; ++s) total[s] += terms[t][s];
  auto mean = [&](const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x;
    return m / double(S);
  };
  const double mt = mean(total);
  double var = 0;
  for (double x : total) var += (x - mt) * (x - mt);
  std::vector<double> shares(T, kNaN);
  if (!(var > 0)) return shares;
  for (size_t t = 0; t < T; ++t) {
    const double m = mean(terms[t]);
    double cov = 0;
    for (size_t s = 0; s < S; ++s) cov += (terms[t][s] - m) * (total[s] - mt);
    shares[t] = cov / var;
  }
  return shares;
}

double within_row_variance_share(const RowMatrix& s) {
  const double mean = s.mean();
  const double total = (s.array() - mean).square().sum();
  if (!(total > 0)) return kNaN;
  double within = 0;
  for (int64_t g = 0; g < s.rows(); ++g) {
    const double mg = s.row(g).mean();
    within += (s.row(g).array() - mg).square().sum();
  }
  return within / total;  // both sums over all cells: E_g[Var_m] / Var with equal row sizes
}

RowMatrix first_two_principal_components(const RowMatrix& X, double explained[2]) {
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
  RowMatrix out = RowMatrix::Zero(X.rows(), 2);
  explained[0] = explained[1] = 0;
  const double total = Xc.squaredNorm();
  if (!(total > 0)) return out;
  Svd svd(Xc, Eigen::ComputeThinV);
  const Eigen::VectorXd& sv = svd.singularValues();
  for (int64_t c = 0; c < std::min<int64_t>(2, sv.size()); ++c) {
    if (!(sv[c] > 1e-10 * sv[0])) break;
    Eigen::VectorXd v = svd.matrixV().col(c);
    Eigen::Index arg = 0;
    v.cwiseAbs().maxCoeff(&arg);
    if (v[arg] < 0) v = -v;
    out.col(c) = Xc * v;
    explained[c] = sv[c] * sv[c] / total;
  }
  return out;
}

const std::vector<MetricSpec>& metric_specs() {
  // x = e_w + PE(p) for additive schemes; "tokens" are rows of E, "positions" rows of PE.
  static const std::vector<MetricSpec> m = {
      {"position_nearest_pe_accuracy", "1",
       "fraction of (token, p) whose x is nearest (L2) to PE(p) among all PE rows",
       "nope: chance (1/positions); sinusoidal with E = 0: 1"},
      {"position_chance_accuracy", "1", "1 / positions: what guessing scores", ""},
      {"position_ridge_r2_unseen_tokens", "1",
       "R^2 of a ridge probe x -> p fit on even tokens, scored on the unseen odd tokens", ""},
      {"position_ridge_r2_train", "1", "the same probe's R^2 on the tokens it was fit on", ""},
      {"position_ridge_rmse_unseen_tokens", "positions",
       "root-mean-square error of that probe's p on the unseen tokens", ""},
      {"token_accuracy_with_position", "1",
       "fraction of (token, p) whose x is nearest (cosine) to its own e_w among all rows of E",
       "nope: 1"},
      {"token_accuracy_without_position", "1", "the same decoding from e_w alone (no PE)",
       "1 unless two embeddings coincide"},
      {"token_chance_accuracy", "1", "1 / vocab: what guessing scores", ""},
      {"norm_ratio_mean", "1", "mean over p of |PE(p)| / mean |e_w|",
       "sinusoidal: sqrt(dim/2) / mean |e_w|"},
      {"norm_ratio_min", "1", "smallest |PE(p)| / mean |e_w| over p", ""},
      {"norm_ratio_max", "1", "largest |PE(p)| / mean |e_w| over p", ""},
      {"norm_ratio_cv", "1", "coefficient of variation of |PE(p)| over p", "sinusoidal: 0"},
      {"mean_embedding_norm", "1", "mean |e_w| over the vocabulary", ""},
      {"subspace_overlap", "1",
       "mean cos^2 of the principal angles between PE's and E's top principal subspaces",
       "random subspaces: subspace_overlap_chance"},
      {"subspace_overlap_chance", "1", "k / dim: the overlap of random k-dimensional subspaces",
       ""},
      {"max_principal_cosine", "1", "cosine of the smallest principal angle", ""},
      {"logit_share_content_content", "1",
       "Cov(e_i Wq Wk^T e_j, logit) / Var(logit) (TUPE's content-content term)", "nope: 1"},
      {"logit_share_content_position", "1", "the same share of e_i Wq Wk^T p_j", "nope: 0"},
      {"logit_share_position_content", "1", "the same share of p_i Wq Wk^T e_j", "nope: 0"},
      {"logit_share_position_position", "1", "the same share of p_i Wq Wk^T p_j; the four sum to 1",
       "nope: 0"},
      {"logit_share_position_given_content", "1",
       "share of Var(logit) that position explains with the content pair fixed (law of total "
       "variance)",
       "nope: 0"},
      {"logit_share_position_bias", "1",
       "bias schemes: Cov(b_h(i, j), logit) / Var(logit), mean over heads", ""},
  };
  return m;
}

const std::vector<std::pair<std::string, std::string>>& metric_names_and_units() {
  static const std::vector<std::pair<std::string, std::string>> m = [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const MetricSpec& spec : metric_specs()) out.emplace_back(spec.name, spec.unit);
    return out;
  }();
  return m;
}

const std::map<Family, std::map<std::string, std::string>>& not_applicable_reasons() {
  static const std::string no_sum_rot =
      "rotary: no PE vector is added to e_w; position enters through the angle between R(p_i) q "
      "and R(p_j) k (position_probe measures R(p) u)";
  static const std::string no_sum_bias =
      "bias: position never enters the token vector (x = e_w); it is a separate logit term";
  static const std::string four_rot =
      "rotary: no sum, so no four-term split; see "
      "logit_share_position_given_content";
  static const std::string four_bias =
      "bias: the logit is e_i A e_j + b_h(i, j), two terms by "
      "construction; see logit_share_position_bias";
  static const std::map<Family, std::map<std::string, std::string>> m = {
      {Family::additive, {{"logit_share_position_bias", "additive: no bias term"}}},
      {Family::rotary,
       {{"position_nearest_pe_accuracy", no_sum_rot},
        {"position_ridge_r2_unseen_tokens", no_sum_rot},
        {"position_ridge_r2_train", no_sum_rot},
        {"position_ridge_rmse_unseen_tokens", no_sum_rot},
        {"norm_ratio_mean", no_sum_rot},
        {"norm_ratio_min", no_sum_rot},
        {"norm_ratio_max", no_sum_rot},
        {"norm_ratio_cv", no_sum_rot},
        {"subspace_overlap", no_sum_rot},
        {"subspace_overlap_chance", no_sum_rot},
        {"max_principal_cosine", no_sum_rot},
        {"logit_share_content_content", four_rot},
        {"logit_share_content_position", four_rot},
        {"logit_share_position_content", four_rot},
        {"logit_share_position_position", four_rot},
        {"logit_share_position_bias", "rotary: no bias term"}}},
      {Family::bias,
       {{"position_nearest_pe_accuracy", no_sum_bias},
        {"position_ridge_r2_unseen_tokens", no_sum_bias},
        {"position_ridge_r2_train", no_sum_bias},
        {"position_ridge_rmse_unseen_tokens", no_sum_bias},
        {"token_accuracy_with_position", no_sum_bias},
        {"norm_ratio_mean", no_sum_bias},
        {"norm_ratio_min", no_sum_bias},
        {"norm_ratio_max", no_sum_bias},
        {"norm_ratio_cv", no_sum_bias},
        {"subspace_overlap", no_sum_bias},
        {"subspace_overlap_chance", no_sum_bias},
        {"max_principal_cosine", no_sum_bias},
        {"logit_share_content_content", four_bias},
        {"logit_share_content_position", four_bias},
        {"logit_share_position_content", four_bias},
        {"logit_share_position_position", four_bias}}},
  };
  return m;
}

}  // namespace posbench::interference
