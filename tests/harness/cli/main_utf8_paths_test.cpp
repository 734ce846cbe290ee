// Paths that are not UTF-8 (hardening issue, item 7): posbench records paths in JSON (results,
// `list --json`, plugin sources), which holds only UTF-8, so such a path used to fail with
// nlohmann's type_error.316 after a whole run. Every path the user gives is now checked before
// anything runs: exit 2, naming the argument and the bad bytes, no file left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "encoders/npy.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::has;

class Utf8Paths : public test::BinaryTest {
 protected:
  Utf8Paths() : BinaryTest("posbench-utf8-paths-test") {}

  // Every entry of work(), recursively.
  size_t entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(work())) ++n;
    return n;
  }
};

// "caf\xe9" is Latin-1 for "café": a valid file name on Linux, invalid UTF-8.
const std::string kLatin1 = "caf\xe9";

TEST_F(Utf8Paths, EveryUserGivenPathIsCheckedBeforeAnythingRuns) {
  const std::string config = R"({"experiments": [{"type": "symmetry", "dim": 8,
      "positions": 16, "encoders": [{"name": "sinusoidal"}]}]})";
  write(kLatin1 + ".json", config);
  write("ok.json", config);
  NpyArray x;
  x.shape = {2, 8};
  x.f64.assign(16, 1.0);
  write_npy(work() / (kLatin1 + ".npy"), x);
  write_npy(work() / "x.npy", x);
  fs::create_directories(work() / kLatin1);

  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"validate " + kLatin1 + ".json", "CONFIG: path 'caf\\xe9.json' is not valid UTF-8"},
      {"run " + kLatin1 + ".json -o r.json", "CONFIG: path 'caf\\xe9.json' is not valid UTF-8"},
      {"run ok.json -o " + kLatin1 + "/r.json", "-o: path 'caf\\xe9/r.json' is not valid UTF-8"},
      {"apply sinusoidal --input " + kLatin1 + ".npy --output y.npy",
       "--input: path 'caf\\xe9.npy' is not valid UTF-8"},
      {"apply sinusoidal --input x.npy --output " + kLatin1 + "/y.npy",
       "--output: path 'caf\\xe9/y.npy' is not valid UTF-8"},
      {"--plugin " + kLatin1 + ".json list --json", "is not valid UTF-8"},
  };
  const size_t before = entries();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, c.expected)) << r.err;
    EXPECT_FALSE(has(r.err, "type_error")) << r.err;
    EXPECT_EQ(entries(), before) << "a file was left behind";
  }
}

TEST_F(Utf8Paths, TheCheckAcceptsUtf8NamesBeyondAscii) {
  // "café" in UTF-8 is fine: the check is about encoding, not about ASCII.
  write("caf\xc3\xa9.json", R"({"experiments": [{"type": "symmetry", "dim": 8,
      "positions": 16, "encoders": [{"name": "sinusoidal"}]}]})");
  const auto r = run("validate caf\xc3\xa9.json");
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace posbench
