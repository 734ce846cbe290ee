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
#include <numbers>
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
  EXPECT_NEAR(curve_at(o, "bound", 0), 32.5, 1e-12);
  EXPECT_NEAR(curve_at(o, "bound", 16), 15.8, 0.05);
  EXPECT_NEAR(curve_at(o, "bound", 256), 6.5, 0.05);
  EXPECT_NEAR(curve_at(o, "bound", 1024), 4.0, 0.05);
  EXPECT_EQ(unit_of(o, "bound"), "1");
  // The metric is the bound at the largest distance, and says so.
  EXPECT_EQ(metric(o, "bound"), curve_at(o, "bound", 8192));
  for (const Metric& m : o.metrics) EXPECT_EQ(m.at.rfind("r=8192", 0), 0u) << m.name;
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
  EXPECT_NEAR(curve_at(h, "bound", 0), 16.5, 1e-12);  // (1/32) sum_{j=1}^{32} j
}

// mean_s |q_s . R(r) k_s| / sqrt(d) (anchor 0: R(0) = I) with RoPE half layout, from the
// documented draws Rng(seed, "long_term_decay/content"): q_0, k_0, q_1, k_1, ...
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
  return (double)(sum / samples / std::sqrt((long double)d));
}

TEST(LongTermDecay, RopeEmpiricalMeanAbsLogit) {
  const int samples = 16;
  const uint64_t seed = 7;
  const auto e = make_experiment("long_term_decay", {{"samples", samples}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}), seed);
  const Curve& c = curve(o, "mean_abs_logit");
  ASSERT_EQ(c.x, kDefaultDistances);
  EXPECT_EQ(c.y_unit, "logit");
  for (size_t i = 0; i < c.x.size(); ++i) {
    const double ref = reference_empirical(c.x[i], 128, samples, seed);
    EXPECT_NEAR(c.y[i], ref, 1e-10 * ref) << c.x[i];
  }
  EXPECT_EQ(metric(o, "mean_abs_logit"), c.y.back());
  EXPECT_EQ(metric(o, "decay_ratio"), c.y.back() / c.y[0]);
  // RoPE's logit depends only on r: another anchor gives the same values up to rounding.
  const auto moved = make_experiment("long_term_decay", {{"samples", samples}, {"anchor", 1000}});
  const EncoderOutcome mo = run_with(*moved, make_encoder({{"name", "rope"}}), seed);
  const Curve& m = curve(mo, "mean_abs_logit");
  for (size_t i = 0; i < c.x.size(); ++i) EXPECT_NEAR(m.y[i], c.y[i], 1e-9 * c.y[i]) << c.x[i];
}

TEST(LongTermDecay, SinusoidalAndAlibiClosedForms) {
  const auto e = make_experiment("long_term_decay", {{"positions", 40}});
  // <PE(x), PE(x + r)> = sum_i cos(r theta_i) for every anchor x.
  const EncoderOutcome s = run_with(*e, make_encoder({{"name", "sinusoidal"}}));
  const Curve& sc = curve(s, "mean_abs_pe_dot");
  ASSERT_EQ(sc.x, kDefaultDistances);
  for (size_t i = 0; i < sc.x.size(); ++i) {
    long double phi = 0;
    for (int k = 0; k < 64; ++k) phi += std::cos((long double)sc.x[i] * std::pow(1e4L, -k / 64.0L));
    EXPECT_NEAR(sc.y[i], std::fabs((double)phi), 1e-9) << sc.x[i];
  }
  EXPECT_NEAR(curve_at(s, "mean_abs_pe_dot", 0), 64.0, 1e-12);
  EXPECT_EQ(unit_of(s, "mean_abs_pe_dot"), "1");  // a PE dot product, not a logit
  // ALiBi: |b_h(x, x + r)| = m_h r, m_h = 2^-(h+1) for 8 heads; metrics average the heads.
  const EncoderOutcome a = run_with(*e, make_encoder({{"name", "alibi"}}));
  for (int h = 0; h < 8; ++h) {
    const Curve& c = curve(a, fmt::format("mean_abs_logit_head{}", h));
    for (size_t i = 0; i < c.x.size(); ++i)
      EXPECT_DOUBLE_EQ(c.y[i], std::ldexp(1.0, -(h + 1)) * c.x[i]) << h << " " << c.x[i];
  }
  // At r = 8192 (the largest default distance): mean over heads of m_h r.
  EXPECT_DOUBLE_EQ(metric(a, "mean_abs_logit"), 8192 * (255.0 / 256.0) / 8);
  EXPECT_EQ(unit_of(a, "mean_abs_logit"), "logit");
}

// The ones content (q = k = 1, RoFormer sec. 3.4.3): per rotated pair (1, 1) . R(r theta)(1, 1)
// = 2 cos(r theta), so logit(r) = (2 / sqrt(d)) sum_j cos(r theta_j), theta_j = base^(-2j/d).
double ones_logit(double r, int d, double base) {
  long double sum = 0;
  for (int j = 0; j < d / 2; ++j)
    sum += std::cos((long double)r * std::pow((long double)base, -2.0L * j / d));
  return (double)(2 * sum / std::sqrt((long double)d));
}

TEST(LongTermDecay, OnesContentGivesTheClosedFormLogit) {
  std::vector<double> rs;
  for (int r = 0; r <= 2048; r += 7) rs.push_back(r);
  const auto e = make_experiment("long_term_decay", {{"distances", rs}, {"content", "ones"}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}));
  ASSERT_EQ(o.status, Status::ok) << o.note;
  const Curve& c = curve(o, "mean_abs_logit");
  ASSERT_EQ(c.x, rs);
  for (size_t i = 0; i < rs.size(); ++i)
    EXPECT_NEAR(c.y[i], std::fabs(ones_logit(rs[i], 128, 1e4)), 1e-11) << rs[i];
  EXPECT_NEAR(c.y[0], std::sqrt(128.0), 1e-12);  // (2 / sqrt(d)) (d / 2)
  EXPECT_EQ(o.extra["content"]["model"], "ones");
  // The object form and the samples param (unused by ones) give the same numbers.
  const auto e2 = make_experiment(
      "long_term_decay", {{"distances", rs}, {"content", {{"model", "ones"}}}, {"samples", 3}});
  EXPECT_EQ(curve(run_with(*e2, make_encoder({{"name", "rope"}})), "mean_abs_logit").y, c.y);
  // A different base: the same closed form with base 5e5.
  const EncoderOutcome b =
      run_with(*e, make_encoder({{"name", "rope"}, {"params", {{"base", 5e5}}}}));
  for (size_t i = 0; i < rs.size(); ++i)
    EXPECT_NEAR(curve(b, "mean_abs_logit").y[i], std::fabs(ones_logit(rs[i], 128, 5e5)), 1e-11);
}

TEST(LongTermDecay, OnesContentDecaysWithDistance) {
  // RoFormer's claim: with structured content the logit decays. d = 128, base 1e4: the mean of
  // |logit(r)| over bins [0, 64), [64, 256), [256, 1024), [1024, 4096) falls bin by bin (the
  // closed form's bins: 6.67, 4.38, 2.66, 1.08; checked against the float64 loop too).
  std::vector<double> rs;
  for (int r = 0; r < 4096; ++r) rs.push_back(r);
  const auto e = make_experiment("long_term_decay", {{"distances", rs}, {"content", "ones"}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}));
  const Curve& c = curve(o, "mean_abs_logit");
  const int edges[5] = {0, 64, 256, 1024, 4096};
  double previous = INFINITY;
  for (int b = 0; b < 4; ++b) {
    double got = 0, want = 0;
    for (int r = edges[b]; r < edges[b + 1]; ++r)
      got += c.y[size_t(r)], want += std::fabs(ones_logit(r, 128, 1e4));
    got /= edges[b + 1] - edges[b], want /= edges[b + 1] - edges[b];
    EXPECT_NEAR(got, want, 1e-10) << b;
    EXPECT_LT(got, previous) << "bin " << b;
    previous = got;
  }
  EXPECT_LT(metric(o, "decay_ratio"), 0.2);
  // Independent q, k: no decay (a rotation maps a Gaussian to a Gaussian): both ends near
  // sqrt(2/pi) = 0.80 up to sampling noise of 256 draws (~0.04).
  const auto ind = make_experiment("long_term_decay", {{"distances", {0, 4095}}, {"samples", 256}});
  const EncoderOutcome io = run_with(*ind, make_encoder({{"name", "rope"}}));
  const Curve& ic = curve(io, "mean_abs_logit");
  for (double v : ic.y) EXPECT_NEAR(v, std::sqrt(2 / std::numbers::pi), 0.15);
}

TEST(LongTermDecay, SharedContentIsQEqualsK) {
  // shared: q_s = k_s ~ N(0, I) drawn in order from Rng(seed, "long_term_decay/content"), so
  // the logit is sum_j (x_j^2 + y_j^2) cos(r theta_j) / sqrt(d) per draw.
  const int samples = 5;
  const uint64_t seed = 3;
  const auto e =
      make_experiment("long_term_decay",
                      {{"distances", {0, 10, 1000}}, {"content", "shared"}, {"samples", samples}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}), seed);
  const Curve& c = curve(o, "mean_abs_logit");
  const double rs[3] = {0, 10, 1000};
  for (int t = 0; t < 3; ++t) {
    Rng rng(seed, "long_term_decay/content");
    long double sum = 0;
    for (int s = 0; s < samples; ++s) {
      const std::vector<double> q = rng.normal_vector(128);
      long double logit = 0;
      for (int j = 0; j < 64; ++j)
        logit += ((long double)q[j] * q[j] + (long double)q[j + 64] * q[j + 64]) *
                 std::cos(rs[t] * std::pow(1e4L, -2.0L * j / 128));
      sum += std::fabs(logit);
    }
    EXPECT_NEAR(c.y[size_t(t)], (double)(sum / samples / std::sqrt(128.0L)), 1e-11) << rs[t];
  }
}

TEST(LongTermDecay, ConsoleTablesShowEveryDistanceAsked) {
  // Asked 4096, 8192, 16384: those are the columns (not a fixed selection of distances).
  const auto e = make_experiment(
      "long_term_decay", {{"distances", {4096, 8192, 16384}}, {"positions", 4}, {"samples", 2}});
  const EncoderInstance rope = make_encoder({{"name", "rope"}});
  const EncoderInstance sin = make_encoder({{"name", "sinusoidal"}});
  const EncoderInstance alibi = make_encoder({{"name", "alibi"}});
  const ExperimentResult r = e->run_all({rope, sin, alibi}, RunContext{});
  const std::vector<std::string> cols = {"r=4096", "r=8192", "r=16384"};
  ASSERT_EQ(r.tables.size(), 3u);  // logit (rope, alibi), PE dot (sinusoidal), bound (rope)
  for (const ConsoleTable& t : r.tables) EXPECT_EQ(t.columns, cols) << t.title;
  EXPECT_EQ(r.tables[0].rows, (std::vector<std::string>{"rope", "alibi"}));
  EXPECT_NE(r.tables[0].title.find("[logit]"), std::string::npos);
  EXPECT_NE(r.tables[0].title.find("sqrt(dim)"), std::string::npos);
  // ALiBi's row: the mean over heads of m_h r.
  for (size_t i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(r.tables[0].cells[1][i], std::stod(cols[i].substr(2)) * (255.0 / 256) / 8);
  EXPECT_EQ(r.tables[1].rows, std::vector<std::string>{"sinusoidal"});
  EXPECT_EQ(r.tables[2].rows, std::vector<std::string>{"rope"});
  EXPECT_EQ(r.outcomes[0].metrics[0].at, "r=16384");
  // Many distances: split into tables of at most 12 columns, none dropped.
  std::vector<double> many;
  for (int i = 0; i < 30; ++i) many.push_back(i);
  const auto m = make_experiment("long_term_decay", {{"distances", many}, {"samples", 1}});
  const ExperimentResult mr = m->run_all({rope}, RunContext{});
  size_t columns = 0;
  for (const ConsoleTable& t : mr.tables)
    if (t.title.rfind("mean |logit|", 0) == 0) columns += t.columns.size();
  EXPECT_EQ(columns, 30u);
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
  const Curve& c = curve(ok, "mean_abs_pe_dot");
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
