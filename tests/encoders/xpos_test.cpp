// xPos (Sun et al. 2022) against formulas written here from the paper: pair i of d' rotated
// channels has theta_i = base^(-2i/d') and zeta_i = (2i + 0.4 d')/(1.4 d'); a query at n gets
// zeta_i^(n/scale_base) R(n), a key at m gets zeta_i^(-m/scale_base) R(m). The composed logit is
// then, per pair (a, b) with delta = n - m,
//   zeta_i^(delta/scale_base) [ (q_a k_a + q_b k_b) cos(delta theta_i)
//                               + (q_a k_b - q_b k_a) sin(delta theta_i) ],
// a function of n - m only.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/attention_logit.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_xpos(const json& given) { return test::make_scheme("xpos", given); }

long double zeta(int64_t i, int64_t rd) {
  return (2.0L * (long double)i + 0.4L * (long double)rd) / (1.4L * (long double)rd);
}
long double theta(int64_t i, int64_t rd, long double base) {
  return std::pow(base, -2.0L * (long double)i / (long double)rd);
}

// Reference logit from the closed form above; q at position n (query), k at m (key).
long double reference_logit(const std::vector<double>& q, const std::vector<double>& k, int64_t n,
                            int64_t m, int64_t rd, bool interleaved, long double base,
                            long double scale_base) {
  const int64_t half = rd / 2;
  long double s = 0;
  for (size_t c = rd; c < q.size(); ++c) s += (long double)q[c] * k[c];  // pass-through channels
  const long double delta = (long double)(n - m);
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const long double ang = delta * theta(i, rd, base);
    const long double mag = std::pow(zeta(i, rd), delta / scale_base);
    s += mag * (((long double)q[a] * k[a] + (long double)q[b] * k[b]) * std::cos(ang) +
                ((long double)q[a] * k[b] - (long double)q[b] * k[a]) * std::sin(ang));
  }
  return s;
}

TEST(Xpos, CoefficientsMatchTheClosedForm) {
  struct Case {
    json params;
    int64_t head_dim, rd;
    long double base, scale_base;
  };
  const std::vector<Case> cases = {
      {json::object(), 8, 8, 10000.0L, 512.0L},
      {{{"scale_base", 64.0}, {"base", 500.0}}, 16, 16, 500.0L, 64.0L},
      {{{"rotary_fraction", 0.5}}, 16, 8, 10000.0L, 512.0L},  // zeta uses d' = 8, not 16
  };
  const std::vector<int64_t> positions = {0, 1, 7, 100, 513, 4096};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.params.dump());
    auto enc = make_xpos(c.params);
    ASSERT_EQ(enc->rotary_dims(c.head_dim), c.rd);
    const int64_t half = c.rd / 2;
    for (Role role : {Role::query, Role::key}) {
      std::vector<double> cs(positions.size() * half), sn(positions.size() * half);
      enc->rotary_coefficients(positions, c.head_dim, RotaryContext{role, 0}, cs.data(), sn.data());
      const long double sign = role == Role::query ? 1.0L : -1.0L;
      for (size_t t = 0; t < positions.size(); ++t)
        for (int64_t i = 0; i < half; ++i) {
          const long double p = (long double)positions[t];
          const long double a = std::pow(zeta(i, c.rd), sign * p / c.scale_base);
          const long double ang = p * theta(i, c.rd, c.base);
          const double tol = 1e-14 * (1.0 + double(p)) * double(a);
          EXPECT_NEAR(cs[t * half + i], double(a * std::cos(ang)), tol)
              << "p=" << positions[t] << " i=" << i;
          EXPECT_NEAR(sn[t * half + i], double(a * std::sin(ang)), tol)
              << "p=" << positions[t] << " i=" << i;
        }
    }
  }
}

TEST(Xpos, HandComputedScales) {
  // d' = 4: zeta_0 = 1.6/5.6 = 2/7, zeta_1 = 3.6/5.6 = 9/14. At position 512 (= scale_base),
  // angle 0 only for p = 0, so check magnitudes: |(c, s)| = zeta^(+1) for the query and
  // zeta^(-1) for the key.
  auto enc = make_xpos(json::object());
  const std::vector<int64_t> pos = {512};
  std::vector<double> c(2), s(2);
  enc->rotary_coefficients(pos, 4, RotaryContext{Role::query, 0}, c.data(), s.data());
  EXPECT_NEAR(std::hypot(c[0], s[0]), 2.0 / 7.0, 1e-15);
  EXPECT_NEAR(std::hypot(c[1], s[1]), 9.0 / 14.0, 1e-15);
  enc->rotary_coefficients(pos, 4, RotaryContext{Role::key, 0}, c.data(), s.data());
  EXPECT_NEAR(std::hypot(c[0], s[0]), 7.0 / 2.0, 1e-14);
  EXPECT_NEAR(std::hypot(c[1], s[1]), 14.0 / 9.0, 1e-14);
  // Position 0: no rotation, no scale, for both roles.
  const std::vector<int64_t> zero = {0};
  for (Role role : {Role::query, Role::key}) {
    enc->rotary_coefficients(zero, 4, RotaryContext{role, 0}, c.data(), s.data());
    EXPECT_EQ(c[0], 1.0);
    EXPECT_EQ(c[1], 1.0);
    EXPECT_EQ(s[0], 0.0);
    EXPECT_EQ(s[1], 0.0);
  }
}

TEST(Xpos, QueryAndKeyScalesAreInverse) {
  for (json params : {json::object(), json{{"centre", true}}}) {
    SCOPED_TRACE(params.dump());
    auto enc = make_xpos(params);
    const int64_t head_dim = 32, half = 16;
    const std::vector<int64_t> positions = {0, 3, 250, 1000, 20000};
    std::vector<double> cq(positions.size() * half), sq(cq.size()), ck(cq.size()), sk(cq.size());
    enc->rotary_coefficients(positions, head_dim, RotaryContext{Role::query, 30000}, cq.data(),
                             sq.data());
    enc->rotary_coefficients(positions, head_dim, RotaryContext{Role::key, 30000}, ck.data(),
                             sk.data());
    for (size_t t = 0; t < cq.size(); ++t) {
      const double aq = std::hypot(cq[t], sq[t]), ak = std::hypot(ck[t], sk[t]);
      EXPECT_NEAR(aq * ak, 1.0, 1e-13) << t;
      // Same angle on both sides: the unit rotations agree.
      EXPECT_NEAR(cq[t] / aq, ck[t] / ak, 1e-13) << t;
      EXPECT_NEAR(sq[t] / aq, sk[t] / ak, 1e-13) << t;
    }
  }
}

TEST(Xpos, CentreUsesTorchscalesExponent) {
  // torchscale: exponent (p - ceil(L/2)) / scale_base, angle p theta_i.
  auto enc = make_xpos({{"centre", true}, {"scale_base", 8.0}});
  const int64_t head_dim = 4, rd = 4, half = 2;
  const std::vector<int64_t> positions = {0, 3, 9};
  for (int64_t len : {int64_t(10), int64_t(11)}) {
    const int64_t centre = (len + 1) / 2;  // ceil
    for (Role role : {Role::query, Role::key}) {
      std::vector<double> c(positions.size() * half), s(c.size());
      enc->rotary_coefficients(positions, head_dim, RotaryContext{role, len}, c.data(), s.data());
      const long double sign = role == Role::query ? 1.0L : -1.0L;
      for (size_t t = 0; t < positions.size(); ++t)
        for (int64_t i = 0; i < half; ++i) {
          const long double a =
              std::pow(zeta(i, rd), sign * (long double)(positions[t] - centre) / 8.0L);
          const long double ang = (long double)positions[t] * theta(i, rd, 10000.0L);
          EXPECT_NEAR(c[t * half + i], double(a * std::cos(ang)), 1e-14)
              << "L=" << len << " p=" << positions[t];
          EXPECT_NEAR(s[t * half + i], double(a * std::sin(ang)), 1e-14)
              << "L=" << len << " p=" << positions[t];
        }
    }
  }
  // seq_len 0: L = largest position of the call + 1 = 10, centre 5: p = 5 has magnitude 1.
  const std::vector<int64_t> pos = {5, 9};
  std::vector<double> c(4), s(4);
  enc->rotary_coefficients(pos, head_dim, RotaryContext{Role::query, 0}, c.data(), s.data());
  EXPECT_NEAR(std::hypot(c[0], s[0]), 1.0, 1e-15);
  EXPECT_NEAR(std::hypot(c[1], s[1]), 1.0, 1e-15);
}

TEST(Xpos, ScoreDependsOnlyOnRelativePosition) {
  const int64_t dim = 16;
  Rng rng(7, "xpos_test/qk");
  const std::vector<double> q = rng.normal_vector(dim), k = rng.normal_vector(dim);
  struct Case {
    json params;
    int64_t rd;
    bool interleaved;
  };
  const std::vector<Case> cases = {
      {json::object(), 16, true},
      {{{"layout", "half"}}, 16, false},
      {{{"centre", true}}, 16, true},
      {{{"rotary_fraction", 0.5}, {"layout", "half"}}, 8, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.params.dump());
    auto enc = make_xpos(c.params);
    for (int64_t delta : {-300, -17, -1, 0, 1, 5, 64, 700}) {
      const long double ref = reference_logit(q, k, delta, 0, c.rd, c.interleaved, 10000.0L,
                                              512.0L);  // query at delta, key at 0
      for (int64_t shift : {0, 1, 999, 5000, 40000}) {
        const int64_t n = shift + std::max<int64_t>(delta, 0), m = n - delta;
        for (int64_t seq_len : {int64_t(0), int64_t(60000)}) {
          LogitShape shape{dim, 1, seq_len};
          const double s = attention_logit(*enc, shape, 0, q, k, n, m);
          EXPECT_NEAR(s, double(ref), 1e-11 * (1.0 + std::abs(double(ref))))
              << "delta=" << delta << " n=" << n << " m=" << m << " seq_len=" << seq_len;
        }
      }
    }
  }
}

TEST(Xpos, RotateAppliesTheScaledRotationToEveryHead) {
  auto enc = make_xpos(json::object());
  const int64_t heads = 2, head_dim = 4;
  const std::vector<int64_t> positions = {3, 600};
  Rng rng(3, "xpos_test/x");
  const std::vector<double> x0 = rng.normal_vector(int64_t(positions.size()) * heads * head_dim);
  std::vector<double> x = x0;
  rotate<double>(*enc, positions, heads, head_dim, RotaryContext{Role::key, 0}, x.data());
  for (size_t t = 0; t < positions.size(); ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < 2; ++i) {
        const size_t off = (t * heads + h) * head_dim;
        const long double p = (long double)positions[t];
        const long double a = std::pow(zeta(i, 4), -p / 512.0L), ang = p * theta(i, 4, 10000.0L);
        const long double xa = x0[off + 2 * i], xb = x0[off + 2 * i + 1];  // interleaved
        EXPECT_NEAR(x[off + 2 * i], double(a * (xa * std::cos(ang) - xb * std::sin(ang))), 1e-12);
        EXPECT_NEAR(x[off + 2 * i + 1], double(a * (xa * std::sin(ang) + xb * std::cos(ang))),
                    1e-12);
      }
}

TEST(Xpos, HasNoAngularForm) {
  auto enc = make_xpos(json::object());
  EXPECT_FALSE(enc->angular_form(64, RotaryContext{Role::query, 0}).has_value());
  EXPECT_FALSE(enc->angular_form(64, RotaryContext{Role::key, 128}).has_value());
  EXPECT_EQ(enc->family(), Family::rotary);
  EXPECT_EQ(enc->rotary_pairing(), RotaryPairing::interleaved);  // torchscale's layout
}

TEST(Xpos, PositionsWhoseScaleLeavesFloat64AreUnsupported) {
  auto enc = make_xpos(json::object());
  std::vector<double> c(4), s(4);
  // zeta_0 = 2/7: e^(1.2528 * 280000/512) = e^685 is still finite; e^(1.2528 * 1e6/512) is not.
  const std::vector<int64_t> ok = {280000}, too_far = {1000000};
  for (Role role : {Role::query, Role::key}) {
    enc->rotary_coefficients(ok, 8, RotaryContext{role, 0}, c.data(), s.data());
    EXPECT_TRUE(std::isfinite(c[0]) && std::hypot(c[0], s[0]) > 0);
    EXPECT_THROW(enc->rotary_coefficients(too_far, 8, RotaryContext{role, 0}, c.data(), s.data()),
                 UnsupportedPosition);
  }
}

TEST(Xpos, ShapeErrors) {
  auto enc = make_xpos(json::object());
  EXPECT_THROW(enc->check_shape(7, 1), UserError);
  EXPECT_THROW(enc->check_shape(0, 1), UserError);
  auto narrow = make_xpos({{"rotary_fraction", 0.1}});
  try {
    narrow->check_shape(8, 1);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "rotary_fraction");
  }
  // scale_base must be positive.
  const EncoderInfo& info = EncoderRegistry::instance().get("xpos", "encoder");
  Diagnostics diag;
  resolve_params(info.params, json{{"scale_base", 0}}, "params", diag);
  ASSERT_FALSE(diag.ok());
  EXPECT_EQ(diag.problems()[0].path, "params.scale_base");
}

}  // namespace
}  // namespace posbench
