// The family operations on tensors (harness/analysis/apply.h), float32 and float64, against
// float64 references written here from the schemes' closed forms:
//   sinusoidal (Vaswani et al. 2017; encoders/sinusoidal.cpp): interleaved layout
//     PE(p, 2i) = sin(p / base^(2i/d)), PE(p, 2i+1) = cos(p / base^(2i/d)); "concat" puts the
//     sine of pair i in column i and its cosine in column i + d/2;
//   RoPE (Su et al. 2021; encoders/rope.cpp): pair (a, b) at position p becomes
//     (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)),
//     theta_i = base^(-2i/d'), pairs (i, i + d'/2) ("half") or (2i, 2i + 1) ("interleaved"),
//     channels past d' unchanged;
//   ALiBi (Press et al. 2022; encoders/alibi.cpp): b_h(i, j) = -m_h |i - j| (symmetric, not
//     causal), m_h = 2^(-8(h+1)/H) for H a power of two.
// A float32 result must be the float64 value rounded once (within one float32 rounding of it).
#include "harness/analysis/apply.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::make_scheme;

double sinusoidal(int64_t p, int64_t c, int64_t dim, double base, bool concat) {
  const int64_t half = dim / 2;
  const int64_t i = concat ? c % half : c / 2;
  const bool is_sin = concat ? c < half : c % 2 == 0;
  const double a = double(p) / std::pow(base, 2.0 * double(i) / double(dim));
  return is_sin ? std::sin(a) : std::cos(a);
}

// Allowed difference between a stored T and the float64 reference v: float64 arithmetic
// (a few ulp of 1), plus one float32 rounding of v when T is float.
template <class T>
double tolerance(double v) {
  const double f64 = 1e-12 * (1 + std::abs(v));
  return std::is_same_v<T, float> ? f64 + std::abs(v) * std::ldexp(1.0, -24) : f64;
}

// A deterministic, sign-mixed fill.
template <class T>
std::vector<T> filled(size_t n, double phase) {
  std::vector<T> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = T(2.0 * std::sin(1.3 * double(i) + phase));
  return x;
}

template <class T>
void check_positional_table_and_add() {
  for (bool concat : {false, true}) {
    auto enc = make_scheme("sinusoidal",
                           {{"base", 10000.0}, {"layout", concat ? "concat" : "interleaved"}});
    const int64_t dim = 10;
    const std::vector<int64_t> pos = {0, 1, 2, 50, 999, 123456};
    std::vector<T> table(pos.size() * dim, T(-7));
    positional_table<T>(*enc, pos, dim, table.data());
    const std::vector<T> x0 = filled<T>(pos.size() * dim, 0.4);
    std::vector<T> x = x0;
    add_positional<T>(*enc, pos, dim, x.data());
    for (size_t t = 0; t < pos.size(); ++t)
      for (int64_t c = 0; c < dim; ++c) {
        const size_t k = t * dim + c;
        const double pe = sinusoidal(pos[t], c, dim, 10000.0, concat);
        // The angle p w_i (w_i <= 1) is rounded differently by p / base^x and p * base^-x:
        // up to two ulp of p, i.e. 4.5e-16 p.
        const double angle_tol = 4.5e-16 * double(pos[t]);
        EXPECT_NEAR(double(table[k]), pe, tolerance<T>(pe) + angle_tol)
            << (concat ? "concat" : "interleaved") << " p " << pos[t] << " c " << c;
        const double sum = double(x0[k]) + pe;
        EXPECT_NEAR(double(x[k]), sum, tolerance<T>(sum) + angle_tol)
            << "p " << pos[t] << " c " << c;
      }
  }
}

TEST(Apply, PositionalTableAndAddPositionalFloat) { check_positional_table_and_add<float>(); }
TEST(Apply, PositionalTableAndAddPositionalDouble) { check_positional_table_and_add<double>(); }

// RoPE reference: rotate x [heads, head_dim] at position p in float64.
std::vector<double> rope_reference(const std::vector<double>& x, int64_t heads, int64_t head_dim,
                                   int64_t rd, bool interleaved, double base, int64_t p) {
  std::vector<double> y = x;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < rd / 2; ++i) {
      const double theta = std::pow(base, -2.0 * double(i) / double(rd));
      const double c = std::cos(double(p) * theta), s = std::sin(double(p) * theta);
      const int64_t ia = h * head_dim + (interleaved ? 2 * i : i);
      const int64_t ib = h * head_dim + (interleaved ? 2 * i + 1 : i + rd / 2);
      y[size_t(ia)] = x[size_t(ia)] * c - x[size_t(ib)] * s;
      y[size_t(ib)] = x[size_t(ia)] * s + x[size_t(ib)] * c;
    }
  return y;
}

template <class T>
void check_rotate() {
  for (const char* layout : {"half", "interleaved"})
    for (double fraction : {1.0, 0.5, 0.25}) {
      const double base = 10000.0;
      auto enc =
          make_scheme("rope", {{"base", base}, {"layout", layout}, {"rotary_fraction", fraction}});
      const bool interleaved = std::string(layout) == "interleaved";
      const int64_t heads = 3, head_dim = 16, rd = int64_t(fraction * head_dim) / 2 * 2;
      const std::vector<int64_t> pos = {0, 1, 7, 4096, 1000003};
      const std::vector<T> x0 = filled<T>(pos.size() * heads * head_dim, 0.1);
      std::vector<T> x = x0;
      rotate<T>(*enc, pos, heads, head_dim, RotaryContext{}, x.data());
      for (size_t t = 0; t < pos.size(); ++t) {
        const size_t row = t * heads * head_dim;
        std::vector<double> in(x0.begin() + row, x0.begin() + row + heads * head_dim);
        const std::vector<double> ref =
            rope_reference(in, heads, head_dim, rd, interleaved, base, pos[t]);
        for (int64_t k = 0; k < heads * head_dim; ++k) {
          // Large angles (p = 1e6) lose ~p * eps in the angle: allow 1e-9 in float64.
          const double tol = tolerance<T>(ref[size_t(k)]) + 1e-9;
          EXPECT_NEAR(double(x[row + k]), ref[size_t(k)], tol)
              << layout << " fraction " << fraction << " p " << pos[t] << " channel " << k;
          if (k % head_dim >= rd) {  // pass-through channels are untouched, bit for bit
            EXPECT_EQ(x[row + k], x0[row + k]);
          }
        }
      }
    }
}

TEST(Apply, RotateFloat) { check_rotate<float>(); }
TEST(Apply, RotateDouble) { check_rotate<double>(); }

TEST(Apply, RotateAtPositionZeroIsTheIdentity) {
  auto enc = make_scheme("rope", json::object());
  const std::vector<int64_t> pos = {0};
  std::vector<double> x = filled<double>(2 * 8, 0.9);
  const std::vector<double> x0 = x;
  rotate<double>(*enc, pos, 2, 8, RotaryContext{}, x.data());
  EXPECT_EQ(x, x0);
}

TEST(Apply, RotateVectorUsesTheGivenCoefficientsAndPairing) {
  // Coefficients need not be unit (attention factors, xPos): (a, b) -> (a c - b s, a s + b c).
  const double c[2] = {0.5, 2.0}, s[2] = {-1.5, 0.25};
  {
    std::vector<double> x = {1, 2, 3, 4, 5, 6};  // rotated dims 4: pairs (0, 2), (1, 3)
    rotate_vector<double>(RotaryPairing::half, 4, c, s, x.data());
    EXPECT_EQ(x, (std::vector<double>{1 * 0.5 - 3 * -1.5, 2 * 2.0 - 4 * 0.25, 1 * -1.5 + 3 * 0.5,
                                      2 * 0.25 + 4 * 2.0, 5, 6}));
  }
  {
    std::vector<float> x = {1, 2, 3, 4, 5, 6};  // pairs (0, 1), (2, 3)
    rotate_vector<float>(RotaryPairing::interleaved, 4, c, s, x.data());
    EXPECT_EQ(x, (std::vector<float>{1 * 0.5f - 2 * -1.5f, 1 * -1.5f + 2 * 0.5f,
                                     3 * 2.0f - 4 * 0.25f, 3 * 0.25f + 4 * 2.0f, 5, 6}));
  }
}

template <class T>
void check_add_bias() {
  auto enc = make_scheme("alibi", json::object());
  for (int64_t H : {1, 2, 8}) {
    const std::vector<int64_t> q = {0, 3, 10, 11}, k = {0, 1, 2, 10, 40};
    const std::vector<T> l0 = filled<T>(size_t(H) * q.size() * k.size(), 0.7);
    std::vector<T> logits = l0;
    add_bias<T>(*enc, q, k, H, logits.data());
    for (int64_t h = 0; h < H; ++h) {
      const double m = std::pow(2.0, -8.0 * double(h + 1) / double(H));
      for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < k.size(); ++j) {
          const size_t at = (size_t(h) * q.size() + i) * k.size() + j;
          // Symmetric: keys after the query (j > i) get the same penalty as keys before it.
          const double ref = double(l0[at]) - m * double(std::abs(q[i] - k[j]));
          EXPECT_NEAR(double(logits[at]), ref, tolerance<T>(ref))
              << "H " << H << " h " << h << " q " << q[i] << " k " << k[j];
        }
    }
  }
}

TEST(Apply, AddBiasFloat) { check_add_bias<float>(); }
TEST(Apply, AddBiasDouble) { check_add_bias<double>(); }

TEST(Apply, WrongFamilyIsALogicError) {
  auto alibi = make_scheme("alibi", json::object());
  auto sinus = make_scheme("sinusoidal", json::object());
  const std::vector<int64_t> pos = {0, 1};
  std::vector<double> buf(64);
  EXPECT_THROW(add_positional<double>(*alibi, pos, 4, buf.data()), std::logic_error);
  EXPECT_THROW(rotate<double>(*sinus, pos, 1, 4, RotaryContext{}, buf.data()), std::logic_error);
  EXPECT_THROW(add_bias<double>(*sinus, pos, pos, 2, buf.data()), std::logic_error);
}

}  // namespace
}  // namespace posbench
