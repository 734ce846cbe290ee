// RoPE context-extension variants (`rope` param `scaling`, HuggingFace's rope_scaling dict)
// against references written here from the formulas (not from posbench's code), and against
// the numbers HuggingFace publishes in tests/utils/test_modeling_rope_utils.py
// (huggingface/transformers, commit 087e800256786f75d7392f947c17dfb5fac2dc3b).
//
// With d' rotated channels, theta_i = base^(-2i/d'), i in [0, d'/2), a variant gives inverse
// frequencies f_i and an attention factor a; pair i at position p is rotated by p f_i and
// scaled by a.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/cli/apply_command.h"
#include "harness/run/config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::dot;
constexpr double kPi = std::numbers::pi;

std::unique_ptr<Encoder> make_rope(const json& params) { return test::make_scheme("rope", params); }

// ---- references, from the formulas ---------------------------------------------------------

struct Ref {
  std::vector<double> f;  // inverse frequencies, [d'/2]
  double a = 1.0;         // attention factor on cos and sin
};

std::vector<double> ref_theta(int64_t d, double base) {
  std::vector<double> t(d / 2);
  for (int64_t i = 0; i < d / 2; ++i)
    t[i] = std::exp(-(2.0 * double(i) / double(d)) * std::log(base));
  return t;
}

Ref ref_linear(int64_t d, double base, double s) {
  Ref r{ref_theta(d, base)};
  for (auto& v : r.f) v = v / s;
  return r;
}

// Static NTK-aware: base' = base s^(d/(d-2)).
Ref ref_ntk(int64_t d, double base, double s) {
  return {ref_theta(d, base * std::exp(double(d) / double(d - 2) * std::log(s)))};
}

// Dynamic NTK: base' = base (s n / L - (s - 1))^(d/(d-2)) when n > L.
Ref ref_dynamic(int64_t d, double base, double s, double L, double n) {
  if (n <= L) return {ref_theta(d, base)};
  return {ref_theta(d, base * std::exp(double(d) / double(d - 2) * std::log(s * n / L - s + 1)))};
}

struct YarnCase {
  double s = 1, L = 2048, beta_fast = 32, beta_slow = 1;
  bool truncate = true;
  std::optional<double> attention = std::nullopt;
  double mscale = 0, mscale_all_dim = 0;
};

// YaRN (Peng et al. 2023): dims whose wavelength fits fewer than beta_slow times in L are
// interpolated (theta/s), those that fit more than beta_fast times are kept, linear ramp between.
Ref ref_yarn(int64_t d, double base, const YarnCase& c) {
  // The dimension index at which a frequency completes r rotations over L.
  auto dim_of_rotations = [&](double r) {
    return double(d) * std::log(c.L / (2 * kPi * r)) / (2 * std::log(base));
  };
  double lo = dim_of_rotations(c.beta_fast), hi = dim_of_rotations(c.beta_slow);
  if (c.truncate) lo = std::floor(lo), hi = std::ceil(hi);
  lo = std::max(lo, 0.0);
  hi = std::min(hi, double(d - 1));
  if (lo == hi) hi += 0.001;
  Ref r{ref_theta(d, base)};
  for (int64_t i = 0; i < d / 2; ++i) {
    const double gamma = std::min(1.0, std::max(0.0, (double(i) - lo) / (hi - lo)));
    r.f[i] = r.f[i] * (1 - gamma) + (r.f[i] / c.s) * gamma;
  }
  auto temperature = [](double s, double m) { return s <= 1 ? 1.0 : 1 + 0.1 * m * std::log(s); };
  if (c.attention)
    r.a = *c.attention;
  else if (c.mscale != 0 && c.mscale_all_dim != 0)
    r.a = temperature(c.s, c.mscale) / temperature(c.s, c.mscale_all_dim);
  else
    r.a = temperature(c.s, 1);
  return r;
}

// LongRoPE: theta_i / e_i, e = long list past L, short list otherwise;
// a = sqrt(1 + ln(s) / ln(L)) for s > 1.
Ref ref_longrope(int64_t d, double base, const std::vector<double>& shortf,
                 const std::vector<double>& longf, double L, double s, double n) {
  Ref r{ref_theta(d, base)};
  for (int64_t i = 0; i < d / 2; ++i) r.f[i] /= (n > L ? longf[i] : shortf[i]);
  r.a = s > 1 ? std::sqrt(1 + std::log(s) / std::log(L)) : 1.0;
  return r;
}

// Llama 3.1: wavelengths longer than L/low are divided by s, shorter than L/high kept, and in
// between blended by (L/wavelength - low) / (high - low).
Ref ref_llama3(int64_t d, double base, double s, double low, double high, double L) {
  Ref r{ref_theta(d, base)};
  for (auto& v : r.f) {
    const double wavelength = 2 * kPi / v;
    if (wavelength > L / low) {
      v = v / s;
    } else if (wavelength >= L / high) {
      const double w = (L / wavelength - low) / (high - low);
      v = w * v + (1 - w) * v / s;
    }
  }
  return r;
}

// ---- observing posbench ----------------------------------------------------------------------

// posbench's frequencies and attention factor, read back from the coefficients at position 1:
// f_i = atan2(s, c) (every f_i here is below pi), a = hypot(c, s).
Ref observe(const Encoder& enc, int64_t head_dim, int64_t seq_len) {
  const int64_t half = enc.rotary_dims(head_dim) / 2;
  const std::vector<int64_t> pos = {1};
  std::vector<double> c(half), s(half);
  enc.rotary_coefficients(pos, head_dim, RotaryContext{Role::query, seq_len}, c.data(), s.data());
  Ref r;
  r.a = std::hypot(c[0], s[0]);
  for (int64_t i = 0; i < half; ++i) {
    r.f.push_back(std::atan2(s[i], c[i]));
    EXPECT_NEAR(std::hypot(c[i], s[i]), r.a, 1e-15 * r.a) << "pair " << i;
  }
  return r;
}

void expect_same(const Ref& got, const Ref& want, double rel = 1e-13) {
  ASSERT_EQ(got.f.size(), want.f.size());
  for (size_t i = 0; i < want.f.size(); ++i)
    EXPECT_NEAR(got.f[i], want.f[i], rel * want.f[i]) << "pair " << i;
  EXPECT_NEAR(got.a, want.a, 1e-14 * want.a);
}

// HuggingFace's snapshots print 5 significant digits: half a unit of the last one, plus room
// for its float32 arithmetic.
void expect_snapshot(const std::vector<double>& got, const std::vector<double>& snapshot) {
  ASSERT_EQ(got.size(), snapshot.size());
  for (size_t i = 0; i < snapshot.size(); ++i) {
    const double unit = std::pow(10.0, std::floor(std::log10(snapshot[i])) - 4);
    EXPECT_NEAR(got[i], snapshot[i], 0.5 * unit + 3e-7 * snapshot[i]) << "index " << i;
  }
}

// ---- HuggingFace's published numbers (LlamaConfig: head_dim 128, rope_theta 10000,
// max_position_embeddings 2048) -------------------------------------------------------------

// test_default_rope_numerically
const std::vector<double> kHfDefault = {
    1.0000e+00, 8.6596e-01, 7.4989e-01, 6.4938e-01, 5.6234e-01, 4.8697e-01, 4.2170e-01, 3.6517e-01,
    3.1623e-01, 2.7384e-01, 2.3714e-01, 2.0535e-01, 1.7783e-01, 1.5399e-01, 1.3335e-01, 1.1548e-01,
    1.0000e-01, 8.6596e-02, 7.4989e-02, 6.4938e-02, 5.6234e-02, 4.8697e-02, 4.2170e-02, 3.6517e-02,
    3.1623e-02, 2.7384e-02, 2.3714e-02, 2.0535e-02, 1.7783e-02, 1.5399e-02, 1.3335e-02, 1.1548e-02,
    1.0000e-02, 8.6596e-03, 7.4989e-03, 6.4938e-03, 5.6234e-03, 4.8697e-03, 4.2170e-03, 3.6517e-03,
    3.1623e-03, 2.7384e-03, 2.3714e-03, 2.0535e-03, 1.7783e-03, 1.5399e-03, 1.3335e-03, 1.1548e-03,
    1.0000e-03, 8.6596e-04, 7.4989e-04, 6.4938e-04, 5.6234e-04, 4.8697e-04, 4.2170e-04, 3.6517e-04,
    3.1623e-04, 2.7384e-04, 2.3714e-04, 2.0535e-04, 1.7783e-04, 1.5399e-04, 1.3335e-04, 1.1548e-04};

// test_dynamic_rope_numerically: factor 10, seq_len 16384.
const std::vector<double> kHfDynamic = {
    1.0000e+00, 8.0931e-01, 6.5498e-01, 5.3008e-01, 4.2900e-01, 3.4720e-01, 2.8099e-01, 2.2741e-01,
    1.8404e-01, 1.4895e-01, 1.2055e-01, 9.7558e-02, 7.8955e-02, 6.3899e-02, 5.1714e-02, 4.1853e-02,
    3.3872e-02, 2.7413e-02, 2.2185e-02, 1.7955e-02, 1.4531e-02, 1.1760e-02, 9.5176e-03, 7.7027e-03,
    6.2339e-03, 5.0451e-03, 4.0831e-03, 3.3045e-03, 2.6744e-03, 2.1644e-03, 1.7517e-03, 1.4176e-03,
    1.1473e-03, 9.2852e-04, 7.5146e-04, 6.0817e-04, 4.9220e-04, 3.9834e-04, 3.2238e-04, 2.6091e-04,
    2.1115e-04, 1.7089e-04, 1.3830e-04, 1.1193e-04, 9.0585e-05, 7.3312e-05, 5.9332e-05, 4.8018e-05,
    3.8861e-05, 3.1451e-05, 2.5453e-05, 2.0600e-05, 1.6672e-05, 1.3492e-05, 1.0920e-05, 8.8374e-06,
    7.1522e-06, 5.7883e-06, 4.6845e-06, 3.7912e-06, 3.0683e-06, 2.4832e-06, 2.0097e-06, 1.6265e-06};

// test_yarn_rope_numerically: factor 10, beta_fast 32, beta_slow 1.
const std::vector<double> kHfYarn = {
    1.0000e+00, 8.6596e-01, 7.4989e-01, 6.4938e-01, 5.6234e-01, 4.8697e-01, 4.2170e-01, 3.6517e-01,
    3.1623e-01, 2.7384e-01, 2.3714e-01, 2.0535e-01, 1.7783e-01, 1.5399e-01, 1.3335e-01, 1.1548e-01,
    1.0000e-01, 8.3479e-02, 6.9590e-02, 5.7925e-02, 4.8136e-02, 3.9931e-02, 3.3061e-02, 2.7315e-02,
    2.2515e-02, 1.8512e-02, 1.5177e-02, 1.2403e-02, 1.0101e-02, 8.1924e-03, 6.6143e-03, 5.3120e-03,
    4.2400e-03, 3.3599e-03, 2.6396e-03, 2.0520e-03, 1.5746e-03, 1.1882e-03, 8.7713e-04, 6.2810e-04,
    4.3007e-04, 2.7384e-04, 2.3714e-04, 2.0535e-04, 1.7783e-04, 1.5399e-04, 1.3335e-04, 1.1548e-04,
    1.0000e-04, 8.6596e-05, 7.4989e-05, 6.4938e-05, 5.6234e-05, 4.8697e-05, 4.2170e-05, 3.6517e-05,
    3.1623e-05, 2.7384e-05, 2.3714e-05, 2.0535e-05, 1.7783e-05, 1.5399e-05, 1.3335e-05, 1.1548e-05};

// test_llama3_rope_numerically: factor 10, original_max_position_embeddings 2048,
// low_freq_factor 1, high_freq_factor 4.
const std::vector<double> kHfLlama3 = {
    1.0000e+00, 8.6596e-01, 7.4989e-01, 6.4938e-01, 5.6234e-01, 4.8697e-01, 4.2170e-01, 3.6517e-01,
    3.1623e-01, 2.7384e-01, 2.3714e-01, 2.0535e-01, 1.7783e-01, 1.5399e-01, 1.3335e-01, 1.1548e-01,
    1.0000e-01, 8.6596e-02, 7.4989e-02, 6.4938e-02, 5.6234e-02, 4.8697e-02, 4.2170e-02, 3.6517e-02,
    3.1623e-02, 2.7384e-02, 2.3714e-02, 2.0535e-02, 1.7783e-02, 1.5399e-02, 1.3335e-02, 1.0730e-02,
    7.7785e-03, 5.6009e-03, 3.9991e-03, 2.8248e-03, 1.9675e-03, 1.3449e-03, 8.9549e-04, 5.7363e-04,
    3.4539e-04, 2.7384e-04, 2.3714e-04, 2.0535e-04, 1.7783e-04, 1.5399e-04, 1.3335e-04, 1.1548e-04,
    1.0000e-04, 8.6596e-05, 7.4989e-05, 6.4938e-05, 5.6234e-05, 4.8697e-05, 4.2170e-05, 3.6517e-05,
    3.1623e-05, 2.7384e-05, 2.3714e-05, 2.0535e-05, 1.7783e-05, 1.5399e-05, 1.3335e-05, 1.1548e-05};

TEST(RopeScaling, HuggingFaceDefaultAndLinearSnapshots) {
  const auto plain = observe(*make_rope({{"scaling", {{"rope_type", "default"}}}}), 128, 0);
  expect_snapshot(plain.f, kHfDefault);
  EXPECT_EQ(plain.a, 1.0);
  // test_linear_rope_numerically: default / factor, attention 1. (Compared as factor * f_i,
  // so the snapshot's rounding keeps its size.)
  for (double factor : {2.0, 10.0, 20.0}) {
    auto lin =
        observe(*make_rope({{"scaling", {{"rope_type", "linear"}, {"factor", factor}}}}), 128, 0);
    for (auto& v : lin.f) v *= factor;
    expect_snapshot(lin.f, kHfDefault);
    EXPECT_EQ(lin.a, 1.0);
  }
}

TEST(RopeScaling, HuggingFaceDynamicSnapshot) {
  // Check 1 of HuggingFace's test: no scaling at or below max_position_embeddings.
  for (double factor : {2.0, 10.0, 20.0}) {
    auto enc = make_rope({{"scaling", {{"rope_type", "dynamic"}, {"factor", factor}}},
                          {"max_position_embeddings", 2048}});
    for (int64_t n : {1, 2048}) {
      const auto got = observe(*enc, 128, n);
      expect_snapshot(got.f, kHfDefault);
      EXPECT_EQ(got.a, 1.0);
    }
  }
  // Check 2: factor 10 at seq_len 16384.
  auto enc = make_rope({{"scaling", {{"rope_type", "dynamic"}, {"factor", 10.0}}},
                        {"max_position_embeddings", 2048}});
  expect_snapshot(observe(*enc, 128, 16384).f, kHfDynamic);
}

TEST(RopeScaling, HuggingFaceYarnSnapshot) {
  auto enc = make_rope(
      {{"scaling", {{"rope_type", "yarn"}, {"factor", 10.0}, {"beta_fast", 32}, {"beta_slow", 1}}},
       {"max_position_embeddings", 2048}});
  const auto got = observe(*enc, 128, 0);
  expect_snapshot(got.f, kHfYarn);
  EXPECT_NEAR(got.a, 0.1 * std::log(10.0) + 1.0, 1e-15);
  // Check 1: default attention factor 0.1 ln(factor) + 1, or the given one.
  for (double factor : {2.0, 10.0, 20.0}) {
    auto e = make_rope({{"scaling", {{"rope_type", "yarn"}, {"factor", factor}}},
                        {"max_position_embeddings", 2048}});
    EXPECT_NEAR(observe(*e, 128, 0).a, 0.1 * std::log(factor) + 1.0, 1e-15);
    auto g = make_rope(
        {{"scaling", {{"rope_type", "yarn"}, {"factor", factor}, {"attention_factor", 0.5}}},
         {"max_position_embeddings", 2048}});
    EXPECT_NEAR(observe(*g, 128, 1).a, 0.5, 1e-15);
  }
  // Check 2: beta_fast 1000 interpolates all but the first frequency; the last 20 are
  // default / factor.
  auto fast =
      make_rope({{"scaling",
                  {{"rope_type", "yarn"}, {"factor", 10.0}, {"beta_fast", 1000}, {"beta_slow", 1}}},
                 {"max_position_embeddings", 2048}});
  const auto f = observe(*fast, 128, 0).f;
  EXPECT_NEAR(f[0], kHfDefault[0], 1e-15);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_LT(f[i], kHfDefault[i] * (1 - 1e-6)) << i;
  for (size_t i = f.size() - 20; i < f.size(); ++i)
    EXPECT_NEAR(f[i], kHfDefault[i] / 10, 0.5e-4 * kHfDefault[i] / 10) << i;
}

TEST(RopeScaling, HuggingFaceLlama3Snapshot) {
  const json scaling = {{"rope_type", "llama3"},
                        {"factor", 10.0},
                        {"original_max_position_embeddings", 2048},
                        {"low_freq_factor", 1},
                        {"high_freq_factor", 4}};
  const auto got = observe(*make_rope({{"scaling", scaling}}), 128, 0);
  expect_snapshot(got.f, kHfLlama3);
  EXPECT_EQ(got.a, 1.0);
  // high_freq_factor 1000: every frequency is scaled.
  json all = scaling;
  all["high_freq_factor"] = 1000;
  const auto f = observe(*make_rope({{"scaling", all}}), 128, 0).f;
  for (size_t i = 0; i < f.size(); ++i) EXPECT_LT(f[i], kHfDefault[i] * (1 - 1e-6)) << i;
}

TEST(RopeScaling, HuggingFaceLongropeValues) {
  // short_factor [2] * 64, long_factor 1..64 (HuggingFace's test_longrope_rope_numerically).
  // HuggingFace picks the list by the sequence length (long past original_max_position_embeddings,
  // here max_position_embeddings 2048); the attention factor is sqrt(1 + ln(factor)/ln(2048)).
  const std::vector<double> shortf(64, 2.0);
  std::vector<double> longf(64);
  for (int i = 0; i < 64; ++i) longf[i] = i + 1;
  for (double factor : {2.0, 10.0, 20.0}) {
    const json scaling = {{"rope_type", "longrope"},
                          {"factor", factor},
                          {"short_factor", shortf},
                          {"long_factor", longf}};
    auto enc = make_rope({{"scaling", scaling}, {"max_position_embeddings", 2048}});
    const auto below = observe(*enc, 128, 2048), above = observe(*enc, 128, 2049);
    EXPECT_NEAR(below.a, std::sqrt(1 + std::log(factor) / std::log(2048.0)), 1e-15);
    EXPECT_EQ(above.a, below.a);
    for (int i = 0; i < 64; ++i) {
      EXPECT_NEAR(below.f[i], kHfDefault[i] / 2, 0.5e-4 * kHfDefault[i]) << i;
      EXPECT_NEAR(above.f[i], kHfDefault[i] / (i + 1), 0.5e-4 * kHfDefault[i] / (i + 1)) << i;
    }
    json given = scaling;
    given["attention_factor"] = 0.5;
    EXPECT_NEAR(
        observe(*make_rope({{"scaling", given}, {"max_position_embeddings", 2048}}), 128, 1).a, 0.5,
        1e-15);
  }
}

// ---- every variant x d in {64, 128} x partial rotation x layout x length ----------------------

struct Variant {
  std::string name;
  std::function<json(int64_t rd)> params;  // rope params (with `scaling`) for d' = rd
  int64_t L;                               // original context
  std::function<Ref(int64_t rd, int64_t n)> ref;
  bool length_dependent = false;
};

std::vector<double> ramp_list(int64_t n, double start, double step) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + step * double(i);
  return v;
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"default",
               [](int64_t) {
                 return json{{"scaling", {{"rope_type", "default"}}}};
               },
               4096, [](int64_t d, int64_t) { return Ref{ref_theta(d, 10000)}; }});
  v.push_back({"linear (older key \"type\")",
               [](int64_t) {
                 return json{{"scaling", {{"type", "linear"}, {"factor", 4.0}}}};
               },
               4096, [](int64_t d, int64_t) { return ref_linear(d, 10000, 4); }});
  v.push_back(
      {"ntk",
       [](int64_t) {
         return json{{"base", 500000.0}, {"scaling", {{"rope_type", "ntk"}, {"factor", 8}}}};
       },
       4096, [](int64_t d, int64_t) { return ref_ntk(d, 500000, 8); }});
  v.push_back({"dynamic",
               [](int64_t) {
                 return json{{"scaling", {{"rope_type", "dynamic"}, {"factor", 4.0}}},
                             {"max_position_embeddings", 4096}};
               },
               4096, [](int64_t d, int64_t n) { return ref_dynamic(d, 10000, 4, 4096, double(n)); },
               true});
  v.push_back({"yarn",
               [](int64_t) {
                 return json{{"scaling",
                              {{"rope_type", "yarn"},
                               {"factor", 16.0},
                               {"original_max_position_embeddings", 4096}}}};
               },
               4096, [](int64_t d, int64_t) { return ref_yarn(d, 10000, {.s = 16, .L = 4096}); }});
  // DeepSeek-V3's dict with a non-trivial mscale ratio.
  v.push_back({"yarn mscale",
               [](int64_t) {
                 return json{{"scaling",
                              {{"type", "yarn"},
                               {"factor", 40},
                               {"beta_fast", 32},
                               {"beta_slow", 1},
                               {"mscale", 0.707},
                               {"mscale_all_dim", 1.0},
                               {"original_max_position_embeddings", 4096}}},
                             {"max_position_embeddings", 163840}};
               },
               4096,
               [](int64_t d, int64_t) {
                 return ref_yarn(d, 10000,
                                 {.s = 40, .L = 4096, .mscale = 0.707, .mscale_all_dim = 1.0});
               }});
  // gpt-oss's dict: truncate false.
  v.push_back({"yarn truncate false",
               [](int64_t) {
                 return json{{"base", 150000.0},
                             {"scaling",
                              {{"rope_type", "yarn"},
                               {"factor", 32.0},
                               {"beta_fast", 32.0},
                               {"beta_slow", 1.0},
                               {"truncate", false},
                               {"original_max_position_embeddings", 4096}}}};
               },
               4096,
               [](int64_t d, int64_t) {
                 return ref_yarn(d, 150000, {.s = 32, .L = 4096, .truncate = false});
               }});
  v.push_back({"yarn attention_factor",
               [](int64_t) {
                 return json{{"scaling",
                              {{"rope_type", "yarn"},
                               {"factor", 4},
                               {"beta_fast", 16},
                               {"beta_slow", 2},
                               {"attention_factor", 0.8}}},
                             {"max_position_embeddings", 8192}};
               },
               8192,
               [](int64_t d, int64_t) {
                 return ref_yarn(
                     d, 10000,
                     {.s = 4, .L = 8192, .beta_fast = 16, .beta_slow = 2, .attention = 0.8});
               }});
  v.push_back({"longrope",
               [](int64_t rd) {
                 return json{{"scaling",
                              {{"rope_type", "longrope"},
                               {"short_factor", ramp_list(rd / 2, 1.0, 0.05)},
                               {"long_factor", ramp_list(rd / 2, 1.0, 0.75)},
                               {"original_max_position_embeddings", 4096}}},
                             {"max_position_embeddings", 131072}};
               },
               4096,
               [](int64_t d, int64_t n) {
                 return ref_longrope(d, 10000, ramp_list(d / 2, 1.0, 0.05),
                                     ramp_list(d / 2, 1.0, 0.75), 4096, 32, double(n));
               },
               true});
  // Llama 3.1's dict.
  v.push_back({"llama3",
               [](int64_t) {
                 return json{{"base", 500000.0},
                             {"scaling",
                              {{"rope_type", "llama3"},
                               {"factor", 8.0},
                               {"low_freq_factor", 1.0},
                               {"high_freq_factor", 4.0},
                               {"original_max_position_embeddings", 8192}}},
                             {"max_position_embeddings", 131072}};
               },
               8192, [](int64_t d, int64_t) { return ref_llama3(d, 500000, 8, 1, 4, 8192); }});
  return v;
}

// Rotation of one head x at position p by the reference: pairs (i, i + rd/2) or (2i, 2i + 1).
std::vector<double> ref_rotate(const std::vector<double>& x, int64_t p, int64_t rd, const Ref& r,
                               bool interleaved) {
  std::vector<double> out = x;
  for (int64_t i = 0; i < rd / 2; ++i) {
    const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + rd / 2;
    const double angle = double(p) * r.f[i];
    out[ia] = r.a * (x[ia] * std::cos(angle) - x[ib] * std::sin(angle));
    out[ib] = r.a * (x[ia] * std::sin(angle) + x[ib] * std::cos(angle));
  }
  return out;
}

TEST(RopeScaling, EveryVariantMatchesItsReference) {
  for (const Variant& v : variants())
    for (int64_t head_dim : {64, 128})
      for (double fraction : {1.0, 0.5})
        for (bool interleaved : {false, true})
          for (int64_t n : {v.L / 2, v.L, 4 * v.L}) {
            SCOPED_TRACE(v.name + " head_dim " + std::to_string(head_dim) + " fraction " +
                         std::to_string(fraction) + (interleaved ? " interleaved" : " half") +
                         " n " + std::to_string(n));
            const int64_t rd = int64_t(fraction * double(head_dim));
            json params = v.params(rd);
            params["rotary_fraction"] = fraction;
            params["layout"] = interleaved ? "interleaved" : "half";
            auto enc = make_rope(params);
            ASSERT_EQ(enc->rotary_dims(head_dim), rd);
            const Ref want = v.ref(rd, n);
            // Frequencies and attention factor.
            expect_same(observe(*enc, head_dim, n), want);
            // The closed form is offered exactly when the frequencies do not depend on n.
            const auto form = enc->angular_form(head_dim, RotaryContext{Role::query, n});
            ASSERT_EQ(form.has_value(), !v.length_dependent);
            if (form) expect_same(Ref{form->inv_freq, form->magnitude}, want);
            // Rotation of whole heads, with the pass-through tail.
            const std::vector<int64_t> pos = {0, 1, 17, n - 1};
            const int64_t heads = 2;
            const auto x0 = Rng(7, "rope_scaling_test/x").normal_vector(4 * heads * head_dim);
            std::vector<double> x = x0;
            rotate<double>(*enc, pos, heads, head_dim, RotaryContext{Role::key, n}, x.data());
            for (size_t t = 0; t < pos.size(); ++t)
              for (int64_t h = 0; h < heads; ++h) {
                const size_t off = (t * heads + h) * head_dim;
                const std::vector<double> head(x0.begin() + off, x0.begin() + off + head_dim);
                const auto ref = ref_rotate(head, pos[t], rd, want, interleaved);
                for (int64_t c = 0; c < head_dim; ++c) {
                  if (c >= rd)
                    ASSERT_EQ(x[off + c], head[c]) << "tail channel " << c;
                  else
                    EXPECT_NEAR(x[off + c], ref[c], 1e-12 * (1.0 + double(pos[t])))
                        << "p " << pos[t] << " c " << c;
                }
              }
          }
}

TEST(RopeScaling, AttentionFactorMultipliesCosAndSin) {
  // yarn factor 16: a = 0.1 ln 16 + 1 on every coefficient, so |(c, s)| = a at every position
  // and a rotated vector's norm grows by a.
  auto enc = make_rope(
      {{"scaling",
        {{"rope_type", "yarn"}, {"factor", 16}, {"original_max_position_embeddings", 4096}}}});
  const double a = 0.1 * std::log(16.0) + 1.0;
  const std::vector<int64_t> pos = {0, 3, 4095, 70000};
  std::vector<double> c(pos.size() * 32), s(pos.size() * 32);
  enc->rotary_coefficients(pos, 64, RotaryContext{}, c.data(), s.data());
  EXPECT_NEAR(c[0], a, 1e-15);  // position 0: cos 0 = 1 scaled by a
  EXPECT_EQ(s[0], 0.0);
  for (size_t k = 0; k < c.size(); ++k) EXPECT_NEAR(std::hypot(c[k], s[k]), a, 1e-14) << k;
  const auto x0 = Rng(7, "rope_scaling_test/norm").normal_vector(int64_t(pos.size()) * 64);
  std::vector<double> x = x0;
  rotate<double>(*enc, pos, 1, 64, RotaryContext{}, x.data());
  for (size_t t = 0; t < pos.size(); ++t) {
    double n0 = 0, n1 = 0;
    for (int64_t k = 0; k < 64; ++k) n0 += x0[t * 64 + k] * x0[t * 64 + k];
    for (int64_t k = 0; k < 64; ++k) n1 += x[t * 64 + k] * x[t * 64 + k];
    EXPECT_NEAR(std::sqrt(n1), a * std::sqrt(n0), 1e-12);
  }
}

TEST(RopeScaling, ApplyCommandAppliesScalingAndAttentionFactor) {
  // `posbench apply rope --params '{"scaling": {...}}' --offset 20000` on [3, 2, 64] float64:
  // rows at positions 20000..20002, sequence length 20003 (> L, so dynamic would scale too).
  const test::TempDir dir("posbench_rope_scaling_test");
  const int64_t n = 3, heads = 2, d = 64, offset = 20000;
  NpyArray in;
  in.shape = {n, heads, d};
  in.f64 = Rng(7, "rope_scaling_test/apply").normal_vector(n * heads * d);
  write_npy(dir / "in.npy", in);
  struct Case {
    json scaling;
    Ref ref;
  };
  const std::vector<Case> cases = {
      {{{"rope_type", "yarn"}, {"factor", 16}, {"original_max_position_embeddings", 4096}},
       ref_yarn(d, 10000, {.s = 16, .L = 4096})},
      {{{"rope_type", "dynamic"}, {"factor", 4}, {"original_max_position_embeddings", 4096}},
       ref_dynamic(d, 10000, 4, 4096, double(offset + n))},
  };
  int k = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scaling.dump());
    ApplyArgs args;
    args.scheme = "rope";
    args.input = (dir / "in.npy").string();
    args.output = (dir / ("out" + std::to_string(k++) + ".npy")).string();
    args.params_json = json{{"scaling", c.scaling}}.dump();
    args.offset = offset;
    apply_command(args);
    const NpyArray out = read_npy(args.output);
    ASSERT_EQ(out.shape, in.shape);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const size_t off = size_t((t * heads + h) * d);
        const std::vector<double> head(in.f64.begin() + off, in.f64.begin() + off + d);
        const auto want = ref_rotate(head, offset + t, d, c.ref, false);
        for (int64_t i = 0; i < d; ++i) EXPECT_NEAR(out.f64[off + i], want[i], 1e-10);
      }
  }
}

// ---- length dependence -------------------------------------------------------------------------

std::vector<double> rotated(const Encoder& enc, std::vector<double> x, int64_t p, int64_t seq_len,
                            Role role) {
  const std::vector<int64_t> pos = {p};
  rotate<double>(enc, pos, 1, int64_t(x.size()), RotaryContext{role, seq_len}, x.data());
  return x;
}

TEST(RopeScaling, DynamicDependsOnSequenceLength) {
  const int64_t d = 128;
  auto dyn = make_rope(
      {{"scaling", {{"rope_type", "dynamic"}, {"factor", 10}}}, {"max_position_embeddings", 2048}});
  auto plain = make_rope(json::object());
  const auto k = Rng(7, "rope_scaling_test/k").normal_vector(d);
  const auto q = Rng(7, "rope_scaling_test/q").normal_vector(d);
  // At or below the original context, dynamic is plain RoPE, bit for bit.
  for (int64_t n : {1, 1000, 2048})
    EXPECT_EQ(rotated(*dyn, k, 100, n, Role::key), rotated(*plain, k, 100, 0, Role::key)) << n;
  // The same key at the same position, rotated as part of a 2048- and a 16384-token sequence.
  const auto k_short = rotated(*dyn, k, 1000, 2048, Role::key);
  const auto k_long = rotated(*dyn, k, 1000, 16384, Role::key);
  double diff = 0;
  for (int64_t i = 0; i < d; ++i) diff = std::max(diff, std::abs(k_short[i] - k_long[i]));
  EXPECT_GT(diff, 0.1);
  // seq_len 0 means the largest position of the call + 1.
  const std::vector<int64_t> pos = {5, 16383};
  std::vector<double> c0(2 * 64), s0(2 * 64), c1(2 * 64), s1(2 * 64);
  dyn->rotary_coefficients(pos, d, RotaryContext{Role::key, 0}, c0.data(), s0.data());
  dyn->rotary_coefficients(pos, d, RotaryContext{Role::key, 16384}, c1.data(), s1.data());
  EXPECT_EQ(c0, c1);
  EXPECT_EQ(s0, s1);
  // A key cached at length 2048 and a query at length 16384 disagree: their logit is not the
  // one of the same offset computed at one length. At one length it depends only on m - n.
  const int64_t m = 2040, n = 2000;
  const auto q_long = rotated(*dyn, q, m, 16384, Role::query);
  const double cached = dot(q_long, rotated(*dyn, k, n, 2048, Role::key));
  const double same = dot(q_long, rotated(*dyn, k, n, 16384, Role::key));
  const double shifted = dot(rotated(*dyn, q, m + 9000, 16384, Role::query),
                             rotated(*dyn, k, n + 9000, 16384, Role::key));
  EXPECT_NEAR(same, shifted, 1e-9);
  EXPECT_GT(std::abs(cached - same), 1e-3);
}

TEST(RopeScaling, LongropeSwitchesListsPastTheOriginalContext) {
  const std::vector<double> shortf = ramp_list(32, 1.0, 0.1), longf = ramp_list(32, 2.0, 1.0);
  auto enc = make_rope({{"scaling",
                         {{"rope_type", "longrope"},
                          {"short_factor", shortf},
                          {"long_factor", longf},
                          {"original_max_position_embeddings", 4096},
                          {"factor", 16}}}});
  const auto at_l = observe(*enc, 64, 4096), past = observe(*enc, 64, 4097);
  expect_same(at_l, ref_longrope(64, 10000, shortf, longf, 4096, 16, 4096));
  expect_same(past, ref_longrope(64, 10000, shortf, longf, 4096, 16, 4097));
  EXPECT_NE(at_l.f[5], past.f[5]);
  EXPECT_FALSE(enc->angular_form(64, RotaryContext{}).has_value());
}

// ---- HuggingFace config forms
// --------------------------------------------------------------------

TEST(RopeScaling, DefaultScalingIsPlainRope) {
  // Bit-for-bit: no scaling, rope_type "default", and the older key "type".
  auto plain = make_rope(json::object());
  const std::vector<int64_t> pos = {0, 1, 4097, 1000000};
  std::vector<double> c0(pos.size() * 32), s0(pos.size() * 32);
  plain->rotary_coefficients(pos, 64, RotaryContext{}, c0.data(), s0.data());
  for (const json& scaling : {json{{"rope_type", "default"}}, json{{"type", "default"}}}) {
    auto enc = make_rope({{"scaling", scaling}});
    std::vector<double> c(pos.size() * 32), s(pos.size() * 32);
    enc->rotary_coefficients(pos, 64, RotaryContext{}, c.data(), s.data());
    EXPECT_EQ(c, c0);
    EXPECT_EQ(s, s0);
    const auto form = enc->angular_form(64, RotaryContext{});
    ASSERT_TRUE(form.has_value());
    EXPECT_EQ(form->magnitude, 1.0);
    expect_same(Ref{form->inv_freq, 1.0}, Ref{ref_theta(64, 10000)});
  }
}

TEST(RopeScaling, PartialRotaryFactorAndRopeThetaAreHuggingFaceNames) {
  // transformers v5 rope_parameters: rope_theta and partial_rotary_factor inside the dict.
  const json v5 = {{"rope_type", "yarn"},
                   {"rope_theta", 1000000.0},
                   {"partial_rotary_factor", 0.5},
                   {"factor", 4.0},
                   {"original_max_position_embeddings", 32768}};
  auto enc = make_rope({{"scaling", v5}});
  ASSERT_EQ(enc->rotary_dims(128), 64);
  expect_same(observe(*enc, 128, 0), ref_yarn(64, 1e6, {.s = 4, .L = 32768}));
  // Top-level partial_rotary_factor, equal values everywhere, and a yarn factor derived from
  // max_position_embeddings / original_max_position_embeddings when absent (transformers v5).
  auto top = make_rope({{"partial_rotary_factor", 0.25},
                        {"rotary_fraction", 0.25},
                        {"max_position_embeddings", 131072},
                        {"scaling",
                         {{"rope_type", "yarn"},
                          {"partial_rotary_factor", 0.25},
                          {"original_max_position_embeddings", 32768}}}});
  ASSERT_EQ(top->rotary_dims(128), 32);
  expect_same(observe(*top, 128, 0), ref_yarn(32, 10000, {.s = 4, .L = 32768}));
  // Qwen's published dict: factor 4 although max_position_embeddings equals the original
  // context; the explicit factor wins, as in HuggingFace.
  auto qwen = make_rope(
      {{"base", 1000000.0},
       {"max_position_embeddings", 32768},
       {"scaling",
        {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}}});
  expect_same(observe(*qwen, 128, 0), ref_yarn(128, 1e6, {.s = 4, .L = 32768}));
}

}  // namespace
}  // namespace posbench
