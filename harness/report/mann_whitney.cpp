#include "harness/report/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace posbench {

std::vector<double> u_distribution(int n1, int n2) {
  if (n1 < 0 || n2 < 0) throw std::invalid_argument("u_distribution: negative sample size");
  // The generating function sum_u c(u) q^u is the Gaussian binomial coefficient
  // [n1 + n2 choose k]_q = prod_{i=1..k} (1 - q^(n - k + i)) / (1 - q^i), k = min(n1, n2);
  // each factor is applied as a multiplication and an exact division of polynomials, so the
  // memory is one array of n1 n2 + 1 counts (a recursion over (n1, n2, u) would hold n2 of them).
  const int k = std::min(n1, n2), n = n1 + n2, umax = n1 * n2;
  std::vector<double> c(size_t(umax) + 1, 0.0);
  c[0] = 1;
  for (int i = 1; i <= k; ++i) {
    const int a = n - k + i;
    for (int u = umax; u >= a; --u) c[size_t(u)] -= c[size_t(u - a)];  // * (1 - q^a)
    for (int u = i; u <= umax; ++u) c[size_t(u)] += c[size_t(u - i)];  // / (1 - q^i)
  }
  return c;
}

double mann_whitney_exact_p(double u, int n1, int n2) {
  const std::vector<double> c = u_distribution(n1, n2);
  const double total = std::accumulate(c.begin(), c.end(), 0.0);
  const double low = std::min(u, double(n1) * n2 - u);
  double tail = 0;
  for (int k = 0; k < int(c.size()) && k <= low + 1e-9; ++k) tail += c[size_t(k)];
  return std::min(1.0, 2 * tail / total);
}

MannWhitney mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y,
                           UMethod method) {
  if (x.empty() || y.empty()) throw std::invalid_argument("mann_whitney_u: an empty sample");
  const size_t n1 = x.size(), n2 = y.size(), n = n1 + n2;
  // Midranks of the pooled values; tie groups of size t add t^3 - t to the correction.
  std::vector<std::pair<double, int>> all;
  for (double v : x) all.push_back({v, 0});
  for (double v : y) all.push_back({v, 1});
  for (const auto& [v, s] : all)
    if (!std::isfinite(v)) throw std::invalid_argument("mann_whitney_u: a non-finite value");
  std::sort(all.begin(), all.end());
  double r1 = 0, ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && all[j].first == all[i].first) ++j;
    const double t = double(j - i), midrank = (double(i + 1) + double(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (all[k].second == 0) r1 += midrank;
    ties += t * t * t - t;
    i = j;
  }
  MannWhitney r;
  r.u1 = r1 - double(n1) * double(n1 + 1) / 2;
  r.u2 = double(n1) * double(n2) - r.u1;
  r.exact = method == UMethod::exact ||
            (method == UMethod::automatic && std::min(n1, n2) <= 8 && ties == 0);
  if (r.exact) {
    r.p = mann_whitney_exact_p(r.u1, int(n1), int(n2));
    return r;
  }
  const double mu = double(n1) * double(n2) / 2;
  const double var =
      double(n1) * double(n2) / 12 * (double(n + 1) - ties / (double(n) * double(n - 1)));
  if (var <= 0) {  // every value equal: no evidence of a difference
    r.p = 1;
    return r;
  }
  const double z = (std::max(r.u1, r.u2) - mu - 0.5) / std::sqrt(var);
  r.p = std::clamp(std::erfc(z / std::sqrt(2.0)), 0.0, 1.0);
  return r;
}

}  // namespace posbench
