// Helpers of the property experiments (harness/analysis/position_features.h), against float64
// references written here:
//   position_encodings : additive rows PE(p) from the sinusoidal closed form (Vaswani et al.
//                        2017, interleaved: PE(p, 2i) = sin(p w_i), PE(p, 2i+1) = cos(p w_i),
//                        w_i = base^(-2i/d)); rotary rows R(p) u from RoPE's formula (Su et al.
//                        2021);
//   bias_rows          : concat over h of -m_h |q - k| (ALiBi, Press et al. 2022);
//   for_each_dot_block : A B^T by explicit loops, every row exactly once, thread-independent;
//   round_to_bfloat16  : hand-picked float32 values and their nearest-even bfloat16 neighbours.
#include "harness/analysis/position_features.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::make_scheme;
using Vec = std::vector<double>;

TEST(PropertyCommonParams, NamesDefaultsAndDescriptions) {
  const std::vector<ParamSpec> ps =
      property_common_params("positions [0, positions) encoded", "not read by this experiment");
  ASSERT_EQ(ps.size(), 4u);
  const std::vector<std::string> names = {"dim", "heads", "positions", "samples"};
  const std::vector<int> defaults = {128, 8, 1024, 64};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ps[i].name, names[i]);
    EXPECT_EQ(ps[i].type, ParamType::integer);
    EXPECT_EQ(ps[i].default_value, json(defaults[i])) << names[i];
  }
  EXPECT_EQ(ps[2].description, "positions [0, positions) encoded");
  EXPECT_EQ(ps[3].description, "not read by this experiment");
  EXPECT_EQ(ps[0].min.value_or(-1), 2.0);  // a width of at least one pair
  EXPECT_EQ(ps[1].min.value_or(-1), 1.0);
  EXPECT_EQ(ps[2].min.value_or(-1), 2.0);
  EXPECT_EQ(ps[3].min.value_or(-1), 1.0);
}

TEST(PositionRange, HalfOpen) {
  EXPECT_EQ(position_range(3, 7), (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(position_range(0, 1), (std::vector<int64_t>{0}));
  EXPECT_TRUE(position_range(5, 5).empty());
  EXPECT_TRUE(position_range(7, 3).empty());
  EXPECT_EQ(position_range(-2, 1), (std::vector<int64_t>{-2, -1, 0}));
}

TEST(PositionEncodings, AdditiveRowsAreTheSinusoidalClosedForm) {
  auto enc = make_scheme("sinusoidal", {{"base", 10000.0}});
  const int64_t dim = 12;
  const std::vector<int64_t> pos = {0, 1, 5, 100, 4097};
  const RowMatrix P = position_encodings(*enc, pos, dim, {}, 0);
  ASSERT_EQ(P.rows(), int64_t(pos.size()));
  ASSERT_EQ(P.cols(), dim);
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double a = double(pos[t]) / std::pow(10000.0, 2.0 * double(i) / double(dim));
      EXPECT_NEAR(P(int64_t(t), 2 * i), std::sin(a), 1e-12) << pos[t] << " " << i;
      EXPECT_NEAR(P(int64_t(t), 2 * i + 1), std::cos(a), 1e-12) << pos[t] << " " << i;
    }
}

TEST(PositionEncodings, RotaryRowsAreTheRotatedVector) {
  for (const char* layout : {"half", "interleaved"})
    for (double fraction : {1.0, 0.5}) {
      auto enc =
          make_scheme("rope", {{"base", 500.0}, {"layout", layout}, {"rotary_fraction", fraction}});
      const bool interleaved = std::string(layout) == "interleaved";
      const int64_t dim = 8, rd = int64_t(fraction * dim) / 2 * 2;
      const Vec u = {0.1, -0.7, 0.3, 0.5, -0.2, 0.9, 0.4, -0.6};
      const std::vector<int64_t> pos = {0, 3, 17, 1000};
      const RowMatrix P = position_encodings(*enc, pos, dim, u, 0);
      ASSERT_EQ(P.rows(), 4);
      ASSERT_EQ(P.cols(), dim);
      for (size_t t = 0; t < pos.size(); ++t) {
        Vec ref = u;
        for (int64_t i = 0; i < rd / 2; ++i) {
          const double theta = std::pow(500.0, -2.0 * double(i) / double(rd));
          const double c = std::cos(double(pos[t]) * theta), s = std::sin(double(pos[t]) * theta);
          const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + rd / 2;
          ref[size_t(ia)] = u[size_t(ia)] * c - u[size_t(ib)] * s;
          ref[size_t(ib)] = u[size_t(ia)] * s + u[size_t(ib)] * c;
        }
        for (int64_t c = 0; c < dim; ++c)
          EXPECT_NEAR(P(int64_t(t), c), ref[size_t(c)], 1e-12)
              << layout << " " << fraction << " p " << pos[t] << " c " << c;
      }
    }
}

TEST(PositionEncodings, RefusesABiasSchemeAndAWrongWidth) {
  auto alibi = make_scheme("alibi", json::object());
  const std::vector<int64_t> pos = {0, 1};
  EXPECT_THROW(position_encodings(*alibi, pos, 4, {}, 0), std::logic_error);
  auto rope = make_scheme("rope", json::object());
  const Vec u3 = {1, 0, 0};
  EXPECT_THROW(position_encodings(*rope, pos, 4, u3, 0), std::logic_error);
}

TEST(PositionEncodings, UnsupportedPositionsPropagate) {
  auto enc = make_scheme("learned", {{"max_len", 4}, {"out_of_range", "error"}});
  const std::vector<int64_t> pos = {0, 4};
  EXPECT_THROW(position_encodings(*enc, pos, 2, {}, 0), UnsupportedPosition);
}

TEST(BiasRows, ConcatenatesTheHeadsOfEachQueryRow) {
  auto enc = make_scheme("alibi", json::object());
  const int64_t H = 4;
  const Vec m = {0.25, 0.0625, 0.015625, 0.00390625};  // 2^(-8(h+1)/4)
  const std::vector<int64_t> q = {0, 5, 9}, keys = {0, 2, 9, 12, 30};
  const RowMatrix R = bias_rows(*enc, q, keys, H);
  ASSERT_EQ(R.rows(), 3);
  ASSERT_EQ(R.cols(), H * 5);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < 5; ++j)
        EXPECT_EQ(R(t, h * 5 + j), -m[size_t(h)] * double(std::abs(q[size_t(t)] - keys[size_t(j)])))
            << t << " " << h << " " << j;
}

RowMatrix seeded(int64_t rows, int64_t cols, double offset) {
  RowMatrix M(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) M(r, c) = std::sin(0.7 * double(r * cols + c) + offset);
  return M;
}

// Runs for_each_dot_block and gathers G into one [A.rows(), B.rows()] matrix, counting how
// often each row was delivered and checking each block's shape.
RowMatrix gather(const RowMatrix& A, const RowMatrix& B, int64_t block_rows,
                 std::vector<int>& hits) {
  RowMatrix out = RowMatrix::Constant(A.rows(), B.rows(), std::nan(""));
  hits.assign(size_t(A.rows()), 0);
  std::vector<int> bad_shape(size_t(A.rows()), 0);
  for_each_dot_block(A, B, block_rows, [&](int64_t r0, const RowMatrix& G) {
    const int64_t expected_rows = std::min(block_rows, A.rows() - r0);
    for (int64_t r = 0; r < G.rows(); ++r) {  // per-row writes only, as documented
      hits[size_t(r0 + r)] += 1;
      bad_shape[size_t(r0 + r)] =
          G.rows() != expected_rows || G.cols() != B.rows() || r0 % block_rows != 0;
      out.row(r0 + r) = G.row(r);
    }
  });
  for (int64_t r = 0; r < A.rows(); ++r) EXPECT_EQ(bad_shape[size_t(r)], 0) << "row " << r;
  return out;
}

TEST(ForEachDotBlock, EveryRowOnceAndEqualToTheProduct) {
  const RowMatrix A = seeded(23, 6, 0.0), B = seeded(9, 6, 1.0);
  for (int64_t block : {1, 4, 7, 23, 100}) {
    std::vector<int> hits;
    const RowMatrix G = gather(A, B, block, hits);
    for (int64_t r = 0; r < A.rows(); ++r) {
      EXPECT_EQ(hits[size_t(r)], 1) << "block " << block << " row " << r;
      for (int64_t j = 0; j < B.rows(); ++j) {
        double ref = 0;
        for (int64_t c = 0; c < 6; ++c) ref += A(r, c) * B(j, c);
        EXPECT_NEAR(G(r, j), ref, 1e-14) << block << " " << r << " " << j;
      }
    }
  }
}

TEST(ForEachDotBlock, BitIdenticalForAnyThreadCount) {
  const RowMatrix A = seeded(300, 37, 0.3), B = seeded(50, 37, 2.0);
  const int saved = omp_get_max_threads();
  std::vector<int> hits;
  omp_set_num_threads(1);
  const RowMatrix one = gather(A, B, 16, hits);
  omp_set_num_threads(4);
  const RowMatrix four = gather(A, B, 16, hits);
  omp_set_num_threads(saved);
  for (int64_t r = 0; r < A.rows(); ++r)
    for (int64_t j = 0; j < B.rows(); ++j) ASSERT_EQ(one(r, j), four(r, j)) << r << " " << j;
}

TEST(ForEachDotBlock, NoRowsNoCalls) {
  const RowMatrix A(0, 3), B = seeded(4, 3, 0);
  int calls = 0;
  for_each_dot_block(A, B, 8, [&](int64_t, const RowMatrix&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(RoundToBfloat16, NearestWithTiesToEven) {
  // bfloat16 keeps 8 significant bits: neighbours of 1 are 1 - 2^-8 and 1 + 2^-7.
  const float ulp = std::ldexp(1.0f, -7);
  EXPECT_EQ(round_to_bfloat16(1.0f), 1.0f);
  EXPECT_EQ(round_to_bfloat16(-2.5f), -2.5f);
  EXPECT_EQ(round_to_bfloat16(0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(round_to_bfloat16(-0.0f)));
  // Below and above the midpoint 1 + 2^-8.
  EXPECT_EQ(round_to_bfloat16(1.0f + std::ldexp(1.0f, -8) - std::ldexp(1.0f, -20)), 1.0f);
  EXPECT_EQ(round_to_bfloat16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 1.0f + ulp);
  // Ties go to the even neighbour: 1 + 2^-8 -> 1; 1 + 3 * 2^-8 -> 1 + 2 ulp (not 1 + ulp).
  EXPECT_EQ(round_to_bfloat16(1.0f + std::ldexp(1.0f, -8)), 1.0f);
  EXPECT_EQ(round_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + 2 * ulp);
  EXPECT_EQ(round_to_bfloat16(-(1.0f + 3 * std::ldexp(1.0f, -8))), -(1.0f + 2 * ulp));
  // pi = 0x40490FDB as float32 -> 0x4049 = 0x1.92p1 (dropped bits 0x0FDB < 0x8000).
  EXPECT_EQ(round_to_bfloat16(3.14159265f), 0x1.92p1f);
  // The largest float rounds up to infinity; infinities and NaN stay what they are.
  EXPECT_EQ(round_to_bfloat16(std::numeric_limits<float>::max()),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(round_to_bfloat16(-std::numeric_limits<float>::infinity()),
            -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(round_to_bfloat16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(round_to_bfloat16(std::bit_cast<float>(0x7f800001u))));  // signalling
}

}  // namespace
}  // namespace posbench
