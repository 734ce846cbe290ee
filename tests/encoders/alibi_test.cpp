// ALiBi (Press et al. 2022): b_h(i, j) = -m_h |i - j|, with the slopes of the paper's
// reference code (get_slopes), re-implemented here line by line from the Python.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/registry.h"
#include "harness/analysis/apply.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_alibi(const json& given) { return test::make_scheme("alibi", given); }

// def get_slopes_power_of_2(n):
//     start = (2**(-2**-(math.log2(n)-3)))
//     ratio = start
//     return [start*ratio**i for i in range(n)]
std::vector<double> get_slopes_power_of_2(int n) {
  const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(double(n)) - 3)));
  const double ratio = start;
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(start * std::pow(ratio, i));
  return out;
}

// def get_slopes(n):
//     if math.log2(n).is_integer(): return get_slopes_power_of_2(n)
//     closest_power_of_2 = 2**math.floor(math.log2(n))
//     return get_slopes_power_of_2(closest_power_of_2)
//            + get_slopes(2*closest_power_of_2)[0::2][:n-closest_power_of_2]
std::vector<double> get_slopes(int n) {
  const double l = std::log2(double(n));
  if (l == std::floor(l)) return get_slopes_power_of_2(n);
  const int c = 1 << int(std::floor(l));
  std::vector<double> out = get_slopes_power_of_2(c);
  const std::vector<double> more = get_slopes(2 * c);
  std::vector<double> even;
  for (size_t i = 0; i < more.size(); i += 2) even.push_back(more[i]);
  for (int i = 0; i < n - c; ++i) out.push_back(even[i]);
  return out;
}

// Slope of head h as seen through bias(): -b_h(0, 1).
std::vector<double> slopes_of(const Encoder& enc, int64_t heads) {
  const std::vector<int64_t> q = {0}, k = {1};
  std::vector<double> b(heads);
  enc.bias(q, k, heads, b.data());
  for (auto& v : b) v = -v;
  return b;
}

TEST(Alibi, EightHeadSlopesArePowersOfHalf) {
  auto enc = make_alibi(json::object());
  EXPECT_EQ(enc->family(), Family::bias);
  const auto m = slopes_of(*enc, 8);
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(m[h], std::ldexp(1.0, -(h + 1))) << h;
}

TEST(Alibi, SixHeadSlopesClosedForm) {
  // c = 4: 2^-2, 2^-4, 2^-6, 2^-8; then slopes for 8 heads at even indices: 2^-1, 2^-3.
  const auto m = slopes_of(*make_alibi(json::object()), 6);
  const double expected[] = {0.25, 0.0625, 1.0 / 64, 1.0 / 256, 0.5, 0.125};
  for (int h = 0; h < 6; ++h) EXPECT_DOUBLE_EQ(m[h], expected[h]) << h;
}

TEST(Alibi, SlopesMatchPaperCode) {
  auto enc = make_alibi(json::object());
  for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 40, 64}) {
    const auto ref = get_slopes(n);
    ASSERT_EQ(ref.size(), size_t(n));
    const auto m = slopes_of(*enc, n);
    // start * ratio**i carries the rounding of `ratio` i times: ~i ulp relative.
    for (int h = 0; h < n; ++h)
      EXPECT_NEAR(m[h], ref[h], 2e-14 * ref[h]) << "heads=" << n << " h=" << h;
  }
}

TEST(Alibi, BiasIsMinusSlopeTimesDistance) {
  auto enc = make_alibi(json::object());
  const int64_t heads = 12;
  const auto m = slopes_of(*enc, heads);
  const auto ref = get_slopes(int(heads));
  for (int64_t h = 0; h < heads; ++h) ASSERT_NEAR(m[h], ref[h], 2e-14 * ref[h]);
  const std::vector<int64_t> q = {0, 5, 9, 1000000};
  const std::vector<int64_t> k = {3, 4, 100, 0, 9};
  std::vector<double> b(heads * q.size() * k.size(), std::nan(""));
  enc->bias(q, k, heads, b.data());
  for (int64_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < q.size(); ++i)
      for (size_t j = 0; j < k.size(); ++j) {
        const double expected = -m[h] * std::abs(double(q[i] - k[j]));
        EXPECT_EQ(b[(h * q.size() + i) * k.size() + j], expected) << h << "," << i << "," << j;
      }
  // add_bias adds onto existing logits (float32 storage).
  std::vector<float> logits(heads * q.size() * k.size(), 1.0f);
  add_bias<float>(*enc, q, k, heads, logits.data());
  for (size_t x = 0; x < logits.size(); ++x)
    EXPECT_NEAR(double(logits[x]), 1.0 + b[x], 6e-8 * std::max(1.0, std::abs(1.0 + b[x])));
}

TEST(Alibi, SlopesOverride) {
  auto enc = make_alibi({{"slopes", {0.1, 0.2, 0.7}}});
  const std::vector<int64_t> q = {2, 10}, k = {7};
  std::vector<double> b(3 * 2 * 1);
  enc->bias(q, k, 3, b.data());
  const double s[] = {0.1, 0.2, 0.7};
  for (int h = 0; h < 3; ++h) {
    EXPECT_NEAR(b[h * 2 + 0], -s[h] * 5, 1e-15);
    EXPECT_NEAR(b[h * 2 + 1], -s[h] * 3, 1e-15);
  }
}

TEST(Alibi, SlopesLengthMismatchNamesSlopes) {
  auto enc = make_alibi({{"slopes", {0.1, 0.2, 0.7}}});
  EXPECT_NO_THROW(enc->check_shape(0, 3));
  for (int64_t heads : {2, 4}) {
    try {
      enc->check_shape(0, heads);
      ADD_FAILURE() << "expected UserError for heads=" << heads;
    } catch (const UserError& e) {
      EXPECT_EQ(e.path(), "slopes");
      EXPECT_NE(std::string(e.what()).find("3"), std::string::npos) << e.what();
    }
    std::vector<double> b(heads);
    const std::vector<int64_t> q = {0}, k = {1};
    EXPECT_THROW(enc->bias(q, k, heads, b.data()), UserError);
  }
  EXPECT_THROW(make_alibi(json::object())->check_shape(0, 0), UserError);
}

TEST(Alibi, SlopesMustBePositive) {
  const EncoderInfo& info = EncoderRegistry::instance().get("alibi", "encoder");
  Diagnostics diag;
  resolve_params(info.params, {{"slopes", {0.5, 0.0}}}, "p", diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "p.slopes");
  Diagnostics ok;
  json r = resolve_params(info.params, json::object(), "p", ok);
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(r.contains("slopes"));
  EXPECT_TRUE(r["slopes"].is_null());
  EXPECT_FALSE(Params(r).has("slopes"));
}

}  // namespace
}  // namespace posbench
