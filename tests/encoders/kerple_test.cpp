// KERPLE (Chi et al. 2022) against the paper's kernels written here:
//   log   : b_h(i, j) = -r1_h ln(1 + r2_h |i - j|)
//   power : b_h(i, j) = -r1_h |i - j|^r2_h,  0 < r2_h <= 2
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_kerple(const json& given) {
  return test::make_scheme("kerple", given);
}

std::vector<double> bias_grid(const Encoder& enc, const std::vector<int64_t>& q,
                              const std::vector<int64_t>& k, int64_t heads) {
  std::vector<double> b(heads * q.size() * k.size());
  enc.bias(q, k, heads, b.data());
  return b;
}

const std::vector<int64_t> kQ = {0, 1, 5, 100, 4096}, kK = {0, 2, 5, 77, 5000};

TEST(Kerple, LogKernelWithGivenParameters) {
  const std::vector<double> r1 = {2.0, 0.5, 1.25}, r2 = {1.0, 0.1, 3.0};
  auto enc = make_kerple({{"variant", "log"}, {"r1", r1}, {"r2", r2}});
  EXPECT_TRUE(enc->bias_is_relative());
  EXPECT_EQ(enc->family(), Family::bias);
  const auto b = bias_grid(*enc, kQ, kK, 3);
  for (int64_t h = 0; h < 3; ++h)
    for (size_t i = 0; i < kQ.size(); ++i)
      for (size_t j = 0; j < kK.size(); ++j) {
        const long double d = std::fabs((long double)kQ[i] - (long double)kK[j]);
        const long double want = -(long double)r1[h] * std::log(1.0L + (long double)r2[h] * d);
        EXPECT_NEAR(b[(h * kQ.size() + i) * kK.size() + j], double(want),
                    1e-14 * (1.0 + std::fabs(double(want))))
            << "h=" << h << " i=" << kQ[i] << " j=" << kK[j];
      }
  // By hand: head 0 (r1 2, r2 1) at distance 3: -2 ln 4.
  const std::vector<int64_t> q = {7}, k = {4};
  EXPECT_NEAR(bias_grid(*enc, q, k, 3)[0], -2.0 * 1.3862943611198906, 1e-15);
}

TEST(Kerple, PowerKernelWithGivenParameters) {
  const std::vector<double> r1 = {0.5, 1.0}, r2 = {2.0, 0.5};
  auto enc = make_kerple({{"variant", "power"}, {"r1", r1}, {"r2", r2}});
  const auto b = bias_grid(*enc, kQ, kK, 2);
  for (int64_t h = 0; h < 2; ++h)
    for (size_t i = 0; i < kQ.size(); ++i)
      for (size_t j = 0; j < kK.size(); ++j) {
        const long double d = std::fabs((long double)kQ[i] - (long double)kK[j]);
        const long double want = -(long double)r1[h] * std::pow(d, (long double)r2[h]);
        EXPECT_NEAR(b[(h * kQ.size() + i) * kK.size() + j], double(want),
                    1e-14 * (1.0 + std::fabs(double(want))))
            << "h=" << h << " i=" << kQ[i] << " j=" << kK[j];
      }
  // By hand at distance 3: head 0 -0.5 * 9 = -4.5, head 1 -sqrt(3); distance 0: 0 for both.
  const std::vector<int64_t> q = {3, 9}, k = {6, 9};
  const auto h = bias_grid(*enc, q, k, 2);  // [2, 2, 2]
  EXPECT_DOUBLE_EQ(h[0], -4.5);             // head 0, q 3, k 6
  EXPECT_DOUBLE_EQ(h[4], -std::sqrt(3.0));  // head 1, q 3, k 6
  EXPECT_EQ(h[3], 0.0);                     // head 0, q 9, k 9
  EXPECT_EQ(h[7], 0.0);                     // head 1, q 9, k 9
}

TEST(Kerple, OnesDefaults) {
  auto log = make_kerple({{"init", "ones"}});
  auto power = make_kerple({{"init", "ones"}, {"variant", "power"}});
  const auto bl = bias_grid(*log, kQ, kK, 2), bp = bias_grid(*power, kQ, kK, 2);
  for (int64_t h = 0; h < 2; ++h)
    for (size_t i = 0; i < kQ.size(); ++i)
      for (size_t j = 0; j < kK.size(); ++j) {
        const double d = std::fabs(double(kQ[i]) - double(kK[j]));
        EXPECT_NEAR(bl[(h * kQ.size() + i) * kK.size() + j], -std::log(1.0 + d), 1e-14);
        EXPECT_EQ(bp[(h * kQ.size() + i) * kK.size() + j], -d);
      }
}

// The documented uniform default: head h takes the h-th draw of Rng(seed, "kerple/r1") and of
// Rng(seed, "kerple/r2"), scaled (log: r1 2u, r2 u; power: r1 u, r2 2u) and clamped to [0.01, 2].
std::vector<double> documented_default(uint64_t seed, const char* stream, double scale,
                                       int64_t heads) {
  Rng rng(seed, stream);
  std::vector<double> v;
  for (int64_t h = 0; h < heads; ++h)
    v.push_back(std::min(2.0, std::max(0.01, scale * rng.uniform())));
  return v;
}

TEST(Kerple, UniformDefaultsFollowTheReferenceInit) {
  const int64_t heads = 6;
  for (const char* variant : {"log", "power"}) {
    SCOPED_TRACE(variant);
    const bool power = std::string(variant) == "power";
    auto enc = make_kerple({{"variant", variant}, {"seed", 11}});
    const auto r1 = documented_default(11, "kerple/r1", power ? 1.0 : 2.0, heads);
    const auto r2 = documented_default(11, "kerple/r2", power ? 2.0 : 1.0, heads);
    const std::vector<int64_t> q = {10}, k = {0, 3, 10, 25};
    const auto b = bias_grid(*enc, q, k, heads);
    for (int64_t h = 0; h < heads; ++h) {
      EXPECT_GT(r1[h], 0.0);
      EXPECT_LE(r2[h], 2.0);
      for (size_t j = 0; j < k.size(); ++j) {
        const double d = std::fabs(10.0 - double(k[j]));
        const double want = power ? -r1[h] * std::pow(d, r2[h]) : -r1[h] * std::log1p(r2[h] * d);
        EXPECT_NEAR(b[h * k.size() + j], want, 1e-13 * (1.0 + std::fabs(want))) << h;
      }
    }
    // Head h's parameters do not depend on the number of heads.
    const auto b2 = bias_grid(*enc, q, k, 2);
    for (size_t t = 0; t < b2.size(); ++t) EXPECT_EQ(b2[t], b[t]);
    // Heads differ from each other (a spread, not one value).
    EXPECT_NE(b[0 * k.size()], b[1 * k.size()]);
  }
}

TEST(Kerple, SymmetricInDistance) {
  auto enc =
      make_kerple({{"variant", "power"}, {"r1", json::array({0.3})}, {"r2", json::array({1.5})}});
  const std::vector<int64_t> a = {5}, b = {12};
  EXPECT_EQ(bias_grid(*enc, a, b, 1)[0], bias_grid(*enc, b, a, 1)[0]);
}

std::string param_error(const json& given, int64_t heads) {
  return test::param_error("kerple", given, heads);
}

TEST(Kerple, ParamErrorsNameTheParameter) {
  EXPECT_EQ(param_error({{"r1", {1.0, 2.0}}}, 3), "r1");
  EXPECT_EQ(param_error({{"r2", {1.0, 2.0, 3.0, 4.0}}}, 3), "r2");
  EXPECT_EQ(param_error({{"r1", {1.0, 2.0, 3.0}}, {"r2", {1.0, 2.0, 3.0}}}, 3), "<no error>");
  // power: 0 < r2 <= 2.
  EXPECT_EQ(param_error({{"variant", "power"}, {"r2", {1.0, 2.5}}}, 2), "r2");
  EXPECT_EQ(param_error({{"variant", "power"}, {"r2", {1.0, 2.0}}}, 2), "<no error>");
  EXPECT_EQ(param_error({{"variant", "log"}, {"r2", {1.0, 2.5}}}, 2), "<no error>");
  EXPECT_EQ(param_error(json::object(), 0), "");  // heads must be positive
  // Non-positive list elements are refused when the params are resolved.
  const EncoderInfo& info = EncoderRegistry::instance().get("kerple", "encoder");
  Diagnostics diag;
  resolve_params(info.params, json{{"r1", {1.0, 0.0}}}, "params", diag);
  ASSERT_FALSE(diag.ok());
  EXPECT_NE(diag.problems()[0].path.find("params.r1"), std::string::npos);
}

}  // namespace
}  // namespace posbench
