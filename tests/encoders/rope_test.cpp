// RoPE (Su et al. 2021) against an independent long-double rotation written from the paper:
// pair i in [0, d'/2) has theta_i = base^(-2i/d'); the pair (a, b) at position p becomes
// (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/attention_logit.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_rope(const json& given) { return test::make_scheme("rope", given); }

// Reference rotation of one head x[head_dim] at position p: `rotated` leading channels rotate,
// paired as (i, i + rotated/2) (half) or (2i, 2i+1) (interleaved).
std::vector<long double> reference_rotate(const std::vector<double>& x, int64_t p, int64_t rotated,
                                          long double base, bool interleaved) {
  std::vector<long double> out(x.begin(), x.end());
  const int64_t half = rotated / 2;
  for (int64_t i = 0; i < half; ++i) {
    const long double theta =
        std::exp(-(2.0L * (long double)i / (long double)rotated) * std::log(base));
    const long double angle = (long double)p * theta;
    const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
    const long double a = x[ia], b = x[ib];
    out[ia] = a * std::cos(angle) - b * std::sin(angle);
    out[ib] = a * std::sin(angle) + b * std::cos(angle);
  }
  return out;
}

std::vector<double> random_vector(int64_t n, const char* stream) {
  Rng rng(42, stream);
  return rng.normal_vector(n);
}

const std::vector<int64_t> kPositions = {0, 1, 7, 1000, 1000000};

void check_layout(const json& params, int64_t head_dim, int64_t rotated, long double base,
                  bool interleaved) {
  auto enc = make_rope(params);
  ASSERT_EQ(enc->rotary_dims(head_dim), rotated);
  const int64_t heads = 3;
  const auto x0 = random_vector(int64_t(kPositions.size()) * heads * head_dim, "rope_test/x");
  std::vector<double> x = x0;
  rotate<double>(*enc, kPositions, heads, head_dim, RotaryContext{}, x.data());
  for (size_t t = 0; t < kPositions.size(); ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const size_t off = (t * heads + h) * head_dim;
      std::vector<double> head(x0.begin() + off, x0.begin() + off + head_dim);
      const auto ref = reference_rotate(head, kPositions[t], rotated, base, interleaved);
      for (int64_t c = 0; c < head_dim; ++c)
        EXPECT_NEAR(x[off + c], double(ref[c]), 1e-14 * (1.0 + double(kPositions[t])))
            << "p=" << kPositions[t] << " h=" << h << " c=" << c;
    }
}

TEST(Rope, HalfLayoutMatchesReferenceRotation) {
  check_layout(json::object(), 16, 16, 10000.0L, false);  // default layout is "half"
  check_layout({{"layout", "half"}, {"base", 500000.0}}, 64, 64, 500000.0L, false);
}

TEST(Rope, InterleavedLayoutMatchesReferenceRotation) {
  check_layout({{"layout", "interleaved"}}, 16, 16, 10000.0L, true);
  check_layout({{"layout", "interleaved"}, {"base", 100.0}}, 64, 64, 100.0L, true);
}

TEST(Rope, ClosedFormCoefficients) {
  // head_dim 4, base 10000: theta = (1, 0.01).
  auto enc = make_rope(json::object());
  EXPECT_EQ(enc->family(), Family::rotary);
  EXPECT_EQ(enc->rotary_pairing(), RotaryPairing::half);
  EXPECT_EQ(make_rope({{"layout", "interleaved"}})->rotary_pairing(), RotaryPairing::interleaved);
  const std::vector<int64_t> pos = {0, 7};
  std::vector<double> c(4), s(4);
  enc->rotary_coefficients(pos, 4, RotaryContext{}, c.data(), s.data());
  EXPECT_EQ(c[0], 1.0);
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(c[1], 1.0);
  EXPECT_EQ(s[1], 0.0);
  EXPECT_NEAR(c[2], std::cos(7.0), 1e-15);
  EXPECT_NEAR(s[2], std::sin(7.0), 1e-15);
  EXPECT_NEAR(c[3], std::cos(0.07), 1e-15);
  EXPECT_NEAR(s[3], std::sin(0.07), 1e-15);
}

TEST(Rope, LayoutsDifferByAChannelPermutation) {
  // half-layout channel order (x_0..x_{d/2-1}, x_{d/2}..x_{d-1}) maps to interleaved order
  // (x_0, x_{d/2}, x_1, x_{d/2+1}, ...): rotating in either layout then permuting agrees.
  const int64_t d = 32;
  auto half = make_rope({{"layout", "half"}});
  auto inter = make_rope({{"layout", "interleaved"}});
  const auto xh0 = random_vector(int64_t(kPositions.size()) * d, "rope_test/perm");
  auto to_interleaved = [&](const double* h, double* out) {
    for (int64_t i = 0; i < d / 2; ++i) out[2 * i] = h[i], out[2 * i + 1] = h[i + d / 2];
  };
  std::vector<double> xi0(xh0.size());
  for (size_t t = 0; t < kPositions.size(); ++t) to_interleaved(&xh0[t * d], &xi0[t * d]);
  std::vector<double> xh = xh0, xi = xi0;
  rotate<double>(*half, kPositions, 1, d, RotaryContext{}, xh.data());
  rotate<double>(*inter, kPositions, 1, d, RotaryContext{}, xi.data());
  std::vector<double> xh_perm(xh.size());
  for (size_t t = 0; t < kPositions.size(); ++t) to_interleaved(&xh[t * d], &xh_perm[t * d]);
  for (size_t k = 0; k < xi.size(); ++k) EXPECT_NEAR(xi[k], xh_perm[k], 1e-12) << k;
  // ...and the layouts really differ (otherwise the permutation check is vacuous).
  double diff = 0;
  for (size_t k = d; k < xi.size(); ++k) diff = std::max(diff, std::abs(xi[k] - xh[k]));
  EXPECT_GT(diff, 1e-3);
}

TEST(Rope, PartialRotationUsesRotatedDimsAndLeavesTail) {
  // rotary_fraction 0.5 of head_dim 16: d' = 8 rotate with theta_i = base^(-2i/8), channels
  // 8..15 pass through bit-exactly.
  for (bool interleaved : {false, true}) {
    SCOPED_TRACE(interleaved ? "interleaved" : "half");
    const json params = {{"rotary_fraction", 0.5},
                         {"layout", interleaved ? "interleaved" : "half"}};
    check_layout(params, 16, 8, 10000.0L, interleaved);
    auto enc = make_rope(params);
    const auto x0 = random_vector(int64_t(kPositions.size()) * 16, "rope_test/tail");
    std::vector<double> x = x0;
    rotate<double>(*enc, kPositions, 1, 16, RotaryContext{}, x.data());
    for (size_t t = 0; t < kPositions.size(); ++t)
      for (int64_t c = 8; c < 16; ++c) EXPECT_EQ(x[t * 16 + c], x0[t * 16 + c]);
  }
  // Pin d' (not head_dim) in the exponent: pair 1 of d' = 8 has theta = 10000^(-1/4) = 0.1,
  // whereas 10000^(-2/16) would be ~0.316.
  auto enc = make_rope({{"rotary_fraction", 0.5}});
  const std::vector<int64_t> pos = {10};
  std::vector<double> c(4), s(4);
  enc->rotary_coefficients(pos, 16, RotaryContext{}, c.data(), s.data());
  EXPECT_NEAR(c[1], std::cos(1.0), 1e-14);
  EXPECT_NEAR(s[1], std::sin(1.0), 1e-14);
}

TEST(Rope, RotaryDimsRoundDownToEven) {
  EXPECT_EQ(make_rope(json::object())->rotary_dims(64), 64);
  EXPECT_EQ(make_rope({{"rotary_fraction", 0.5}})->rotary_dims(64), 32);
  EXPECT_EQ(make_rope({{"rotary_fraction", 0.25}})->rotary_dims(64), 16);
  EXPECT_EQ(make_rope({{"rotary_fraction", 0.35}})->rotary_dims(16), 4);  // 5.6 -> 4
  EXPECT_EQ(make_rope({{"rotary_fraction", 0.3}})->rotary_dims(10), 2);   // 3 -> 2
}

TEST(Rope, PreservesNorm) {
  for (const char* layout : {"half", "interleaved"}) {
    auto enc = make_rope({{"layout", layout}});
    const int64_t d = 64;
    const std::vector<int64_t> pos = {0, 3, 999, 123456, 1000000, 10000000};
    const auto x0 = random_vector(int64_t(pos.size()) * d, "rope_test/norm");
    std::vector<double> x = x0;
    rotate<double>(*enc, pos, 1, d, RotaryContext{}, x.data());
    for (size_t t = 0; t < pos.size(); ++t) {
      double n0 = 0, n1 = 0;
      for (int64_t c = 0; c < d; ++c) n0 += x0[t * d + c] * x0[t * d + c];
      for (int64_t c = 0; c < d; ++c) n1 += x[t * d + c] * x[t * d + c];
      EXPECT_NEAR(std::sqrt(n1), std::sqrt(n0), 1e-12 * std::sqrt(n0)) << layout << " p=" << pos[t];
    }
  }
}

TEST(Rope, LogitDependsOnlyOnRelativePosition) {
  // s(q, k, m, n) = (R(m) q) . (R(n) k) = q^T R((n - m) theta) k: per pair,
  //   cos(phi)(q_a k_a + q_b k_b) + sin(phi)(q_b k_a - q_a k_b),  phi = (n - m) theta_i.
  for (bool interleaved : {false, true}) {
    SCOPED_TRACE(interleaved ? "interleaved" : "half");
    const int64_t d = 32;
    auto enc = make_rope({{"layout", interleaved ? "interleaved" : "half"}});
    const auto q = Rng(42, "rope_test/q").unit_vector(d);
    const auto k = Rng(42, "rope_test/k").unit_vector(d);
    const LogitShape shape{d, 1, 0};
    const int64_t diffs[] = {0, 3, -5, 250};
    const int64_t starts[] = {5, 17, 1000, 1000000};
    for (int64_t delta : diffs) {
      long double expected = 0;
      for (int64_t i = 0; i < d / 2; ++i) {
        const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + d / 2;
        const long double phi =
            -(long double)delta * std::exp(-(2.0L * i / d) * std::log(10000.0L));
        expected += std::cos(phi) * ((long double)q[ia] * k[ia] + (long double)q[ib] * k[ib]) +
                    std::sin(phi) * ((long double)q[ib] * k[ia] - (long double)q[ia] * k[ib]);
      }
      for (int64_t n : starts) {
        const int64_t m = n + delta;
        const double s = attention_logit(*enc, shape, 0, q, k, m, n);
        EXPECT_NEAR(s, double(expected), 1e-9) << "m=" << m << " n=" << n;
      }
    }
  }
}

TEST(Rope, Float32AtLargePositionIsRoundedOnce) {
  // float32 storage, float64 arithmetic: each output is the exact rotation of the float32
  // input rounded once (half an ulp, relative 2^-24), even at p = 1e6.
  for (bool interleaved : {false, true}) {
    auto enc = make_rope({{"layout", interleaved ? "interleaved" : "half"}});
    const int64_t d = 64;
    const std::vector<int64_t> pos = {1000000, 1000001};
    const auto xd = random_vector(int64_t(pos.size()) * d, "rope_test/f32");
    std::vector<float> x(xd.begin(), xd.end());
    const std::vector<double> x_in(x.begin(), x.end());  // the exactly representable input
    rotate<float>(*enc, pos, 1, d, RotaryContext{}, x.data());
    for (size_t t = 0; t < pos.size(); ++t) {
      std::vector<double> head(x_in.begin() + t * d, x_in.begin() + (t + 1) * d);
      const auto ref = reference_rotate(head, pos[t], d, 10000.0L, interleaved);
      for (int64_t c = 0; c < d; ++c)
        EXPECT_NEAR(double(x[t * d + c]), double(ref[c]), 6e-8 * std::abs(double(ref[c])) + 1e-9)
            << "p=" << pos[t] << " c=" << c;
    }
  }
}

TEST(Rope, ShapeErrors) {
  auto enc = make_rope(json::object());
  EXPECT_THROW(enc->check_shape(127, 1), UserError);
  EXPECT_THROW(enc->check_shape(0, 1), UserError);
  EXPECT_NO_THROW(enc->check_shape(128, 1));
  // A fraction that rotates no pair names rotary_fraction.
  auto tiny = make_rope({{"rotary_fraction", 0.1}});
  try {
    tiny->check_shape(8, 1);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "rotary_fraction");
  }
}

TEST(Rope, DeclaredParamsAndDefaults) {
  const EncoderInfo& info = EncoderRegistry::instance().get("rope", "encoder");
  EXPECT_EQ(info.family, Family::rotary);
  Diagnostics diag;
  json resolved = resolve_params(info.params, json::object(), "p", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(resolved, json({{"base", 10000.0},
                            {"layout", "half"},
                            {"rotary_fraction", 1.0},
                            {"scaling", nullptr},
                            {"max_position_embeddings", nullptr},
                            {"head_dim", nullptr}}));
  Diagnostics bad;
  resolve_params(info.params, {{"rotary_fraction", 0.0}, {"base", 0.5}}, "p", bad);
  EXPECT_EQ(bad.problems().size(), 2u);
  Diagnostics over;
  resolve_params(info.params, {{"rotary_fraction", 1.5}}, "p", over);
  ASSERT_EQ(over.problems().size(), 1u);
  EXPECT_EQ(over.problems()[0].path, "p.rotary_fraction");
}

TEST(Rope, PretrainedIsTheUnscaledRopeAtTheOriginalLengthOfItsRopeType) {
  EXPECT_FALSE(make_rope({{"base", 500000}})->pretrained().has_value());
  EXPECT_FALSE(make_rope({{"scaling", {{"rope_type", "default"}}}})->pretrained().has_value());
  struct Case {
    json params;
    std::optional<int64_t> length;
    std::string from;
  };
  const json llama3 = {{"rope_type", "llama3"},
                       {"factor", 8},
                       {"low_freq_factor", 1},
                       {"high_freq_factor", 4},
                       {"original_max_position_embeddings", 8192}};
  const std::vector<Case> cases = {
      {{{"scaling", {{"rope_type", "linear"}, {"factor", 4}}}}, std::nullopt, ""},
      {{{"scaling", {{"rope_type", "ntk"}, {"factor", 4}}}, {"max_position_embeddings", 4096}},
       std::nullopt,
       ""},
      // dynamic reads max_position_embeddings first (as HuggingFace does)
      {{{"max_position_embeddings", 2048},
        {"scaling",
         {{"rope_type", "dynamic"}, {"factor", 2}, {"original_max_position_embeddings", 1024}}}},
       2048,
       "max_position_embeddings"},
      {{{"scaling",
         {{"rope_type", "dynamic"}, {"factor", 2}, {"original_max_position_embeddings", 1024}}}},
       1024,
       "scaling.original_max_position_embeddings"},
      // yarn and longrope read the scaling's original length first
      {{{"max_position_embeddings", 32768},
        {"scaling",
         {{"rope_type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 2048}}}},
       2048,
       "scaling.original_max_position_embeddings"},
      {{{"max_position_embeddings", 4096}, {"scaling", {{"rope_type", "yarn"}, {"factor", 4}}}},
       4096,
       "max_position_embeddings"},
      {{{"base", 500000}, {"layout", "interleaved"}, {"scaling", llama3}},
       8192,
       "scaling.original_max_position_embeddings"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.params.dump());
    const auto pre = make_rope(c.params)->pretrained();
    ASSERT_TRUE(pre.has_value());
    EXPECT_EQ(pre->length, c.length);
    EXPECT_EQ(pre->length_from, c.from);
    EXPECT_FALSE(pre->params.contains("scaling"));
    EXPECT_EQ(pre->params.at("base"), c.params.value("base", 10000.0));
    EXPECT_EQ(pre->params.at("layout"), c.params.value("layout", "half"));
    EXPECT_EQ(pre->params.at("rotary_fraction"), 1.0);
  }
  // HuggingFace names inside the scaling dict carry over: base and rotary fraction.
  const auto pre = make_rope({{"scaling",
                               {{"rope_type", "linear"},
                                {"factor", 2},
                                {"rope_theta", 1e6},
                                {"partial_rotary_factor", 0.5}}}})
                       ->pretrained();
  ASSERT_TRUE(pre.has_value());
  EXPECT_EQ(pre->params.at("base"), 1e6);
  EXPECT_EQ(pre->params.at("rotary_fraction"), 0.5);
}

}  // namespace
}  // namespace posbench
