// The composed logit s_h(q, k, m, n) for each family against a float64/long-double reference
// written from the definitions:
//   additive: (q + PE(m)) . (k + PE(n));  rotary: (R(m) q) . (R(n) k);  bias: q . k + b_h(m, n).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/analysis/attention_logit.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::make_scheme;

long double freq(int64_t i, int64_t d, long double base) {
  return std::exp(-(2.0L * (long double)i / (long double)d) * std::log(base));
}

// Interleaved sinusoidal PE(p) from the paper.
std::vector<long double> sinusoidal_pe(int64_t p, int64_t d) {
  std::vector<long double> pe(d);
  for (int64_t i = 0; i < d / 2; ++i) {
    pe[2 * i] = std::sin((long double)p * freq(i, d, 10000.0L));
    pe[2 * i + 1] = std::cos((long double)p * freq(i, d, 10000.0L));
  }
  return pe;
}

// Half-layout rotation of the first `rd` channels.
std::vector<long double> rope_rotate(const std::vector<double>& x, int64_t p, int64_t rd) {
  std::vector<long double> out(x.begin(), x.end());
  for (int64_t i = 0; i < rd / 2; ++i) {
    const long double a = x[i], b = x[i + rd / 2], t = (long double)p * freq(i, rd, 10000.0L);
    out[i] = a * std::cos(t) - b * std::sin(t);
    out[i + rd / 2] = a * std::sin(t) + b * std::cos(t);
  }
  return out;
}

struct Vectors {
  std::vector<double> q, k;
};
Vectors vectors(int64_t d) {
  return {Rng(5, "attention_logit_test/q").normal_vector(d),
          Rng(5, "attention_logit_test/k").normal_vector(d)};
}

const std::pair<int64_t, int64_t> kPairs[] = {{0, 0}, {3, 0}, {0, 3}, {10, 4}, {999, 1000}};

TEST(AttentionLogit, Additive) {
  const int64_t d = 16;
  auto enc = make_scheme("sinusoidal", json::object());
  const auto [q, k] = vectors(d);
  for (auto [m, n] : kPairs) {
    const auto pm = sinusoidal_pe(m, d), pn = sinusoidal_pe(n, d);
    long double expected = 0;
    for (int64_t c = 0; c < d; ++c) expected += (q[c] + pm[c]) * (k[c] + pn[c]);
    EXPECT_NEAR(attention_logit(*enc, {d, 1, 0}, 0, q, k, m, n), double(expected), 1e-12)
        << m << "," << n;
  }
}

TEST(AttentionLogit, RotaryFullAndPartial) {
  const int64_t d = 16;
  const auto [q, k] = vectors(d);
  for (double fraction : {1.0, 0.5}) {
    auto enc = make_scheme("rope", {{"rotary_fraction", fraction}});
    const int64_t rd = int64_t(fraction * d);
    for (auto [m, n] : kPairs) {
      const auto rq = rope_rotate(q, m, rd), rk = rope_rotate(k, n, rd);
      long double expected = 0;
      for (int64_t c = 0; c < d; ++c) expected += rq[c] * rk[c];
      EXPECT_NEAR(attention_logit(*enc, {d, 1, 0}, 0, q, k, m, n), double(expected), 1e-12)
          << "fraction " << fraction << " " << m << "," << n;
    }
  }
  // At m = n the rotation cancels: s = q . k.
  auto enc = make_scheme("rope", json::object());
  long double qk = 0;
  for (int64_t c = 0; c < d; ++c) qk += (long double)q[c] * k[c];
  EXPECT_NEAR(attention_logit(*enc, {d, 1, 0}, 0, q, k, 123456, 123456), double(qk), 1e-11);
}

TEST(AttentionLogit, BiasPerHead) {
  const int64_t d = 8, heads = 4;
  auto enc = make_scheme("alibi", json::object());
  const auto [q, k] = vectors(d);
  long double qk = 0;
  for (int64_t c = 0; c < d; ++c) qk += (long double)q[c] * k[c];
  // 4 heads: m_h = 2^(-8(h+1)/4) = 2^-2, 2^-4, 2^-6, 2^-8.
  for (int64_t h = 0; h < heads; ++h)
    for (auto [m, n] : kPairs) {
      const double slope = std::ldexp(1.0, -2 * int(h + 1));
      const double expected = double(qk) - slope * std::abs(double(m - n));
      EXPECT_NEAR(attention_logit(*enc, {d, heads, 0}, h, q, k, m, n), expected, 1e-12)
          << "h=" << h << " " << m << "," << n;
    }
}

}  // namespace
}  // namespace posbench
