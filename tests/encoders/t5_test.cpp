// T5 relative bias (Raffel et al. 2020): b_h(i, j) = T[bucket(j - i), h] with HuggingFace's
// T5Attention._relative_position_bucket, checked two ways: against a transcription of the
// HuggingFace function written here (torch ops on float32 spelled out), and against buckets
// computed by hand from the formula for chosen distances.
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

// HuggingFace (modeling_t5.py), for one element:
//   relative_buckets = 0
//   if bidirectional:
//       num_buckets //= 2
//       relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
//       relative_position = torch.abs(relative_position)
//   else:
//       relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
//   max_exact = num_buckets // 2
//   is_small = relative_position < max_exact
//   relative_position_if_large = max_exact + (
//       torch.log(relative_position.float() / max_exact)
//       / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
//   relative_position_if_large = torch.min(relative_position_if_large,
//                                          torch.full_like(..., num_buckets - 1))
//   relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
int64_t hf_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets,
                  int64_t max_distance) {
  int64_t relative_buckets = 0;
  if (bidirectional) {
    num_buckets = num_buckets / 2;  // Python // on positive ints
    relative_buckets += (relative_position > 0 ? 1 : 0) * num_buckets;
    relative_position = std::llabs(relative_position);
  } else {
    relative_position = -std::min<int64_t>(relative_position, 0);
  }
  const int64_t max_exact = num_buckets / 2;
  const bool is_small = relative_position < max_exact;
  int64_t if_large = 0;
  if (!is_small) {
    const float as_float = static_cast<float>(relative_position);    // .float()
    const float divided = as_float / static_cast<float>(max_exact);  // tensor / int
    const float logged = logf(divided);                              // torch.log (float32)
    const double py_log = std::log(double(max_distance) / double(max_exact));  // math.log
    const float scaled = logged / static_cast<float>(py_log) *                 // tensor / float
                         static_cast<float>(num_buckets - max_exact);          // tensor * int
    if_large = max_exact + static_cast<int64_t>(scaled);                       // .to(torch.long)
    if_large = std::min(if_large, num_buckets - 1);
  }
  return relative_buckets + (is_small ? relative_position : if_large);
}

using test::TempDir;

std::string write_table(const TempDir& dir, const std::string& name, int64_t rows, int64_t cols,
                        double (*value)(int64_t, int64_t)) {
  NpyArray a;
  a.dtype = NpyDtype::float64;
  a.shape = {rows, cols};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) a.f64.push_back(value(r, c));
  const fs::path file = dir / name;
  write_npy(file, a);
  return file.string();
}

// T[b, h] = 1000 h + b: the bias value names its bucket and head.
double coded(int64_t b, int64_t h) { return 1000.0 * double(h) + double(b); }

std::unique_ptr<Encoder> make_t5(const json& given) { return test::make_scheme("t5", given); }

// The param a bad `given` (or, with heads > 0, that many heads) is reported against.
std::string param_error(const json& given, int64_t heads = 0) {
  return test::param_error("t5", given, heads > 0 ? std::optional<int64_t>(heads) : std::nullopt);
}

// Bucket of the distance key - query as seen through bias(): query at 1000, key at 1000 + rel.
int64_t bucket_via_bias(const Encoder& enc, int64_t rel, int64_t heads) {
  const std::vector<int64_t> q = {1000}, k = {1000 + rel};
  std::vector<double> b(heads);
  enc.bias(q, k, heads, b.data());
  for (int64_t h = 0; h < heads; ++h) EXPECT_EQ(b[h] - b[0], 1000.0 * double(h)) << rel;
  return int64_t(b[0]);
}

TEST(T5, HandComputedBucketsBidirectional) {
  // num_buckets 32 -> 16 per direction, max_exact 8, log buckets 8..15 up to distance 128:
  // bucket(r) = 8 + trunc(ln(r/8) / ln 16 * 8) for 8 <= r, clamped to 15; keys after the query
  // (rel > 0) add 16.
  TempDir dir;
  const std::string path = write_table(dir, "t.npy", 32, 2, coded);
  auto enc = make_t5({{"init", "file"}, {"path", path}});
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {0, 0},    {-1, 1},   {-7, 7},   {-8, 8},    {-15, 9},   {-16, 10},   {-31, 11},
      {-32, 12}, {-63, 13}, {-64, 14}, {-127, 15}, {-128, 15}, {-1000, 15}, {1, 17},
      {7, 23},   {8, 24},   {16, 26},  {64, 30},   {127, 31},  {128, 31},   {100000, 31},
  };
  for (auto [rel, bucket] : expected) {
    EXPECT_EQ(hf_bucket(rel, true, 32, 128), bucket) << "rel=" << rel;
    EXPECT_EQ(bucket_via_bias(*enc, rel, 2), bucket) << "rel=" << rel;
  }
}

TEST(T5, HandComputedBucketsUnidirectional) {
  // num_buckets 32, max_exact 16, log buckets 16..31: bucket(r) = 16 + trunc(ln(r/16) / ln 8 * 16);
  // keys after the query (rel > 0) all fall in bucket 0.
  TempDir dir;
  const std::string path = write_table(dir, "t.npy", 32, 3, coded);
  auto enc = make_t5({{"init", "file"}, {"path", path}, {"bidirectional", false}});
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {1, 0},    {5, 0},    {1000, 0}, {0, 0},    {-1, 1},   {-15, 15},  {-16, 16},  {-17, 16},
      {-20, 17}, {-32, 21}, {-45, 23}, {-64, 26}, {-90, 29}, {-127, 31}, {-128, 31}, {-100000, 31},
  };
  for (auto [rel, bucket] : expected) {
    EXPECT_EQ(hf_bucket(rel, false, 32, 128), bucket) << "rel=" << rel;
    EXPECT_EQ(bucket_via_bias(*enc, rel, 3), bucket) << "rel=" << rel;
  }
}

TEST(T5, BucketsMatchHuggingFaceForEveryDistance) {
  struct Cfg {
    int64_t num_buckets, max_distance;
  };
  for (Cfg cfg : {Cfg{32, 128}, Cfg{16, 64}, Cfg{64, 256}, Cfg{8, 20}, Cfg{33, 100}}) {
    for (bool bidirectional : {true, false}) {
      SCOPED_TRACE(std::to_string(cfg.num_buckets) + "/" + std::to_string(cfg.max_distance) +
                   (bidirectional ? " bidirectional" : " causal"));
      TempDir dir;
      const std::string path = write_table(dir, "t.npy", cfg.num_buckets, 1, coded);
      auto enc = make_t5({{"init", "file"},
                          {"path", path},
                          {"num_buckets", cfg.num_buckets},
                          {"max_distance", cfg.max_distance},
                          {"bidirectional", bidirectional}});
      // One bias call over a grid: q in [0, 300), k in [0, 300) covers rel in (-300, 300).
      std::vector<int64_t> pos(300);
      for (int64_t t = 0; t < 300; ++t) pos[t] = t;
      std::vector<double> b(pos.size() * pos.size());
      enc->bias(pos, pos, 1, b.data());
      for (size_t i = 0; i < pos.size(); ++i)
        for (size_t j = 0; j < pos.size(); ++j) {
          const int64_t rel = pos[j] - pos[i];  // memory - query
          const int64_t want = hf_bucket(rel, bidirectional, cfg.num_buckets, cfg.max_distance);
          ASSERT_GE(want, 0);
          ASSERT_LT(want, cfg.num_buckets);
          ASSERT_EQ(b[i * pos.size() + j], double(want)) << "q=" << pos[i] << " k=" << pos[j];
        }
    }
  }
}

TEST(T5, FileTableIsIndexedPerHead) {
  TempDir dir;
  const std::string path = write_table(dir, "t.npy", 32, 4, coded);
  auto enc = make_t5({{"init", "file"}, {"path", path}});
  EXPECT_TRUE(enc->bias_is_relative());
  EXPECT_EQ(enc->family(), Family::bias);
  const std::vector<int64_t> q = {0, 10, 50}, k = {0, 3, 11, 200};
  const int64_t heads = 4;
  std::vector<double> b(heads * q.size() * k.size());
  enc->bias(q, k, heads, b.data());
  for (int64_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < q.size(); ++i)
      for (size_t j = 0; j < k.size(); ++j)
        EXPECT_EQ(b[(h * q.size() + i) * k.size() + j],
                  coded(hf_bucket(k[j] - q[i], true, 32, 128), h));
  // Spot values: q 10, k 11 -> rel +1 -> bucket 17; q 50, k 3 -> rel -47 -> 8 + trunc(5.11) = 13.
  EXPECT_EQ(b[(2 * q.size() + 1) * k.size() + 2], 2017.0);
  EXPECT_EQ(b[(1 * q.size() + 2) * k.size() + 1], 1013.0);
}

TEST(T5, NormalInitIsSeededAndDocumented) {
  // T[b, h] = std * z_{b * heads + h}, z from Rng(seed, "t5/table").
  const int64_t heads = 3;
  auto enc = make_t5({{"seed", 5}, {"std", 0.5}});
  const std::vector<double> z = Rng(5, "t5/table").normal_vector(32 * heads, 0.5);
  std::vector<int64_t> pos(200);
  for (int64_t t = 0; t < 200; ++t) pos[t] = t;
  std::vector<double> b(heads * pos.size() * pos.size());
  enc->bias(pos, pos, heads, b.data());
  for (int64_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < pos.size(); i += 7)
      for (size_t j = 0; j < pos.size(); j += 3) {
        const int64_t bucket = hf_bucket(pos[j] - pos[i], true, 32, 128);
        EXPECT_EQ(b[(h * pos.size() + i) * pos.size() + j], z[bucket * heads + h]);
      }
  // Same seed, same numbers; another seed, other numbers.
  auto again = make_t5({{"seed", 5}, {"std", 0.5}});
  auto other = make_t5({{"seed", 6}, {"std", 0.5}});
  const std::vector<int64_t> q = {0}, k = {4};
  std::vector<double> b1(heads), b2(heads), b3(heads);
  enc->bias(q, k, heads, b1.data());
  again->bias(q, k, heads, b2.data());
  other->bias(q, k, heads, b3.data());
  EXPECT_EQ(b1, b2);
  EXPECT_NE(b1, b3);
}

TEST(T5, ParamErrorsNameTheParameter) {
  TempDir dir;
  const std::string path = write_table(dir, "t.npy", 32, 4, coded);
  // heads must match the file's columns.
  EXPECT_EQ(param_error({{"init", "file"}, {"path", path}}, 8), "path");
  EXPECT_EQ(param_error({{"init", "file"}, {"path", path}}, 4), "<no error>");
  // num_buckets must match the file's rows.
  EXPECT_EQ(param_error({{"init", "file"}, {"path", path}, {"num_buckets", 16}}), "path");
  EXPECT_EQ(param_error({{"init", "file"}}), "path");
  EXPECT_EQ(param_error({{"path", path}}), "path");  // path without init = "file"
  EXPECT_EQ(param_error({{"init", "file"}, {"path", (dir / "missing.npy").string()}}), "path");
  // Degenerate bucket layouts that would divide by zero in HuggingFace's formula.
  EXPECT_EQ(param_error({{"num_buckets", 3}}), "num_buckets");  // 1 per direction: max_exact 0
  EXPECT_EQ(param_error({{"num_buckets", 4}, {"max_distance", 8}}), "<no error>");
  EXPECT_EQ(param_error({{"num_buckets", 32}, {"max_distance", 8}}), "max_distance");
  EXPECT_EQ(param_error({{"num_buckets", 32}, {"max_distance", 9}}), "<no error>");
  EXPECT_EQ(param_error({{"num_buckets", 32}, {"max_distance", 16}, {"bidirectional", false}}),
            "max_distance");
  EXPECT_EQ(param_error({{"num_buckets", 2}, {"max_distance", 2}, {"bidirectional", false}}),
            "<no error>");
}

}  // namespace
}  // namespace posbench
