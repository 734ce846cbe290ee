#pragma once
// The two-sided Mann-Whitney U test (Wilcoxon rank-sum), as scipy.stats.mannwhitneyu computes
// it with its defaults and as google/benchmark's tools/compare.py uses it to tell whether a
// change of speed is significant: the exact distribution of U when either sample has at most
// 8 values and there are no ties, else the normal approximation with the tie correction and a
// continuity correction of 1/2. No library in Debian offers this for C++ (Boost.Math has the
// normal distribution, not the U test; GSL neither), hence this small file.
#include <cstdint>
#include <vector>

namespace posbench {

struct MannWhitney {
  double u1 = 0;       // U of the first sample: pairs (x_i, y_j) with x_i > y_j, ties 1/2
  double u2 = 0;       // of the second: n1 * n2 - u1
  double p = 1;        // two-sided p-value
  bool exact = false;  // from the exact distribution of U (else the normal approximation)
};

// automatic: scipy's choice (exact when min(n1, n2) <= 8 and no ties); exact ignores ties.
enum class UMethod { automatic, exact, asymptotic };

// x, y: the two samples (each at least one value, all finite; checked: std::invalid_argument).
MannWhitney mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y,
                           UMethod method = UMethod::automatic);

// Number of arrangements of n1 x's and n2 y's (of C(n1 + n2, n1)) whose U (pairs with the x
// after the y) is exactly u, for u = 0 .. n1 * n2: [n1 + n2 choose n1]_q's coefficients. As
// double: exact while the counts stay below 2^53 (n1 + n2 <= 55 at least).
std::vector<double> u_distribution(int n1, int n2);

// Two-sided exact p-value of U = u (no ties): 2 P(U <= min(u, n1 n2 - u)), at most 1.
double mann_whitney_exact_p(double u, int n1, int n2);

}  // namespace posbench
