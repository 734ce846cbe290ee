// FIRE (Li et al. 2023) against the paper's formula written here:
//   b_h(i, j) = f(psi(i - j) / psi(max(i, L_thr)))_h,  psi(x) = ln(c |x| + 1),
//   f(x) = W2 relu(W1 x + b1) + b2,
// with an MLP whose weights are set by hand and loaded from .npy files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/registry.h"
#include "encoders/rng.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using test::TempDir;

void write(const fs::path& file, std::vector<int64_t> shape, std::vector<double> data,
           NpyDtype dtype = NpyDtype::float64) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  if (dtype == NpyDtype::float64)
    a.f64 = std::move(data);
  else
    a.f32.assign(data.begin(), data.end());
  write_npy(file, a);
}

// The hand-set MLP: hidden 2, heads 2.
//   f_0(x) = 0.1 + relu(x) + 2 relu(0.5 - x),   f_1(x) = -0.2 + 0.5 relu(x) - relu(0.5 - x)
struct HandMlp {
  std::vector<double> w1 = {1.0, -1.0}, b1 = {0.0, 0.5}, w2 = {1.0, 2.0, 0.5, -1.0},
                      b2 = {0.1, -0.2};
  long double f(int64_t h, long double x) const {
    const long double a0 = std::max(0.0L, x), a1 = std::max(0.0L, 0.5L - x);
    return h == 0 ? 0.1L + a0 + 2.0L * a1 : -0.2L + 0.5L * a0 - a1;
  }
};

void write_hand_mlp(const fs::path& dir, bool w1_as_column = false,
                    NpyDtype dtype = NpyDtype::float64) {
  const HandMlp m;
  write(dir / "w1.npy", w1_as_column ? std::vector<int64_t>{2, 1} : std::vector<int64_t>{2}, m.w1,
        dtype);
  write(dir / "b1.npy", {2}, m.b1, dtype);
  write(dir / "w2.npy", {2, 2}, m.w2, dtype);
  write(dir / "b2.npy", {2}, m.b2, dtype);
}

std::unique_ptr<Encoder> make_fire(const json& given) { return test::make_scheme("fire", given); }

long double psi(long double c, long double x) { return std::log(c * std::fabs(x) + 1.0L); }

TEST(Fire, HandSetMlpMatchesTheFormula) {
  TempDir dir;
  write_hand_mlp(dir.path());
  struct Case {
    double c, l_thr;
  };
  for (Case cs : {Case{1.0, 4.0}, Case{2.0, 1.0}, Case{0.5, 512.0}}) {
    SCOPED_TRACE("c=" + std::to_string(cs.c) + " L_thr=" + std::to_string(cs.l_thr));
    auto enc = make_fire({{"init", "file"},
                          {"path", dir.path().string()},
                          {"hidden", 2},
                          {"c", cs.c},
                          {"L_thr", cs.l_thr}});
    const std::vector<int64_t> q = {0, 1, 2, 3, 10, 600, 5000}, k = {0, 1, 3, 9, 400, 5000};
    std::vector<double> b(2 * q.size() * k.size());
    enc->bias(q, k, 2, b.data());
    const HandMlp m;
    for (int64_t h = 0; h < 2; ++h)
      for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < k.size(); ++j) {
          const long double qi = (long double)q[i];
          const long double x =
              psi(cs.c, qi - (long double)k[j]) / psi(cs.c, std::max(qi, (long double)cs.l_thr));
          EXPECT_NEAR(b[(h * q.size() + i) * k.size() + j], double(m.f(h, x)), 1e-14)
              << "h=" << h << " i=" << q[i] << " j=" << k[j];
        }
  }
}

TEST(Fire, HandComputedValues) {
  TempDir dir;
  write_hand_mlp(dir.path(), /*w1_as_column=*/true, NpyDtype::float32);  // [hidden, 1], float32
  auto enc =
      make_fire({{"init", "file"}, {"path", dir.path().string()}, {"hidden", 2}, {"L_thr", 4.0}});
  EXPECT_FALSE(enc->bias_is_relative());
  EXPECT_EQ(enc->family(), Family::bias);
  auto at = [&](int64_t i, int64_t j) {
    const std::vector<int64_t> q = {i}, k = {j};
    std::vector<double> b(2);
    enc->bias(q, k, 2, b.data());
    return b;
  };
  // float32 weights: 0.1f and 0.2f are not 0.1 and 0.2, hence the tolerance.
  const double tol = 1e-7;
  // i = j: x = 0 -> f = (0.1 + 2 * 0.5, -0.2 - 0.5).
  EXPECT_NEAR(at(7, 7)[0], 1.1, tol);
  EXPECT_NEAR(at(7, 7)[1], -0.7, tol);
  // i = 10 > L_thr, j = 0: x = ln 11 / ln 11 = 1 -> f = (0.1 + 1, -0.2 + 0.5).
  EXPECT_NEAR(at(10, 0)[0], 1.1, tol);
  EXPECT_NEAR(at(10, 0)[1], 0.3, tol);
  // i = 2 < L_thr, j = 0: x = ln 3 / ln 5 = 0.68260619448... > 0.5 -> f = (0.1 + x, -0.2 + x/2).
  const double x = std::log(3.0) / std::log(5.0);
  EXPECT_NEAR(at(2, 0)[0], 0.1 + x, tol);
  EXPECT_NEAR(at(2, 0)[1], -0.2 + 0.5 * x, tol);
  // Key after the query: the same formula with |i - j| (documented extension).
  EXPECT_EQ(at(2, 4), at(2, 0));
  // i = 0 < L_thr = 4, j = 4: x = ln 5 / ln 5 = 1.
  EXPECT_NEAR(at(0, 4)[0], 1.1, tol);
}

TEST(Fire, RelativeBelowThresholdButNotBeyond) {
  TempDir dir;
  write_hand_mlp(dir.path());
  auto enc = make_fire({{"init", "file"}, {"path", dir.path().string()}, {"hidden", 2}});
  auto at = [&](int64_t i, int64_t j) {
    const std::vector<int64_t> q = {i}, k = {j};
    std::vector<double> b(2);
    enc->bias(q, k, 2, b.data());
    return b;
  };
  // Both queries below L_thr = 512: the denominator is psi(512) for both.
  EXPECT_EQ(at(100, 90), at(200, 190));
  // Beyond the threshold the distance is normalised by psi(i): same offset, smaller x.
  EXPECT_NE(at(600, 300), at(900, 600));
  EXPECT_GT(at(600, 300)[0], at(900, 600)[0]);  // x > 0.5 on both, f_0 = 0.1 + x
}

TEST(Fire, SeededInitFollowsTheDocumentedDraws) {
  const int64_t hidden = 5, heads = 3;
  auto enc = make_fire({{"hidden", hidden}, {"seed", 4}, {"c", 0.7}, {"L_thr", 16.0}});
  // Rng(seed, "fire/mlp"): W1, b1 ~ U(-1, 1); W2 (row-major), b2 ~ U(-1/sqrt(hidden), ...).
  Rng rng(4, "fire/mlp");
  auto draw = [&](int64_t n, double k) {
    std::vector<double> v;
    for (int64_t t = 0; t < n; ++t) v.push_back(k * (2.0 * rng.uniform() - 1.0));
    return v;
  };
  const double k2 = 1.0 / std::sqrt(double(hidden));
  const auto w1 = draw(hidden, 1.0), b1 = draw(hidden, 1.0), w2 = draw(heads * hidden, k2),
             b2 = draw(heads, k2);
  const std::vector<int64_t> q = {0, 5, 16, 40}, k = {0, 3, 39};
  std::vector<double> b(heads * q.size() * k.size());
  enc->bias(q, k, heads, b.data());
  for (int64_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < q.size(); ++i)
      for (size_t j = 0; j < k.size(); ++j) {
        const long double x = psi(0.7L, (long double)q[i] - (long double)k[j]) /
                              psi(0.7L, std::max((long double)q[i], 16.0L));
        long double f = b2[h];
        for (int64_t u = 0; u < hidden; ++u)
          f += w2[h * hidden + u] * std::max(0.0L, w1[u] * x + b1[u]);
        EXPECT_NEAR(b[(h * q.size() + i) * k.size() + j], double(f), 1e-14);
      }
}

// The param a bad `given` (or, with heads > 0, that many heads) is reported against.
std::string param_error(const json& given, int64_t heads = 0) {
  return test::param_error("fire", given, heads > 0 ? std::optional<int64_t>(heads) : std::nullopt);
}

TEST(Fire, ParamErrorsNameTheParameter) {
  TempDir dir;
  write_hand_mlp(dir.path());
  const std::string p = dir.path().string();
  EXPECT_EQ(param_error({{"init", "file"}, {"path", p}, {"hidden", 2}}, 2), "<no error>");
  EXPECT_EQ(param_error({{"init", "file"}, {"path", p}, {"hidden", 2}}, 4), "path");  // heads
  EXPECT_EQ(param_error({{"init", "file"}, {"path", p}}), "hidden");  // files have hidden = 2
  EXPECT_EQ(param_error({{"init", "file"}, {"hidden", 2}}), "path");  // no path
  EXPECT_EQ(param_error({{"path", p}}), "path");                      // path with init uniform
  EXPECT_EQ(param_error({{"init", "file"}, {"path", p + "/nowhere"}, {"hidden", 2}}), "path");
  // A malformed member file: b2 with the wrong length.
  TempDir bad;
  write_hand_mlp(bad.path());
  fs::remove(bad.path() / "b2.npy");
  EXPECT_EQ(param_error({{"init", "file"}, {"path", bad.path().string()}, {"hidden", 2}}), "path");
  write(bad.path() / "b2.npy", {3}, {0.0, 0.0, 0.0});
  EXPECT_EQ(param_error({{"init", "file"}, {"path", bad.path().string()}, {"hidden", 2}}), "path");
  // L_thr >= 1 (psi(max(0, 0)) = 0 would divide by zero), c > 0.
  const EncoderInfo& info = EncoderRegistry::instance().get("fire", "encoder");
  for (json given : {json{{"L_thr", 0.5}}, json{{"c", 0.0}}}) {
    Diagnostics diag;
    resolve_params(info.params, given, "params", diag);
    EXPECT_FALSE(diag.ok()) << given.dump();
  }
}

}  // namespace
}  // namespace posbench
