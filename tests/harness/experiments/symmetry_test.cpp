// symmetry on the experiment's output: inner products of a table (sinusoidal, learned) and
// ALiBi's -m_h |i - j| are symmetric, so ||S - S^T||_F / ||S||_F is exactly 0; RoPE with
// independent q != k is not, and its figure matches a scalar loop that rotates the seeded content
// with the RoFormer formula and averages the logits (no use of posbench's rotation code).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "encoders/rng.h"
#include "property_test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

TEST(Symmetry, InnerProductsAndAlibiAreExactlySymmetric) {
  const auto e = make_experiment("symmetry", {{"positions", 160}, {"dim", 64}});
  for (const json& spec :
       {json{{"name", "sinusoidal"}},
        json{{"name", "sinusoidal"}, {"params", {{"layout", "concat"}}}},
        json{{"name", "learned"}, {"params", {{"max_len", 160}}}}, json{{"name", "alibi"}}}) {
    const EncoderOutcome o = run_with(*e, make_encoder(spec));
    ASSERT_EQ(o.status, Status::ok) << spec << o.note;
    EXPECT_EQ(metric(o, "asymmetry"), 0.0) << spec;
    EXPECT_GT(metric(o, "frobenius_norm"), 0.0) << spec;
  }
  const EncoderOutcome a = run_with(*e, make_encoder({{"name", "alibi"}}));
  const Curve& c = curve(a, "asymmetry_per_head");
  ASSERT_EQ(c.y.size(), 8u);
  for (double y : c.y) EXPECT_EQ(y, 0.0);
}

// ||S - S^T||_F / ||S||_F with S[x][y] = mean_s (R(x) q_s) . (R(y) k_s), RoPE half layout
// (pairs (i, i + d/2)), theta_i = base^(-2i/d); q_s, k_s drawn as posbench documents:
// Rng(seed, "symmetry/content"), q_0, k_0, q_1, k_1, ... each normal_vector(d).
double reference_rope_asymmetry(int P, int d, int samples, uint64_t seed, double* norm) {
  Rng rng(seed, "symmetry/content");
  std::vector<std::vector<double>> q, k;
  for (int s = 0; s < samples; ++s) {
    q.push_back(rng.normal_vector(d));
    k.push_back(rng.normal_vector(d));
  }
  auto rotate = [&](const std::vector<double>& v, int p) {
    std::vector<long double> out(v.begin(), v.end());
    for (int i = 0; i < d / 2; ++i) {
      const long double a = (long double)p * std::pow(10000.0L, -2.0L * i / d);
      const long double x = v[i], y = v[i + d / 2];
      out[i] = x * std::cos(a) - y * std::sin(a);
      out[i + d / 2] = x * std::sin(a) + y * std::cos(a);
    }
    return out;
  };
  std::vector<std::vector<std::vector<long double>>> rq(samples), rk(samples);
  for (int s = 0; s < samples; ++s)
    for (int p = 0; p < P; ++p) rq[s].push_back(rotate(q[s], p)), rk[s].push_back(rotate(k[s], p));
  std::vector<double> S(P * P);
  for (int x = 0; x < P; ++x)
    for (int y = 0; y < P; ++y) {
      long double sum = 0;
      for (int s = 0; s < samples; ++s)
        for (int c = 0; c < d; ++c) sum += rq[s][x][c] * rk[s][y][c];
      S[x * P + y] = (double)(sum / samples);
    }
  long double num = 0, den = 0;
  for (int x = 0; x < P; ++x)
    for (int y = 0; y < P; ++y) {
      const long double a = S[x * P + y], b = S[y * P + x];
      num += (a - b) * (a - b), den += a * a;
    }
  *norm = std::sqrt((double)den);
  return std::sqrt((double)(num / den));
}

TEST(Symmetry, RopeWithIndependentQueryAndKeyIsNot) {
  const int P = 40, d = 32, samples = 3;
  const uint64_t seed = 11;
  const auto e = make_experiment("symmetry", {{"positions", P}, {"dim", d}, {"samples", samples}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}), seed);
  double norm = 0;
  const double ref = reference_rope_asymmetry(P, d, samples, seed, &norm);
  EXPECT_GT(ref, 0.05);
  EXPECT_NEAR(metric(o, "asymmetry"), ref, 1e-10 * ref);
  EXPECT_NEAR(metric(o, "frobenius_norm"), norm, 1e-10 * norm);
  EXPECT_EQ(unit_of(o, "frobenius_norm"), "logit");
}

TEST(Symmetry, NonRelativeBiasPerHeadAgainstItsMatrix) {
  // FIRE's b_h(i, j) divides by psi(max(i, L_thr)): not a function of i - j, so the experiment
  // reads the full [heads, P, P] matrix. Reference: the same matrix from the scheme, measured
  // here with a scalar loop per head.
  const int P = 48, H = 4;
  const auto e = make_experiment("symmetry", {{"positions", P}, {"heads", H}});
  const EncoderInstance enc = make_encoder({{"name", "fire"}, {"params", {{"L_thr", 8}}}});
  const EncoderOutcome o = run_with(*e, enc);
  std::vector<int64_t> pos(P);
  for (int p = 0; p < P; ++p) pos[p] = p;
  std::vector<double> b(H * P * P);
  enc.encoder->bias(pos, pos, H, b.data());
  const Curve& c = curve(o, "asymmetry_per_head");
  ASSERT_EQ(c.y.size(), size_t(H));
  double worst = 0;
  for (int h = 0; h < H; ++h) {
    long double num = 0, den = 0;
    for (int x = 0; x < P; ++x)
      for (int y = 0; y < P; ++y) {
        const long double a = b[(h * P + x) * P + y], t = b[(h * P + y) * P + x];
        num += (a - t) * (a - t), den += a * a;
      }
    const double ref = std::sqrt((double)(num / den));
    EXPECT_NEAR(c.y[h], ref, 1e-12 * ref) << h;
    worst = std::max(worst, ref);
  }
  EXPECT_GT(worst, 0.0);
  EXPECT_NEAR(metric(o, "asymmetry"), worst, 1e-12 * worst);
}

TEST(Symmetry, SameResultForAnyThreadCount) {
  const auto e = make_experiment("symmetry", {{"positions", 150}, {"samples", 4}});
  expect_same_result_for_1_and_2_threads(*e, 150, 2);
}

TEST(Symmetry, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("symmetry", {{"positions", -3}}), "experiments[0].positions",
                 {"-3"});
  expect_problem(config_problems("symmetry", {{"positions", 1}}), "experiments[0].positions",
                 {"1"});
  expect_problem(config_problems("symmetry", {{"samples", -2}}), "experiments[0].samples", {"-2"});
  expect_problem(config_problems("symmetry", {{"max_offset", 4}}), "experiments[0].max_offset",
                 {"unknown"});
}

TEST(Symmetry, MemoryGuardSeesTheBiasMatrix) {
  // A bias scheme without a relative form would need [heads, P, P] doubles; ALiBi is relative
  // and needs only [heads, 2P - 1]; the estimate must reflect the tables actually built.
  const auto e = make_experiment("symmetry", {{"positions", 1 << 20}});
  const uint64_t alibi = e->memory_bytes(make_encoder({{"name", "alibi"}}));
  EXPECT_LT(alibi, uint64_t(1) << 30);
  EXPECT_GE(alibi, uint64_t(8) * 8 * (2 * (1 << 20) - 1));
  const uint64_t rope = e->memory_bytes(make_encoder({{"name", "rope"}}));
  EXPECT_GE(rope, uint64_t(2) * (1 << 20) * 128 * 8);  // U and V tables [P, d]
  const uint64_t fire = e->memory_bytes(make_encoder({{"name", "fire"}}));
  EXPECT_GE(fire, uint64_t(8) * (uint64_t(1) << 40) * 8);  // [heads, P, P] doubles
}

}  // namespace
}  // namespace posbench::test
