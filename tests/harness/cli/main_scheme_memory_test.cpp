// The real binary and what a scheme owns (hardening issue, item 4): --max-memory covers the
// scheme's own weights (a learned table of 40 million rows is refused at once, exit 2, instead
// of running for minutes at 5.7 GB); `validate` judges weight files by their headers and never
// reads them (a 128 GiB file is refused by size, a file with NaN data is "valid" and refused by
// `run` with its JSON path). Every case
// leaves no file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <string>

#include "encoders/npy.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::has;

class SchemeMemoryCli : public test::BinaryTest {
 protected:
  SchemeMemoryCli() : BinaryTest("posbench-scheme-memory-test") {}

  // A quick property experiment on one learned table.
  void config_with_learned(const std::string& learned_params) {
    write("c.json", R"({"experiments": [{"type": "offset_linearity", "dim": 16,
        "positions": 32, "offsets": [1], "encoders": [{"name": "learned", "params": )" +
                        learned_params + "}]}]}");
  }
};

TEST_F(SchemeMemoryCli, ALearnedTableAboveTheLimitIsRefusedBeforeAnythingRuns) {
  config_with_learned(R"({"max_len": 40000000})");  // 40e6 x 16 x 8 B = 4.8 GiB
  for (const std::string cmd : {"validate c.json", "run c.json -o r.json"}) {
    SCOPED_TRACE(cmd);
    const auto r = run("--max-memory 64M " + cmd);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "experiments[0].encoders[0]: would need 4.8 GiB")) << r.err;
    EXPECT_TRUE(has(r.err, "the scheme's own weights and tables 4.8 GiB")) << r.err;
    EXPECT_TRUE(has(r.err, "above the memory limit 64.0 MiB")) << r.err;
    EXPECT_FALSE(fs::exists(work() / "r.json"));
  }
}

TEST_F(SchemeMemoryCli, ATrillionRowTableIsAUserErrorNotACrash) {
  config_with_learned(R"({"max_len": 1000000000000})");
  const auto r = run("run c.json -o r.json");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "experiments[0].encoders[0]: would need")) << r.err;
  EXPECT_FALSE(fs::exists(work() / "r.json"));
}

TEST_F(SchemeMemoryCli, AWeightFileIsJudgedByItsHeaderNotRead) {
  // 128 GiB declared (2^31 rows x 16 float32), a hole on disk: reading it would take minutes.
  const int64_t rows = int64_t(1) << 31;
  test::write_sparse_npy(work() / "w.npy", {rows, 16});
  config_with_learned(R"({"max_len": 2147483648, "init": "file", "path": "w.npy"})");
  const auto r = run("validate c.json");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "experiments[0].encoders[0]: would need")) << r.err;
  EXPECT_TRUE(has(r.err, "the scheme's own weights and tables 384.0 GiB")) << r.err;
}

TEST_F(SchemeMemoryCli, ValidateNeverReadsWeightsAndRunRefusesBadOnes) {
  // A correct header over data holding a NaN: only reading the data finds it.
  NpyArray a;
  a.shape = {32, 16};
  a.f64.assign(32 * 16, 0.25);
  a.f64[40] = std::numeric_limits<double>::quiet_NaN();
  write_npy(work() / "w.npy", a);
  config_with_learned(R"({"max_len": 32, "init": "file", "path": "w.npy"})");
  const auto v = run("validate c.json");
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_TRUE(has(v.out, "valid")) << v.out;
  const auto r = run("run c.json -o r.json");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "experiments[0].encoders[0].params.path: w.npy")) << r.err;
  EXPECT_TRUE(has(r.err, "element at flat index 40 (C order) is NaN")) << r.err;
  EXPECT_FALSE(fs::exists(work() / "r.json"));
}

TEST_F(SchemeMemoryCli, ApplyCountsTheSchemesWeights) {
  NpyArray x;
  x.shape = {4, 16};
  x.f64.assign(64, 1.0);
  write_npy(work() / "x.npy", x);
  const auto r =
      run("--max-memory 64M apply learned --input x.npy --output y.npy --params "
          "'{\"max_len\": 40000000}'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "would need about 4.8 GiB")) << r.err;
  EXPECT_FALSE(fs::exists(work() / "y.npy"));
}

}  // namespace
}  // namespace posbench
