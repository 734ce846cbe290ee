// The U test against values computed here independently: U and the exact distribution by
// enumerating every split of the pooled sample, the normal approximation's variance as the
// permutation variance of the rank sum, published critical values of U, and the example of
// scipy.stats.mannwhitneyu's documentation.
#include "harness/report/mann_whitney.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace posbench {
namespace {

// U of x by its definition: pairs with x_i > y_j, ties counting 1/2.
double u_by_pairs(const std::vector<double>& x, const std::vector<double>& y) {
  double u = 0;
  for (double a : x)
    for (double b : y) u += a > b ? 1 : a == b ? 0.5 : 0;
  return u;
}

// Counts of U over every choice of which n1 of 0..n1+n2-1 are the x's (bit masks).
std::vector<double> u_counts_by_enumeration(int n1, int n2) {
  std::vector<double> counts(size_t(n1 * n2) + 1, 0.0);
  const int n = n1 + n2;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (__builtin_popcount(mask) != n1) continue;
    int u = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if ((mask >> i & 1) && !(mask >> j & 1) && i > j) ++u;
    counts[size_t(u)] += 1;
  }
  return counts;
}

TEST(MannWhitney, DistributionOfUMatchesEnumeration) {
  for (auto [n1, n2] : std::vector<std::pair<int, int>>{
           {1, 1}, {1, 4}, {2, 3}, {3, 3}, {4, 5}, {5, 5}, {3, 8}, {6, 6}, {2, 11}}) {
    SCOPED_TRACE(testing::Message() << n1 << " vs " << n2);
    const std::vector<double> want = u_counts_by_enumeration(n1, n2);
    EXPECT_EQ(u_distribution(n1, n2), want);
    EXPECT_EQ(u_distribution(n2, n1), want);  // symmetric in the two sizes
  }
}

TEST(MannWhitney, ExactPOfSeparatedSamples) {
  // Every x below every y: U1 = 0, the most extreme of C(10, 5) = 252 arrangements on each
  // side, so p = 2 / 252.
  const MannWhitney r = mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.u1, 0);
  EXPECT_EQ(r.u2, 25);
  EXPECT_NEAR(r.p, 2.0 / 252, 1e-15);
}

TEST(MannWhitney, ExactPMatchesEnumerationOnUnevenSamples) {
  const std::vector<double> x = {3.1, 0.2, 7.7, 5.0}, y = {1.5, 2.5, 9.0, 4.4, 6.1, 8.2, 0.9};
  const double u = u_by_pairs(x, y);
  const std::vector<double> c = u_counts_by_enumeration(4, 7);
  const double total = std::accumulate(c.begin(), c.end(), 0.0);
  EXPECT_EQ(total, 330);  // C(11, 4)
  double tail = 0;
  for (size_t k = 0; k <= size_t(std::min(u, 28 - u)); ++k) tail += c[k];
  const MannWhitney r = mann_whitney_u(x, y);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.u1, u);
  EXPECT_NEAR(r.p, std::min(1.0, 2 * tail / total), 1e-15);
}

TEST(MannWhitney, CriticalValuesOfPublishedTables) {
  // Two-sided alpha = 0.05 critical values of U (the largest U with p <= 0.05), from the
  // standard tables (e.g. Mann & Whitney 1947; Siegel, Nonparametric Statistics, table K):
  // 5 vs 5: 2, 6 vs 6: 5, 7 vs 7: 8, 8 vs 8: 13, 9 vs 9: 17, 10 vs 10: 23.
  for (auto [n, crit] :
       std::vector<std::pair<int, int>>{{5, 2}, {6, 5}, {7, 8}, {8, 13}, {9, 17}, {10, 23}}) {
    SCOPED_TRACE(n);
    EXPECT_LE(mann_whitney_exact_p(crit, n, n), 0.05);
    EXPECT_GT(mann_whitney_exact_p(crit + 1, n, n), 0.05);
  }
}

TEST(MannWhitney, ScipyDocumentationExample) {
  // scipy.stats.mannwhitneyu's documented example (ages of male and female employees): U1 = 17,
  // exact p = 0.1111111111111111 (= 14 / 126), asymptotic p = 0.11134688653314041.
  const std::vector<double> males = {19, 22, 16, 29, 24}, females = {20, 11, 17, 12};
  const MannWhitney r = mann_whitney_u(males, females);
  EXPECT_EQ(r.u1, 17);
  EXPECT_TRUE(r.exact);
  EXPECT_NEAR(r.p, 14.0 / 126, 1e-15);
  EXPECT_NEAR(r.p, 0.1111111111111111, 1e-15);
  const MannWhitney normal = mann_whitney_u(males, females, UMethod::asymptotic);
  EXPECT_FALSE(normal.exact);
  EXPECT_NEAR(normal.p, 0.11134688653314041, 1e-15);
  // The same samples three times, shifted by 0 / 0.25 / 0.5 (no ties): 15 vs 12 takes the
  // normal approximation, checked against its closed form (mean n1 n2 / 2, variance
  // n1 n2 (n + 1) / 12, continuity correction 1/2).
  std::vector<double> m3, f3;
  for (double shift : {0.0, 0.25, 0.5}) {
    for (double v : males) m3.push_back(v + shift);
    for (double v : females) f3.push_back(v + shift);
  }
  const MannWhitney a = mann_whitney_u(m3, f3);
  EXPECT_FALSE(a.exact);
  const double u = u_by_pairs(m3, f3), mu = 15 * 12 / 2.0, sd = std::sqrt(15 * 12 * 28 / 12.0);
  EXPECT_EQ(a.u1, u);
  EXPECT_NEAR(a.p, std::erfc((std::max(u, 180 - u) - mu - 0.5) / sd / std::sqrt(2.0)), 1e-14);
}

TEST(MannWhitney, TiesUseMidranksAndThePermutationVariance) {
  // With ties the normal approximation's variance is the permutation variance of the rank sum
  // of x: n1 n2 / (n (n - 1)) * sum_i (r_i - (n + 1) / 2)^2 over all n midranks r_i.
  const std::vector<double> x = {1, 2, 2, 3, 5, 8, 9, 9, 10},
                            y = {4, 6, 6, 7, 11, 12, 12, 13, 14, 15, 2};
  std::vector<double> pooled = x;
  pooled.insert(pooled.end(), y.begin(), y.end());
  const double n1 = 9, n2 = 11, n = 20;
  double ss = 0;
  for (double v : pooled) {
    double below = 0, equal = 0;
    for (double w : pooled) below += w < v, equal += w == v;
    const double midrank = below + (equal + 1) / 2;
    ss += (midrank - (n + 1) / 2) * (midrank - (n + 1) / 2);
  }
  const double var = n1 * n2 / (n * (n - 1)) * ss;
  const double u = u_by_pairs(x, y);
  const MannWhitney r = mann_whitney_u(x, y);
  EXPECT_FALSE(r.exact);  // ties
  EXPECT_EQ(r.u1, u);
  EXPECT_EQ(r.u2, n1 * n2 - u);
  const double z = (std::max(u, n1 * n2 - u) - n1 * n2 / 2 - 0.5) / std::sqrt(var);
  EXPECT_NEAR(r.p, std::erfc(z / std::sqrt(2.0)), 1e-14);
}

TEST(MannWhitney, IdenticalSamplesAreNotDifferent) {
  EXPECT_EQ(mann_whitney_u({2, 2, 2}, {2, 2, 2, 2}).p, 1);
  const MannWhitney r = mann_whitney_u({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(r.u1, 40.5);
  EXPECT_GT(r.p, 0.9);
}

TEST(MannWhitney, RefusesEmptyAndNonFiniteSamples) {
  EXPECT_THROW(mann_whitney_u({}, {1}), std::invalid_argument);
  EXPECT_THROW(mann_whitney_u({1, NAN}, {1}), std::invalid_argument);
}

}  // namespace
}  // namespace posbench
