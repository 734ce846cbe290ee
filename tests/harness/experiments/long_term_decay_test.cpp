// long_term_decay on the experiment's output against RoFormer §3.4.3 (Su et al. 2021):
//   B(r) = (1/(d/2)) sum_{j=1}^{d/2} |S_j|,  S_j = sum_{k=0}^{j-1} e^{i r theta_k},
// theta_k = base^(-2k/d); for d = 128, base 1e4 the paper's figure shows B(0) = 32.5,
// B(16) ~ 15.8, B(256) ~ 6.5, B(1024) ~ 4.0. The empirical mean |s(q, k, 0, r)| is checked
// against a scalar loop over the seeded content; other families against their closed forms.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <fstream>
#include <string>
#include <vector>

#include "encoders/rng.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

double reference_bound(double r, int d, double base) {
  std::complex<long double> S = 0;
  long double sum = 0;
  for (int k = 0; k < d / 2; ++k) {
    const long double angle = (long double)r * std::pow((long double)base, -2.0L * k / d);
    S += std::complex<long double>(std::cos(angle), std::sin(angle));
    sum += std::abs(S);
  }
  return (double)(sum / (d / 2));
}

const std::vector<double> kDefaultDistances = {0,   1,   2,   4,    8,    16,   32,  64,
                                               128, 256, 512, 1024, 2048, 4096, 8192};

TEST(LongTermDecay, RopeBoundReproducesTheRoFormerFigure) {
  const auto e = make_experiment("long_term_decay", {{"samples", 4}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}));
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_NEAR(metric(o, "bound_r0"), 32.5, 1e-12);
  EXPECT_NEAR(metric(o, "bound_r16"), 15.8, 0.05);
  EXPECT_NEAR(metric(o, "bound_r256"), 6.5, 0.05);
  EXPECT_NEAR(metric(o, "bound_r1024"), 4.0, 0.05);
  EXPECT_EQ(unit_of(o, "bound_r16"), "1");
  const Curve& c = curve(o, "bound");
  ASSERT_EQ(c.x, kDefaultDistances);
  EXPECT_EQ(c.x_name, "distance");
  for (size_t i = 0; i < c.x.size(); ++i)
    EXPECT_NEAR(c.y[i], reference_bound(c.x[i], 128, 1e4), 1e-10) << c.x[i];
  // Not monotone: the bound rises again between 2048 and 4096 (3.62 -> 4.88).
  EXPECT_GT(c.y[13], c.y[12]);
}

TEST(LongTermDecay, SchemesWithoutClosedFormUseTheirCoefficients) {
  // xPos has no angular_form (its magnitude depends on the position): the bound is computed from
  // the phases of its rotation coefficients, which are RoPE's (theta_i = base^(-2i/d)).
  const auto e = make_experiment("long_term_decay",
                                 {{"samples", 2}, {"distances", {0, 3, 16, 100, 256, 1024}}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "xpos"}}));
  ASSERT_EQ(o.status, Status::ok) << o.note;
  const Curve& c = curve(o, "bound");
  ASSERT_EQ(c.y.size(), 6u);
  for (size_t i = 0; i < c.x.size(); ++i)
    EXPECT_NEAR(c.y[i], reference_bound(c.x[i], 128, 1e4), 1e-9) << c.x[i];
  // A smaller rotated width: RoPE with rotary_fraction 0.5 rotates d' = 64 channels.
  const EncoderOutcome h =
      run_with(*e, make_encoder({{"name", "rope"}, {"params", {{"rotary_fraction", 0.5}}}}));
  const Curve& hc = curve(h, "bound");
  for (size_t i = 0; i < hc.x.size(); ++i)
    EXPECT_NEAR(hc.y[i], reference_bound(hc.x[i], 64, 1e4), 1e-10) << hc.x[i];
  EXPECT_NEAR(metric(h, "bound_r0"), 16.5, 1e-12);  // (1/32) sum_{j=1}^{32} j
}

// mean_s |q_s . R(r) k_s| (anchor 0: R(0) = I) with RoPE half layout, from the documented draws
// Rng(seed, "long_term_decay/content"): q_0, k_0, q_1, k_1, ...
double reference_empirical(double r, int d, int samples, uint64_t seed) {
  Rng rng(seed, "long_term_decay/content");
  long double sum = 0;
  for (int s = 0; s < samples; ++s) {
    const std::vector<double> q = rng.normal_vector(d), k = rng.normal_vector(d);
    long double dot = 0;
    for (int i = 0; i < d / 2; ++i) {
      const long double a = (long double)r * std::pow(10000.0L, -2.0L * i / d);
      const long double x = k[i], y = k[i + d / 2];
      dot += q[i] * (x * std::cos(a) - y * std::sin(a)) +
             q[i + d / 2] * (x * std::sin(a) + y * std::cos(a));
    }
    sum += std::fabs(dot);
  }
  return (double)(sum / samples);
}

TEST(LongTermDecay, RopeEmpiricalMeanAbsLogit) {
  const int samples = 16;
  const uint64_t seed = 7;
  const auto e = make_experiment("long_term_decay", {{"samples", samples}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}), seed);
  const Curve& c = curve(o, "mean_abs_phi");
  ASSERT_EQ(c.x, kDefaultDistances);
  EXPECT_EQ(c.y_unit, "logit");
  for (size_t i = 0; i < c.x.size(); ++i) {
    const double ref = reference_empirical(c.x[i], 128, samples, seed);
    EXPECT_NEAR(c.y[i], ref, 1e-10 * ref) << c.x[i];
  }
  EXPECT_EQ(metric(o, "mean_abs_phi_r0"), c.y[0]);
  EXPECT_EQ(metric(o, "mean_abs_phi_r8192"), c.y.back());
  // RoPE's logit depends only on r: another anchor gives the same values up to rounding.
  const auto moved = make_experiment("long_term_decay", {{"samples", samples}, {"anchor", 1000}});
  const EncoderOutcome mo = run_with(*moved, make_encoder({{"name", "rope"}}), seed);
  const Curve& m = curve(mo, "mean_abs_phi");
  for (size_t i = 0; i < c.x.size(); ++i) EXPECT_NEAR(m.y[i], c.y[i], 1e-9 * c.y[i]) << c.x[i];
}

TEST(LongTermDecay, SinusoidalAndAlibiClosedForms) {
  const auto e = make_experiment("long_term_decay", {{"positions", 40}});
  // <PE(x), PE(x + r)> = sum_i cos(r theta_i) for every anchor x.
  const EncoderOutcome s = run_with(*e, make_encoder({{"name", "sinusoidal"}}));
  const Curve& sc = curve(s, "mean_abs_phi");
  ASSERT_EQ(sc.x, kDefaultDistances);
  for (size_t i = 0; i < sc.x.size(); ++i) {
    long double phi = 0;
    for (int k = 0; k < 64; ++k) phi += std::cos((long double)sc.x[i] * std::pow(1e4L, -k / 64.0L));
    EXPECT_NEAR(sc.y[i], std::fabs((double)phi), 1e-9) << sc.x[i];
  }
  EXPECT_NEAR(metric(s, "mean_abs_phi_r0"), 64.0, 1e-12);
  // ALiBi: |b_h(x, x + r)| = m_h r, m_h = 2^-(h+1) for 8 heads; metrics average the heads.
  const EncoderOutcome a = run_with(*e, make_encoder({{"name", "alibi"}}));
  for (int h = 0; h < 8; ++h) {
    const Curve& c = curve(a, fmt::format("mean_abs_phi_head{}", h));
    for (size_t i = 0; i < c.x.size(); ++i)
      EXPECT_DOUBLE_EQ(c.y[i], std::ldexp(1.0, -(h + 1)) * c.x[i]) << h << " " << c.x[i];
  }
  EXPECT_DOUBLE_EQ(metric(a, "mean_abs_phi_r1024"), 1024 * (255.0 / 256.0) / 8);
}

TEST(LongTermDecay, LearnedNeedsRowsUpToTheLargestDistance) {
  const auto e =
      make_experiment("long_term_decay", {{"positions", 16}, {"distances", {0, 4, 100}}});
  // Positions up to 15 + 100 are read: 116 rows suffice, 115 do not.
  const EncoderOutcome bad =
      run_with(*e, make_encoder({{"name", "learned"}, {"params", {{"max_len", 115}}}}));
  EXPECT_EQ(bad.status, Status::unsupported);
  EXPECT_NE(bad.note.find("115"), std::string::npos) << bad.note;
  const EncoderInstance enc = make_encoder({{"name", "learned"}, {"params", {{"max_len", 116}}}});
  const EncoderOutcome ok = run_with(*e, enc);
  ASSERT_EQ(ok.status, Status::ok) << ok.note;
  const std::vector<double> W = table_rows(enc, 116, 128);
  const Curve& c = curve(ok, "mean_abs_phi");
  const int rs[3] = {0, 4, 100};
  for (int i = 0; i < 3; ++i) {
    long double sum = 0;
    for (int x = 0; x < 16; ++x) {
      long double d = 0;
      for (int k = 0; k < 128; ++k) d += (long double)W[x * 128 + k] * W[(x + rs[i]) * 128 + k];
      sum += std::fabs(d);
    }
    EXPECT_NEAR(c.y[i], (double)(sum / 16), 1e-15) << rs[i];
  }
}

TEST(LongTermDecay, SameResultForAnyThreadCount) {
  const auto e = make_experiment("long_term_decay", {{"positions", 64}, {"samples", 8}});
  for (const json& spec :
       {json{{"name", "rope"}}, json{{"name", "xpos"}}, json{{"name", "alibi"}},
        json{{"name", "fire"}}, json{{"name", "learned"}, {"params", {{"max_len", 8256}}}}}) {
    const EncoderInstance enc = make_encoder(spec);
    expect_identical(run_with(*e, enc, 9, 1), run_with(*e, enc, 9, 2));
  }
}

TEST(LongTermDecay, BadParamsNameTheirJsonPath) {
  expect_problem(config_problems("long_term_decay", {{"distances", {0, -4}}}),
                 "experiments[0].distances", {"-4"});
  expect_problem(config_problems("long_term_decay", {{"distances", {0, 2.5}}}),
                 "experiments[0].distances", {"2.5", "integer"});
  expect_problem(config_problems("long_term_decay", {{"distances", json::array()}}),
                 "experiments[0].distances", {"empty"});
  expect_problem(config_problems("long_term_decay", {{"anchor", -1}}), "experiments[0].anchor",
                 {"-1"});
  expect_problem(config_problems("long_term_decay", {{"distance", {1}}}), "experiments[0].distance",
                 {"distances"});
}

TEST(LongTermDecay, CliRefusesABadConfigWithExitCode2) {
  const TempDir dir("posbench-ltd-test");
  const auto config = dir / "bad.json";
  std::ofstream(config) << R"({"name": "t", "experiments": [{"type": "long_term_decay",
      "distances": [0, 1.5], "encoders": [{"name": "rope"}]}]})";
  const BinaryResult r = run_posbench("validate " + quoted(config), dir.path());
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("experiments[0].distances"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace posbench::test
