// Schemes with weights (learned, t5, fire; encoders/weight_init.h): their factories read only
// the headers of their weight files, so `validate` never loads weights; load() reads the data
// (and refuses NaN, or a file that changed since its header was checked); memory_bytes() states
// what the scheme keeps, from parameters and headers alone, so the memory guard can refuse a
// run before anything is allocated. Also LoadedOnce, the once-only holder they share.
#include "encoders/weight_init.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::has;
using test::make_scheme;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class WeightFiles : public ::testing::Test {
 protected:
  // A float64 .npy of `shape` holding 0.5, 1.5, ... (or NaN at flat index `nan_at`).
  fs::path table(const std::string& name, std::vector<int64_t> shape, int64_t nan_at = -1) {
    NpyArray a;
    a.shape = std::move(shape);
    for (int64_t i = 0; i < a.size(); ++i) a.f64.push_back(i == nan_at ? kNaN : double(i) + 0.5);
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    write_npy(p, a);
    return p;
  }

  // What load() says (its UserError's param and message), or "<loaded>".
  static std::string load_error(const Encoder& enc) {
    try {
      enc.load();
    } catch (const UserError& e) {
      return e.path() + ": " + e.message();
    }
    return "<loaded>";
  }

  test::TempDir dir_{"posbench-weights"};
};

TEST_F(WeightFiles, LearnedReadsOnlyTheHeaderUntilLoad) {
  const fs::path p = table("w.npy", {4, 3}, /*nan_at=*/7);
  // Built without reading the data: the NaN is not seen yet.
  auto enc = make_scheme("learned", {{"max_len", 4}, {"init", "file"}, {"path", p.string()}});
  EXPECT_NO_THROW(enc->check_shape(3, 1));
  // Kept: the float64 table (12 x 8 bytes) plus the read buffer (12 x 8 bytes, float64 file).
  EXPECT_EQ(enc->memory_bytes(3, 1), 12u * 8 + 12u * 8);
  const std::string err = load_error(*enc);
  EXPECT_TRUE(has(err, "path: ")) << err;
  EXPECT_TRUE(has(err, "element at flat index 7 (C order) is NaN")) << err;
  // An operation loads on first use, and fails the same way.
  std::vector<double> out(3);
  const std::vector<int64_t> pos = {0};
  EXPECT_THROW(enc->additive_table(pos, 3, out.data()), UserError);
}

TEST_F(WeightFiles, LearnedLoadsTheTableItChecked) {
  const fs::path p = table("w.npy", {2, 3});
  auto enc = make_scheme("learned", {{"max_len", 2}, {"init", "file"}, {"path", p.string()}});
  EXPECT_EQ(load_error(*enc), "<loaded>");
  std::vector<double> out(6);
  const std::vector<int64_t> pos = {1, 0};
  enc->additive_table(pos, 3, out.data());
  EXPECT_EQ(out, (std::vector<double>{3.5, 4.5, 5.5, 0.5, 1.5, 2.5}));
}

TEST_F(WeightFiles, AFileChangedAfterItsHeaderWasCheckedIsRefusedAtLoad) {
  const fs::path p = table("w.npy", {4, 3});
  auto enc = make_scheme("learned", {{"max_len", 4}, {"init", "file"}, {"path", p.string()}});
  fs::remove(p);
  table("w.npy", {4, 2});  // same rows, fewer columns
  const std::string err = load_error(*enc);
  EXPECT_TRUE(has(err, "path: ")) << err;
  EXPECT_TRUE(has(err, "(4, 2)")) << err;
}

TEST_F(WeightFiles, AHugeFileIsJudgedByItsHeaderAlone) {
  // 2^27 rows x 64 float32 = 32 GiB declared, none of it on disk; building must not read it.
  const int64_t rows = int64_t(1) << 27;
  const fs::path p = test::write_sparse_npy(dir_ / "huge.npy", {rows, 64});
  auto enc = make_scheme("learned", {{"max_len", rows}, {"init", "file"}, {"path", p.string()}});
  const uint64_t elements = uint64_t(rows) * 64;
  EXPECT_EQ(enc->memory_bytes(64, 1), elements * 4 + elements * 8);
}

TEST_F(WeightFiles, DrawnTablesCountEveryEntry) {
  auto learned = make_scheme("learned", {{"max_len", 1000}});
  EXPECT_EQ(learned->memory_bytes(64, 8), 1000u * 64 * 8);
  auto t5 = make_scheme("t5", {{"num_buckets", 32}});
  EXPECT_EQ(t5->memory_bytes(0, 12), 32u * 12 * 8);
  auto fire = make_scheme("fire", {{"hidden", 16}});
  // W1, b1 [16]; W2 [heads, 16]; b2 [heads]
  EXPECT_EQ(fire->memory_bytes(0, 4), (16u + 16 + 4 * 16 + 4) * 8);
  // max_len 1e12 rows of 64 doubles: the count saturates rather than wrapping around.
  auto vast = make_scheme("learned", {{"max_len", int64_t(1) << 62}});
  EXPECT_EQ(vast->memory_bytes(64, 1), UINT64_MAX);
}

TEST_F(WeightFiles, T5ReadsOnlyTheHeaderUntilLoad) {
  const fs::path p = table("t5.npy", {32, 2}, /*nan_at=*/5);
  auto enc = make_scheme("t5", {{"init", "file"}, {"path", p.string()}});
  EXPECT_NO_THROW(enc->check_shape(0, 2));
  EXPECT_EQ(enc->memory_bytes(0, 2), 64u * 8 * 2);
  const std::string err = load_error(*enc);
  EXPECT_TRUE(has(err, "path: ")) << err;
  EXPECT_TRUE(has(err, "flat index 5 (C order) is NaN")) << err;
}

TEST_F(WeightFiles, FireReadsOnlyTheHeadersUntilLoad) {
  const fs::path dir = dir_ / "fire";
  table("fire/w1.npy", {8});
  table("fire/b1.npy", {8});
  table("fire/w2.npy", {3, 8});
  table("fire/b2.npy", {3}, /*nan_at=*/2);
  auto enc = make_scheme("fire", {{"hidden", 8}, {"init", "file"}, {"path", dir.string()}});
  EXPECT_NO_THROW(enc->check_shape(0, 3));
  EXPECT_EQ(enc->memory_bytes(0, 3), (8u + 8 + 24 + 3) * 8 * 2);
  const std::string err = load_error(*enc);
  EXPECT_TRUE(has(err, "b2.npy")) << err;
  EXPECT_TRUE(has(err, "is NaN")) << err;
}

TEST(LoadedOnce, MakesOnceAndTriesAgainAfterAFailure) {
  LoadedOnce<int> once;
  int calls = 0;
  EXPECT_THROW(once.get([&]() -> int {
    ++calls;
    throw std::runtime_error("file gone");
  }),
               std::runtime_error);
  EXPECT_EQ(*once.get([&] { return ++calls * 10; }), 20);
  EXPECT_EQ(*once.get([&] { return ++calls * 10; }), 20);  // kept, make() not called again
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace posbench
