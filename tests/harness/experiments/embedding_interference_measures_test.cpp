// The measures of embedding_interference on their own, against closed forms and float64 loops
// written here: shared ties of nearest-row decoding, exact ridge fits, principal angles of
// subspaces given by construction, covariance shares and the law of total variance on grids
// whose answer is known.
#include "harness/experiments/embedding_interference_measures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace posbench::interference {
namespace {

TEST(InterferenceMeasures, EqualKeysShareTheTieSoDecodingIsAtChance) {
  // Every key is the same vector: each query's minimum is attained by all K keys, 1/K each.
  const int64_t K = 7;
  RowMatrix keys = RowMatrix::Constant(K, 3, 0.5), queries(4, 3);
  queries << 1, 2, 3, -1, 0, 0, 0.5, 0.5, 0.5, 9, 9, 9;
  EXPECT_DOUBLE_EQ(nearest_l2_accuracy(queries, keys, {0, 3, 6, 2}), 1.0 / double(K));
  EXPECT_DOUBLE_EQ(nearest_cosine_accuracy(queries, keys, {0, 3, 6, 2}), 1.0 / double(K));
}

TEST(InterferenceMeasures, DistinctKeysDecodeTheirOwnRowsAndNotOthers) {
  RowMatrix keys(3, 2);
  keys << 1, 0, 0, 1, -1, 0;
  RowMatrix queries(3, 2);
  queries << 0.9, 0.1, 0.1, 2.0, -3.0, 0.2;  // nearest rows 0, 1, 2 (L2 and cosine)
  EXPECT_DOUBLE_EQ(nearest_l2_accuracy(queries, keys, {0, 1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(nearest_l2_accuracy(queries, keys, {1, 1, 2}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(nearest_cosine_accuracy(queries, keys, {0, 1, 2}), 1.0);
  // A zero query has cosine 0 with every key: a three-way tie.
  RowMatrix zero = RowMatrix::Zero(1, 2);
  EXPECT_DOUBLE_EQ(nearest_cosine_accuracy(zero, keys, {2}), 1.0 / 3.0);
}

TEST(InterferenceMeasures, RidgeOnAnExactlyAffineTargetScoresOne) {
  // y = 3 x0 - 2 x1 + 5 on both sets; lambda = 1e-12 * trace / d shrinks w by ~1e-12.
  RowMatrix Xtr(6, 2), Xte(4, 2);
  Xtr << 0, 1, 1, 0, 2, 2, 3, -1, 4, 0.5, -1, 2;
  Xte << 5, 5, -2, 1, 0.3, 0.7, 8, -4;
  auto target = [](const RowMatrix& X) {
    Eigen::VectorXd y(X.rows());
    for (int64_t r = 0; r < X.rows(); ++r) y[r] = 3 * X(r, 0) - 2 * X(r, 1) + 5;
    return y;
  };
  const RidgeScore s = ridge_fit_score(Xtr, target(Xtr), Xte, target(Xte), 1e-12);
  EXPECT_NEAR(s.r2_train, 1.0, 1e-9);
  EXPECT_NEAR(s.r2_test, 1.0, 1e-9);
  EXPECT_NEAR(s.rmse_test, 0.0, 1e-9);
}

TEST(InterferenceMeasures, RidgeOnAConstantTestTargetIsUndefined) {
  RowMatrix X(3, 1);
  X << 0, 1, 2;
  Eigen::VectorXd y(3), flat = Eigen::VectorXd::Constant(3, 4.0);
  y << 0, 1, 2;
  EXPECT_TRUE(std::isnan(ridge_fit_score(X, y, X, flat, 1e-3).r2_test));
}

TEST(InterferenceMeasures, PrincipalAnglesOfConstructedSubspaces) {
  // span(e0, e1) and span(cos t e0 + sin t e2, e1): principal cosines 1 and cos t.
  const double t = 0.3;
  Eigen::MatrixXd U = Eigen::MatrixXd::Zero(4, 2), V = Eigen::MatrixXd::Zero(4, 2);
  U(0, 0) = 1, U(1, 1) = 1;
  V(0, 0) = std::cos(t), V(2, 0) = std::sin(t), V(1, 1) = 1;
  const Eigen::VectorXd c = principal_angle_cosines(U, V);
  ASSERT_EQ(c.size(), 2);
  EXPECT_NEAR(c[0], 1.0, 1e-15);
  EXPECT_NEAR(c[1], std::cos(t), 1e-15);
}

TEST(InterferenceMeasures, PrincipalDirectionsSpanTheRowsVarianceAndDropNullDirections) {
  // Rows vary only along (1, 1, 0) / sqrt 2 (and the mean is removed): one direction.
  RowMatrix X(4, 3);
  X << 1, 1, 7, 2, 2, 7, -1, -1, 7, 5, 5, 7;
  const Eigen::MatrixXd D = principal_directions(X, 3);
  ASSERT_EQ(D.cols(), 1);
  EXPECT_NEAR(std::abs(D(0, 0)), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(std::abs(D(1, 0)), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(D(2, 0), 0.0, 1e-12);
  EXPECT_EQ(principal_directions(RowMatrix::Constant(5, 3, 2.0), 2).cols(), 0);
}

TEST(InterferenceMeasures, CovarianceSharesMatchAFloat64LoopAndSumToOne) {
  const std::vector<std::vector<double>> terms = {
      {1, 2, 3, 4, 0}, {0, 1, 0, 1, -2}, {0.5, -0.5, 2, 0, 1}};
  const std::vector<double> sh = covariance_shares(terms);
  // Reference: population moments, written out.
  const size_t S = 5;
  std::vector<double> total(S, 0);
  for (const auto& t : terms)
    for (size_t s = 0; s < S; ++s) total[s] += t[s];
  double mt = 0;
  for (double x : total) mt += x / S;
  double var = 0;
  for (double x : total) var += (x - mt) * (x - mt) / S;
  double sum = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    double m = 0, cov = 0;
    for (double x : terms[k]) m += x / S;
    for (size_t s = 0; s < S; ++s) cov += (terms[k][s] - m) * (total[s] - mt) / S;
    EXPECT_NEAR(sh[k], cov / var, 1e-14) << k;
    sum += sh[k];
  }
  EXPECT_NEAR(sum, 1.0, 1e-14);
  EXPECT_TRUE(std::isnan(covariance_shares({{1, 1, 1}})[0]));  // no variance
}

TEST(InterferenceMeasures, WithinRowShareOfAnAdditiveGridIsTheColumnVariance) {
  // s[g, m] = r_g + c_m, r = (0, 2), c = (0, 1, 2): Var(r) = 1, Var(c) = 2/3, so the within-row
  // (position given content) share is (2/3) / (1 + 2/3) = 0.4.
  RowMatrix s(2, 3);
  for (int g = 0; g < 2; ++g)
    for (int m = 0; m < 3; ++m) s(g, m) = 2.0 * g + m;
  EXPECT_NEAR(within_row_variance_share(s), 0.4, 1e-15);
  EXPECT_TRUE(std::isnan(within_row_variance_share(RowMatrix::Constant(2, 2, 3.0))));
}

TEST(InterferenceMeasures, FirstTwoPrincipalComponentsOfAPlane) {
  // Points (x, y, 0) with x spread more than y: PC1 = +-x - mean, PC2 = +-y - mean, explained
  // shares Var(x) / (Var(x) + Var(y)) and the rest; the signs make the largest loading positive.
  RowMatrix X(4, 3);
  X << 3, 1, 0, -3, 1, 0, 3, -1, 0, -3, -1, 0;
  double explained[2];
  const RowMatrix pc = first_two_principal_components(X, explained);
  EXPECT_NEAR(explained[0], 9.0 / 10.0, 1e-12);
  EXPECT_NEAR(explained[1], 1.0 / 10.0, 1e-12);
  for (int r = 0; r < 4; ++r) {
    EXPECT_NEAR(pc(r, 0), X(r, 0), 1e-12);
    EXPECT_NEAR(pc(r, 1), X(r, 1), 1e-12);
  }
}

}  // namespace
}  // namespace posbench::interference
