// Snapshots (harness/analysis/snapshot.h) against float64 references written here:
//   evenly_spaced      : round(k (count-1) / (n-1)) by hand for small cases;
//   round_significant  : hand-picked values;
//   table              : sinusoidal closed form PE(p, 2i) = sin(p w_i), PE(p, 2i+1) = cos(p w_i),
//                        w_i = 10000^(-2i/d) (interleaved; Vaswani et al. 2017);
//   angles             : RoPE's p * 10000^(-2i/d) wrapped to (-pi, pi] (Su et al. 2021);
//   bias               : ALiBi's -m_h |i - j|, m_h = 2^(-8(h+1)/H) (Press et al. 2022);
//   seed_picture       : the principal components from a singular value decomposition of the
//                        centred points e_w + PE(p) (the code uses the covariance's
//                        eigenvectors), with e_w drawn here from the same named stream.
#include "harness/analysis/snapshot.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <numbers>
#include <vector>

#include "encoders/rng.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::make_scheme;

// |got - want| within the 4 significant digits the snapshot keeps.
void expect_4_digits(double got, double want, const std::string& where) {
  EXPECT_LE(std::abs(got - want), 5e-4 * std::max(std::abs(want), 1e-6)) << where;
}

TEST(SnapshotHelpers, EvenlySpacedKeepsEndsAndAllWhenFew) {
  EXPECT_EQ(evenly_spaced(5, 8), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(evenly_spaced(8, 4), (std::vector<int64_t>{0, 2, 5, 7}));  // 7/3 = 2.33, 14/3 = 4.67
  EXPECT_EQ(evenly_spaced(1000, 3), (std::vector<int64_t>{0, 500, 999}));  // 499.5 -> 500
  EXPECT_EQ(evenly_spaced(10, 1), (std::vector<int64_t>{0}));
  EXPECT_TRUE(evenly_spaced(0, 4).empty());
}

TEST(SnapshotHelpers, RoundSignificant) {
  EXPECT_EQ(round_significant(0.123456, 4), 0.1235);
  EXPECT_EQ(round_significant(-98765.4, 4), -98770.0);
  EXPECT_EQ(round_significant(1.0e-20 / 3, 2), 3.3e-21);
  EXPECT_EQ(round_significant(0.0, 4), 0.0);
  EXPECT_TRUE(std::isnan(round_significant(std::nan(""), 4)));
}

TEST(Snapshot, SinusoidalTableIsTheClosedFormAtSampledPositions) {
  const auto enc = make_scheme("sinusoidal", json::object());
  SnapshotLimits limits;
  limits.max_positions = 5;
  limits.max_channels = 6;
  const json s = encoder_snapshot(*enc, {.dim = 12, .heads = 1, .positions = 1001}, 0, limits);
  const json& t = s.at("table");
  EXPECT_EQ(t.at("positions"), json({0, 250, 500, 750, 1000}));
  EXPECT_EQ(t.at("channels"), json({0, 2, 4, 7, 9, 11}));  // round(k * 11 / 5)
  for (size_t r = 0; r < 5; ++r)
    for (size_t k = 0; k < 6; ++k) {
      const double p = t["positions"][r], c = t["channels"][k];
      const double w = std::pow(10000.0, -2.0 * std::floor(c / 2) / 12.0);
      const double want = int(c) % 2 == 0 ? std::sin(p * w) : std::cos(p * w);
      expect_4_digits(t["values"][r][k], want, "p " + std::to_string(p));
    }
  EXPECT_FALSE(s.contains("note"));
}

TEST(Snapshot, RopeAnglesAreWrappedPositionTimesFrequency) {
  const auto enc = make_scheme("rope", json::object());
  const json s = encoder_snapshot(*enc, {.dim = 8, .heads = 1, .positions = 300}, 0);
  const json& a = s.at("angles");
  EXPECT_EQ(a.at("pairs"), json({0, 1, 2, 3}));
  ASSERT_EQ(a.at("positions").size(), 128u);
  for (size_t r = 0; r < 128; ++r)
    for (int i = 0; i < 4; ++i) {
      const double p = a["positions"][r];
      const double angle = p * std::pow(10000.0, -2.0 * i / 8.0);
      const double wrapped =
          angle -
          2 * std::numbers::pi * std::floor((angle + std::numbers::pi) / (2 * std::numbers::pi));
      const double got = a["values"][r][size_t(i)];
      // Wrapping at exactly +-pi may land on either side; compare on the circle.
      const double diff = std::remainder(got - wrapped, 2 * std::numbers::pi);
      EXPECT_LE(std::abs(diff), 5e-4 * std::max(std::abs(wrapped), 1e-6) + 1e-12) << p << " " << i;
      EXPECT_LE(std::abs(got), std::numbers::pi + 1e-12);
    }
}

TEST(Snapshot, AlibiBiasOfFourHeadsOfEight) {
  const auto enc = make_scheme("alibi", json::object());
  const json s = encoder_snapshot(*enc, {.dim = 8, .heads = 8, .positions = 20}, 0);
  const json& b = s.at("bias");
  EXPECT_EQ(b.at("heads"), json({0, 2, 5, 7}));
  EXPECT_EQ(b.at("positions").size(), 20u);
  for (size_t k = 0; k < 4; ++k) {
    const double m = std::pow(2.0, -8.0 * (double(b["heads"][k]) + 1) / 8.0);
    for (int i = 0; i < 20; ++i)
      for (int j = 0; j < 20; ++j)
        expect_4_digits(b["values"][k][size_t(i)][size_t(j)], -m * std::abs(i - j), "bias");
  }
  // Past the bound: the first 64 positions, contiguous (a causal softmax needs every key).
  const json far = encoder_snapshot(*enc, {.dim = 8, .heads = 8, .positions = 5000}, 0);
  EXPECT_EQ(far.at("bias").at("positions"), json(evenly_spaced(64, 64)));
}

TEST(Snapshot, SeedPictureIsThePrincipalComponentsOfTokensPlusPE) {
  const auto enc = make_scheme("sinusoidal", json::object());
  const int64_t dim = 6, P = 10, tokens = 3;
  SnapshotLimits limits;
  limits.seed_tokens = tokens;
  const json s = encoder_snapshot(*enc, {.dim = dim, .heads = 1, .positions = P}, 42, limits);
  const json& sp = s.at("seed_picture");
  // The same points, built here: e_w from the named stream, PE from the closed form.
  Rng rng(42, "snapshot/tokens");
  Eigen::MatrixXd X(tokens * P, dim);
  for (int64_t w = 0; w < tokens; ++w) {
    const std::vector<double> e = rng.normal_vector(dim);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t c = 0; c < dim; ++c) {
        const double f = std::pow(10000.0, -2.0 * double(c / 2) / double(dim));
        X(w * P + p, c) = e[size_t(c)] + (c % 2 == 0 ? std::sin(double(p) * f) : std::cos(p * f));
      }
  }
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(Xc, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd sv = svd.singularValues();
  const double total = sv.squaredNorm();
  for (int k = 0; k < 2; ++k) {
    expect_4_digits(sp["explained_variance_ratio"][size_t(k)], sv(k) * sv(k) / total, "ratio");
    const Eigen::VectorXd coords = Xc * svd.matrixV().col(k);  // up to sign
    const double sign = (double(sp["points"][0][size_t(k)]) * coords(0) < 0) ? -1.0 : 1.0;
    for (int64_t r = 0; r < tokens * P; ++r)
      EXPECT_LE(std::abs(double(sp["points"][size_t(r)][size_t(k)]) - sign * coords(r)),
                5e-4 * coords.cwiseAbs().maxCoeff())
          << r << " " << k;
  }
  EXPECT_EQ(sp["position"][size_t(P + 3)], 3);
  EXPECT_EQ(sp["token"][size_t(P + 3)], 1);
}

TEST(Snapshot, PositionsPastALearnedTableAreANoteNotAFailure) {
  const auto enc = make_scheme("learned", json{{"max_len", 16}});
  const json s = encoder_snapshot(*enc, {.dim = 8, .heads = 1, .positions = 64}, 0);
  EXPECT_FALSE(s.contains("table"));
  EXPECT_NE(s.at("note").get<std::string>().find("not drawn"), std::string::npos);
}

}  // namespace
}  // namespace posbench
