#pragma once
// The measures of embedding_interference (harness/experiments/embedding_interference.cpp), as
// plain functions on matrices so that each can be tested against a closed form on its own.
// All float64. Row-major matrices: a row is one vector (an embedding, a PE row, a query).
// Nothing here draws random numbers or calls an encoder.

#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "encoders/encoder.h"
#include "encoders/experiment.h"

#include "harness/analysis/position_features.h"

namespace posbench::interference {

// Accuracy of nearest-row decoding: for each query s (row of `queries` [S, d]) the row(s) of
// `keys` [K, d] at the smallest squared L2 distance sum_c (x_c - k_c)^2 (exact ties shared:
// a query whose minimum is attained by t rows, the true one among them, scores 1/t; 0 if the
// true row is not among them). truth[s] in [0, K). Rows in fixed blocks (OpenMP), so the
// value does not depend on the thread count. So keys that are all equal (nope: PE = 0) give
// exactly 1/K.
double nearest_l2_accuracy(const RowMatrix& queries, const RowMatrix& keys,
                           const std::vector<int64_t>& truth);

// The same with the largest cosine similarity x.k / (|x| |k|), a zero vector having cosine 0
// with everything.
double nearest_cosine_accuracy(const RowMatrix& queries, const RowMatrix& keys,
                               const std::vector<int64_t>& truth);

// Ridge regression of y on the rows of X with an intercept, as position_probe: the features
// centred, w = (Xc^T Xc + lambda I)^-1 Xc^T (y - ybar), lambda = ridge * trace(Xc^T Xc) / d
// (relative to the mean eigenvalue of the Gram matrix; `ridge` itself when that is 0), solved
// by Eigen's LDLT. Fit on (Xtr, ytr); R^2 = 1 - SS_res / SS_tot (SS_tot about the scored set's
// own mean; NaN when SS_tot = 0) and RMSE on the training set and on (Xte, yte).
struct RidgeScore {
  double r2_train = 0, r2_test = 0, rmse_train = 0, rmse_test = 0;
};
RidgeScore ridge_fit_score(const RowMatrix& Xtr, const Eigen::VectorXd& ytr, const RowMatrix& Xte,
                           const Eigen::VectorXd& yte, double ridge);

// The first min(k, rank) principal directions of the rows of X [n, d] (right singular vectors
// of the column-centred X, by decreasing singular value), as the columns of a [d, k'] matrix;
// directions whose singular value is below 1e-10 times the largest (or all, when X has no
// variance) are dropped. Eigen's BDCSVD.
Eigen::MatrixXd principal_directions(const RowMatrix& X, int64_t k);

// Cosines of the principal angles between span(U) and span(V) (orthonormal columns, [d, ku]
// and [d, kv]): the singular values of U^T V, descending, min(ku, kv) of them.
Eigen::VectorXd principal_angle_cosines(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V);

// Share of each term in the variance of the total: terms[t] [S] are per-sample values and the
// total is sum_t terms[t][s]; share_t = Cov(term_t, total) / Var(total) (population moments).
// The shares sum to 1 (the covariances add up to the variance); NaN when Var(total) = 0.
std::vector<double> covariance_shares(const std::vector<std::vector<double>>& terms);

// Law of total variance on a grid s[g, m] (group g = a content pair, m = a position pair):
// E_g[Var_m(s[g, .])] / Var(s) over all cells (population moments), the share of the variance
// that the columns (position) explain within a row (content fixed). NaN when Var(s) = 0.
double within_row_variance_share(const RowMatrix& s);

// The rows of X [n, d] in its first two principal components: column-centred X times the
// first two right singular vectors, each direction's sign chosen so its largest-magnitude
// entry is positive (a fixed orientation); [n, 2], a column of zeros where X has fewer than two
// directions of variance. explained[0..1]: each component's share of the total variance.
RowMatrix first_two_principal_components(const RowMatrix& X, double explained[2]);

// The experiment's metrics {name, unit}, in the order every outcome lists them.
// Every metric the experiment reports, with its unit, meaning and closed-form values.
const std::vector<MetricSpec>& metric_specs();
const std::vector<std::pair<std::string, std::string>>& metric_names_and_units();

// Per family, the metrics that mean nothing for it (null in the results) and why
// (extra.not_applicable).
const std::map<Family, std::map<std::string, std::string>>& not_applicable_reasons();

}  // namespace posbench::interference
