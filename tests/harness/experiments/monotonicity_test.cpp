// monotonicity on the experiment's output against the analytic values: ALiBi's b_h(x, x+m) =
// -m_h m falls strictly, so Spearman's rho is exactly -1; the sinusoidal similarity
// <PE(x), PE(x+m)> = sum_i cos(m theta_i) (Vaswani et al. 2017) gives a rho and a first rise
// (m = 12 for d = 128, base 1e4) computed here from that formula with an independent ranking.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "property_test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

// Rank of v[i] by counting: #{v < v[i]} + (#{v == v[i]} - 1) / 2 (average rank for ties).
double count_rank(const std::vector<double>& v, size_t i) {
  double less = 0, equal = 0;
  for (double y : v) less += y < v[i], equal += y == v[i];
  return less + (equal - 1) / 2;
}

double reference_spearman(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<double> r(n);
  for (size_t i = 0; i < n; ++i) r[i] = count_rank(v, i);
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += double(i) / n, mb += r[i] / n;
  double c = 0, va = 0, vb = 0;
  for (size_t i = 0; i < n; ++i)
    c += (i - ma) * (r[i] - mb), va += (i - ma) * (i - ma), vb += (r[i] - mb) * (r[i] - mb);
  return c / std::sqrt(va * vb);
}

// sum_i cos(m theta_i), theta_i = base^(-2i/d): <PE(x), PE(x+m)> for the sinusoidal table.
double sinusoidal_phi(int m, int d, double base) {
  long double s = 0;
  for (int i = 0; i < d / 2; ++i)
    s += std::cos((long double)m * std::pow((long double)base, -2.0L * i / d));
  return (double)s;
}

TEST(Monotonicity, AlibiIsExactlyMinusOne) {
  const auto e = make_experiment("monotonicity", {{"positions", 200}, {"max_offset", 40}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "alibi"}}));
  EXPECT_EQ(metric(o, "spearman"), -1.0);
  EXPECT_EQ(metric(o, "spearman_max_head"), -1.0);
  EXPECT_TRUE(std::isnan(metric(o, "first_rise")));  // never rises
  EXPECT_EQ(unit_of(o, "first_rise"), "positions");
  // Per head: mean phi(m) = -m_h m with m_h = 2^(-8(h+1)/8) = 2^-(h+1) for 8 heads.
  for (int h = 0; h < 8; ++h) {
    const Curve& c = curve(o, "mean_phi_head" + std::to_string(h));
    ASSERT_EQ(c.y.size(), 41u);
    for (int m = 0; m <= 40; ++m) EXPECT_DOUBLE_EQ(c.y[m], -std::ldexp(1.0, -(h + 1)) * m);
  }
  const Curve& rho = curve(o, "spearman_per_head");
  ASSERT_EQ(rho.y.size(), 8u);
  for (double r : rho.y) EXPECT_EQ(r, -1.0);
}

TEST(Monotonicity, ConstantPhiHasUndefinedRank) {
  // Causal T5 (Raffel et al. 2020, HF's _relative_position_bucket with bidirectional=False) puts
  // every key after the query (relative position > 0) into bucket 0: b_h(x, x+m) is the same
  // for every m >= 0, so Spearman's rho is undefined for every head.
  const auto e = make_experiment("monotonicity", {{"positions", 64}, {"max_offset", 16}});
  const EncoderOutcome o =
      run_with(*e, make_encoder({{"name", "t5"}, {"params", {{"bidirectional", false}}}}));
  ASSERT_EQ(o.status, Status::ok);
  EXPECT_TRUE(std::isnan(metric(o, "spearman")));
  EXPECT_TRUE(std::isnan(metric(o, "spearman_max_head")));
  EXPECT_TRUE(std::isnan(metric(o, "first_rise")));
  EXPECT_NE(o.note.find("undefined"), std::string::npos) << o.note;
}

TEST(Monotonicity, SinusoidalFirstRiseAndRank) {
  const int M = 64;
  const auto e = make_experiment("monotonicity", {{"positions", 256}, {"max_offset", M}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "sinusoidal"}}));
  std::vector<double> phi;
  for (int m = 0; m <= M; ++m) phi.push_back(sinusoidal_phi(m, 128, 1e4));
  int first_rise = -1;
  for (int m = 1; m <= M && first_rise < 0; ++m)
    if (phi[m] > phi[m - 1]) first_rise = m;
  ASSERT_EQ(first_rise, 12);  // the formula itself (the issue says "small, ~12")
  EXPECT_EQ(metric(o, "first_rise"), 12.0);
  // Every anchor sees the same phi(m), so the mean rho is the rho of sum_i cos(m theta_i).
  EXPECT_NEAR(metric(o, "spearman"), reference_spearman(phi), 1e-12);
  EXPECT_NEAR(metric(o, "spearman"), -0.9618006993006993, 1e-12);
  const Curve& c = curve(o, "mean_phi");
  ASSERT_EQ(c.y.size(), size_t(M + 1));
  for (int m = 0; m <= M; ++m) {
    EXPECT_EQ(c.x[m], double(m));
    EXPECT_NEAR(c.y[m], phi[m], 1e-11) << m;
  }
  // Up to m = 11 the similarity is strictly decreasing: rho exactly -1.
  const auto local = make_experiment("monotonicity", {{"positions", 64}, {"max_offset", 11}});
  const EncoderOutcome lo = run_with(*local, make_encoder({{"name", "sinusoidal"}}));
  EXPECT_EQ(metric(lo, "spearman"), -1.0);
  EXPECT_TRUE(std::isnan(metric(lo, "first_rise")));
}

TEST(Monotonicity, RandomLearnedTableHasNoTrend) {
  const int P = 256, M = 32, dim = 64;
  const auto e =
      make_experiment("monotonicity", {{"positions", P}, {"max_offset", M}, {"dim", dim}});
  const EncoderInstance enc = make_encoder({{"name", "learned"}, {"params", {{"max_len", P}}}});
  const EncoderOutcome o = run_with(*e, enc);
  ASSERT_EQ(o.status, Status::ok) << o.note;
  // Reference from the table W itself: phi(x, x+m) = W[x] . W[x+m], anchors x in [0, P - M).
  const std::vector<double> W = table_rows(enc, P, dim);
  std::vector<double> mean(M + 1, 0.0);
  double rho = 0;
  for (int x = 0; x < P - M; ++x) {
    std::vector<double> v;
    for (int m = 0; m <= M; ++m) {
      long double s = 0;
      for (int c = 0; c < dim; ++c) s += (long double)W[x * dim + c] * W[(x + m) * dim + c];
      v.push_back((double)s);
      mean[m] += (double)s / (P - M);
    }
    rho += reference_spearman(v) / (P - M);
  }
  EXPECT_NEAR(metric(o, "spearman"), rho, 1e-12);
  // phi(x, x) = |W_x|^2 is the largest; the rest do not depend on m: |rho| stays small.
  EXPECT_LT(std::fabs(metric(o, "spearman")), 0.2);
  int first_rise = -1;
  for (int m = 1; m <= M && first_rise < 0; ++m)
    if (mean[m] > mean[m - 1]) first_rise = m;
  ASSERT_GT(first_rise, 0);
  EXPECT_EQ(metric(o, "first_rise"), double(first_rise));
  const Curve& c = curve(o, "mean_phi");
  ASSERT_EQ(c.y.size(), size_t(M + 1));
  for (int m = 0; m <= M; ++m) EXPECT_NEAR(c.y[m], mean[m], 1e-15) << m;
}

TEST(Monotonicity, SameResultForAnyThreadCount) {
  const auto e =
      make_experiment("monotonicity", {{"positions", 200}, {"max_offset", 40}, {"samples", 8}});
  expect_same_result_for_1_and_2_threads(*e, 200, 5);
}

TEST(Monotonicity, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("monotonicity", {{"positions", 32}, {"max_offset", 40}}),
                 "experiments[0].max_offset", {"40", "max_offset < positions"});
  expect_problem(config_problems("monotonicity", {{"max_offset", 0}}), "experiments[0].max_offset",
                 {"0"});
  expect_problem(config_problems("monotonicity", {{"positions", -1}}), "experiments[0].positions",
                 {"-1"});
  expect_problem(config_problems("monotonicity", {{"dim", -128}}), "experiments[0].dim", {"-128"});
  expect_problem(config_problems("monotonicity", {{"offsets", {1, 2}}}), "experiments[0].offsets",
                 {"unknown"});
}

}  // namespace
}  // namespace posbench::test
