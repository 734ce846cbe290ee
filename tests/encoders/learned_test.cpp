// learned: PE(p) = W[p, :], W: [max_len, d]. Checked against the documented generation rule
// (W[r, c] = std * z_{r*d + c}, z the N(0, 1) draws of Rng(seed, "learned/table")), against
// tables written to .npy files with known values, and against hand-computed out-of-range rows.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "encoders/npy.h"
#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/run/config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Builds "learned" through the registry the way a config does; `problems` gets every error.
std::shared_ptr<const Encoder> build(const json& params, std::vector<Problem>* problems = nullptr) {
  Diagnostics diag;
  EncoderInstance inst = build_encoder({{"name", "learned"}, {"params", params}}, "enc", diag);
  if (problems) *problems = diag.problems();
  if (!problems) {
    EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  }
  return inst.encoder;
}

std::vector<double> learned_table(const Encoder& enc, const std::vector<int64_t>& positions,
                                  int64_t dim) {
  std::vector<double> out(positions.size() * dim);
  enc.additive_table(positions, dim, out.data());
  return out;
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  return p;
}

class LearnedFileTest : public ::testing::Test {
 protected:
  // Writes W[max_len, d] (row-major values) as float64 or float32 .npy; returns its path.
  std::string write_table(const std::string& name, std::vector<int64_t> shape,
                          const std::vector<double>& values, bool f32 = false) {
    NpyArray a;
    a.shape = std::move(shape);
    a.dtype = f32 ? NpyDtype::float32 : NpyDtype::float64;
    if (f32)
      for (double v : values) a.f32.push_back(float(v));
    else
      a.f64 = values;
    const fs::path p = dir_ / name;
    write_npy(p, a);
    return p.string();
  }

  // W[r] = (r^2, 10 - r) for r in [0, 4): a table whose rows are easy to interpolate by hand.
  std::string small_table() { return write_table("w4.npy", {4, 2}, {0, 10, 1, 9, 4, 8, 9, 7}); }

  test::TempDir dir_{"posbench-learned"};
};

TEST(Learned, NormalInitFollowsTheDocumentedDrawOrder) {
  const int64_t max_len = 16, dim = 8;
  auto enc = build({{"max_len", max_len}, {"seed", 7}, {"std", 0.5}});
  ASSERT_TRUE(enc);
  const std::vector<double> w = learned_table(*enc, range(max_len), dim);
  Rng rng(7, "learned/table");
  for (int64_t k = 0; k < max_len * dim; ++k) ASSERT_EQ(w[k], 0.5 * rng.normal()) << "k = " << k;
}

TEST(Learned, SameSeedSameTableDifferentSeedDifferentTable) {
  const int64_t max_len = 32, dim = 12;
  const auto a = learned_table(*build({{"max_len", max_len}, {"seed", 3}}), range(max_len), dim);
  const auto b = learned_table(*build({{"max_len", max_len}, {"seed", 3}}), range(max_len), dim);
  const auto c = learned_table(*build({{"max_len", max_len}, {"seed", 4}}), range(max_len), dim);
  EXPECT_EQ(a, b);
  int same = 0;
  for (size_t k = 0; k < a.size(); ++k) same += a[k] == c[k];
  EXPECT_EQ(same, 0);
}

TEST(Learned, TableIsTheSameAcrossCallsDimsAndThreads) {
  auto enc = build({{"max_len", 64}, {"seed", 11}});
  const auto full8 = learned_table(*enc, range(64), 8);
  // Another dim in between must not disturb the dim-8 table (cached per dim).
  const auto full4 = learned_table(*enc, range(64), 4);
  EXPECT_EQ(learned_table(*enc, range(64), 8), full8);
  // Row r of a later, shuffled call is row r of the table.
  const std::vector<int64_t> some = {63, 0, 17, 17, 5};
  const auto rows = learned_table(*enc, some, 8);
  for (size_t t = 0; t < some.size(); ++t)
    for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(rows[t * 8 + c], full8[some[t] * 8 + c]);
  // dim 4 uses the first 64 * 4 draws of the same stream.
  Rng rng(11, "learned/table");
  for (size_t k = 0; k < full4.size(); ++k) ASSERT_EQ(full4[k], 0.02 * rng.normal());
  // Concurrent first use of a new dim from several threads gives one table.
  auto fresh = build({{"max_len", 64}, {"seed", 11}});
  std::vector<std::vector<double>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { got[i] = learned_table(*fresh, range(64), 8); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, full8);
}

TEST(Learned, EntriesHaveTheRequestedStd) {
  // 512 * 64 = 32768 draws: the sample std has a relative standard error of
  // 1 / sqrt(2 * 32768) = 0.4%, so 3% is > 7 standard errors (and the seed is fixed).
  const int64_t max_len = 512, dim = 64;
  const double stddev = 0.05;
  const auto w = learned_table(*build({{"max_len", max_len}, {"std", stddev}, {"seed", 0}}),
                               range(max_len), dim);
  double sum = 0, sq = 0;
  for (double v : w) sum += v, sq += v * v;
  const double n = double(w.size()), mean = sum / n;
  const double sample_std = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(sample_std, stddev, 0.03 * stddev);
  EXPECT_LT(std::abs(mean), 5 * stddev / std::sqrt(n));
}

TEST_F(LearnedFileTest, FileInitRoundTripFloat64AndFloat32) {
  const int64_t max_len = 5, dim = 3;
  std::vector<double> values;
  for (int64_t r = 0; r < max_len; ++r)
    for (int64_t c = 0; c < dim; ++c) values.push_back(0.1 * double(r) - 0.37 * double(c) + 1e-3);
  for (bool f32 : {false, true}) {
    const std::string path = write_table(f32 ? "w32.npy" : "w64.npy", {max_len, dim}, values, f32);
    auto enc = build({{"max_len", max_len}, {"init", "file"}, {"path", path}});
    ASSERT_TRUE(enc);
    EXPECT_NO_THROW(enc->check_shape(dim, 1));
    const std::vector<int64_t> positions = {4, 0, 2, 2, 1, 3};
    const auto rows = learned_table(*enc, positions, dim);
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t c = 0; c < dim; ++c) {
        const double v = values[positions[t] * dim + c];
        EXPECT_EQ(rows[t * dim + c], f32 ? double(float(v)) : v)
            << (f32 ? "float32" : "float64") << " row " << positions[t] << " col " << c;
      }
  }
}

TEST(Learned, OutOfRangeErrorIsUnsupportedPosition) {
  auto enc = build({{"max_len", 1024}});
  std::vector<double> out(2 * 4);
  const std::vector<int64_t> ok = {0, 1023};
  EXPECT_NO_THROW(enc->additive_table(ok, 4, out.data()));
  const std::vector<int64_t> bad = {3, 1500};
  try {
    enc->additive_table(bad, 4, out.data());
    ADD_FAILURE() << "expected UnsupportedPosition";
  } catch (const UnsupportedPosition& e) {
    EXPECT_STREQ(
        e.what(),
        "learned: position 1500 is outside the table [0, 1024) (out_of_range = \"error\")");
  }
  const std::vector<int64_t> at_end = {1024};
  EXPECT_THROW(enc->additive_table(at_end, 4, out.data()), UnsupportedPosition);
}

TEST(Learned, NegativePositionsAreAlwaysUnsupported) {
  for (const char* policy : {"error", "clamp", "interpolate"}) {
    auto enc = build({{"max_len", 8}, {"out_of_range", policy}});
    std::vector<double> out(2 * 4);
    const std::vector<int64_t> positions = {0, -1};
    try {
      enc->additive_table(positions, 4, out.data());
      ADD_FAILURE() << policy << ": expected UnsupportedPosition";
    } catch (const UnsupportedPosition& e) {
      EXPECT_NE(std::string(e.what()).find("position -1"), std::string::npos) << e.what();
    }
  }
}

TEST_F(LearnedFileTest, ClampUsesTheLastRow) {
  auto enc =
      build({{"max_len", 4}, {"init", "file"}, {"path", small_table()}, {"out_of_range", "clamp"}});
  const auto rows = learned_table(*enc, {2, 3, 4, 100, 0}, 2);
  const std::vector<double> expected = {4, 8, 9, 7, 9, 7, 9, 7, 0, 10};
  EXPECT_EQ(rows, expected);
}

TEST_F(LearnedFileTest, InterpolateScalesTheCallIntoTheTable) {
  // W = [(0,10), (1,9), (4,8), (9,7)], max_len 4, last row 3.
  auto enc = build(
      {{"max_len", 4}, {"init", "file"}, {"path", small_table()}, {"out_of_range", "interpolate"}});
  // Largest position 6 >= 4: p' = p * 3 / 6 -> 0, 1.5, 2.5, 3.
  auto rows = learned_table(*enc, {0, 3, 5, 6}, 2);
  std::vector<double> expected = {0, 10, 2.5, 8.5, 6.5, 7.5, 9, 7};
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t k = 0; k < rows.size(); ++k) EXPECT_NEAR(rows[k], expected[k], 1e-15) << k;
  // Largest position 9: p' = p / 3 -> 0, 1/3, 3.
  rows = learned_table(*enc, {0, 1, 9}, 2);
  expected = {0, 10, 1.0 / 3, 29.0 / 3, 9, 7};
  for (size_t k = 0; k < rows.size(); ++k) EXPECT_NEAR(rows[k], expected[k], 1e-14) << k;
  // Largest position exactly max_len: p' = p * 3 / 4 -> 1.5 (half W1, half W2), 3.
  rows = learned_table(*enc, {2, 4}, 2);
  expected = {2.5, 8.5, 9, 7};
  for (size_t k = 0; k < rows.size(); ++k) EXPECT_NEAR(rows[k], expected[k], 1e-15) << k;
  // Largest position < max_len: positions are used as they are (no scaling).
  rows = learned_table(*enc, {1, 2}, 2);
  EXPECT_EQ(rows, (std::vector<double>{1, 9, 4, 8}));
}

TEST_F(LearnedFileTest, InterpolateWithOneRowReturnsThatRow) {
  auto enc = build({{"max_len", 1},
                    {"init", "file"},
                    {"path", write_table("w1.npy", {1, 2}, {0.25, -4})},
                    {"out_of_range", "interpolate"}});
  EXPECT_EQ(learned_table(*enc, {0, 5, 1000}, 2),
            (std::vector<double>{0.25, -4, 0.25, -4, 0.25, -4}));
}

TEST(Learned, FileInitWithoutPathIsAnErrorNamingPath) {
  std::vector<Problem> problems;
  auto enc = build({{"max_len", 8}, {"init", "file"}}, &problems);
  EXPECT_FALSE(enc);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.path");
  EXPECT_NE(problems[0].message.find("init = \"file\""), std::string::npos) << problems[0].message;
  // A path with the normal init would be silently ignored: also an error.
  enc = build({{"max_len", 8}, {"path", "w.npy"}}, &problems);
  EXPECT_FALSE(enc);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.path");
}

TEST(Learned, DeclaredParamsAreChecked) {
  std::vector<Problem> problems;
  EXPECT_FALSE(build(json::object(), &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.max_len");
  EXPECT_FALSE(build({{"max_len", 0}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.max_len");
  EXPECT_FALSE(build({{"max_len", 4}, {"std", 0}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.std");
  EXPECT_FALSE(build({{"max_len", 4}, {"seed", -1}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.seed");
  EXPECT_FALSE(build({{"max_len", 4}, {"out_of_range", "wrap"}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.out_of_range");
}

TEST_F(LearnedFileTest, FileShapeMismatchesNamePath) {
  std::vector<Problem> problems;
  // max_len mismatch: at construction.
  const std::string w4 = small_table();
  EXPECT_FALSE(build({{"max_len", 5}, {"init", "file"}, {"path", w4}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.path");
  EXPECT_NE(problems[0].message.find("max_len is 5"), std::string::npos) << problems[0].message;
  // Not 2-D.
  const std::string flat = write_table("flat.npy", {8}, std::vector<double>(8, 1.0));
  EXPECT_FALSE(build({{"max_len", 8}, {"init", "file"}, {"path", flat}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.path");
  EXPECT_NE(problems[0].message.find("(8,)"), std::string::npos) << problems[0].message;
  // Missing file and unreadable content: the .npy error, under params.path.
  EXPECT_FALSE(
      build({{"max_len", 4}, {"init", "file"}, {"path", (dir_ / "nope.npy").string()}}, &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "enc.params.path");
  EXPECT_NE(problems[0].message.find("nope.npy"), std::string::npos) << problems[0].message;
  // d mismatch: from check_shape, naming "path".
  auto enc = build({{"max_len", 4}, {"init", "file"}, {"path", w4}});
  ASSERT_TRUE(enc);
  try {
    enc->check_shape(8, 1);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "path");
    EXPECT_NE(std::string(e.what()).find("d = 2"), std::string::npos) << e.what();
  }
  std::vector<double> out(8);
  const std::vector<int64_t> positions = {0};
  EXPECT_THROW(enc->additive_table(positions, 8, out.data()), UserError);
}

TEST(Learned, CheckShapeNeedsPositiveDim) {
  auto enc = build({{"max_len", 4}});
  EXPECT_NO_THROW(enc->check_shape(1, 1));
  try {
    enc->check_shape(0, 1);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "");
  }
}

TEST(Learned, IsRegisteredAsAdditiveVersion1) {
  const EncoderInfo& info = EncoderRegistry::instance().get("learned", "encoder");
  EXPECT_EQ(info.family, Family::additive);
  EXPECT_EQ(info.version, 1);
  auto enc = build({{"max_len", 4}});
  EXPECT_EQ(enc->family(), Family::additive);
}

}  // namespace
}  // namespace posbench
