// The real binary (POSBENCH_BINARY): --force for run -o and apply (and the refusal without it,
// which names --force), --version, the parameters `list` prints, counts in the right number, an
// error about a value the user did not write saying it was the default, and `validate` reporting
// ALiBi's slopes together with the experiment's own errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/registry.h"
#include "harness/report/json.h"
#include "harness/run/context.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::has;
using test::read_file;
using Result = test::BinaryResult;

const char* kOneExperiment = R"({
  "name": "one",
  "experiments": [{"type": "symmetry", "dim": 8, "positions": 16, "samples": 2,
                   "encoders": [{"name": "rope"}]}]
})";

class CliOptions : public test::BinaryTest {
 protected:
  CliOptions() : BinaryTest("posbench-cli-options-test") {}

  // No temporary file of an atomic write is left in work().
  void expect_no_temporaries() const {
    for (const auto& e : fs::directory_iterator(work()))
      EXPECT_FALSE(has(e.path().filename().string(), ".tmp-")) << e.path();
  }
};

TEST_F(CliOptions, RunOutputIsReplacedOnlyWithForce) {
  write("one.json", kOneExperiment);
  write("out.json", "old results\n");
  const Result refused = run("run one.json -o out.json --threads 1");
  EXPECT_EQ(refused.code, 2);
  EXPECT_TRUE(has(refused.err, "-o: out.json: already exists")) << refused.err;
  EXPECT_TRUE(has(refused.err, "pass --force to replace it")) << refused.err;
  EXPECT_EQ(read_file(work() / "out.json"), "old results\n");

  const Result forced = run("run one.json -o out.json --threads 1 --force");
  ASSERT_EQ(forced.code, 0) << forced.err;
  const json doc = json::parse(read_file(work() / "out.json"));
  EXPECT_EQ(doc["schema_version"], kResultsSchemaVersion);
  EXPECT_EQ(doc["experiments"][0]["type"], "symmetry");
  expect_no_temporaries();
}

TEST_F(CliOptions, ForceNeverReplacesADirectory) {
  write("one.json", kOneExperiment);
  fs::create_directories(work() / "out.json");
  const Result r = run("run one.json -o out.json --force");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "is a directory")) << r.err;
  EXPECT_TRUE(fs::is_directory(work() / "out.json"));
}

TEST_F(CliOptions, ApplyReplacesItsOutputOnlyWithForce) {
  NpyArray in;
  in.shape = {3, 4};
  in.f64 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  write_npy(work() / "in.npy", in);
  write("out.npy", "junk");
  const std::string args = "apply sinusoidal --input in.npy --output out.npy";
  const Result refused = run(args);
  EXPECT_EQ(refused.code, 2);
  EXPECT_TRUE(has(refused.err, "--force")) << refused.err;
  EXPECT_EQ(read_file(work() / "out.npy"), "junk");

  // Twice with --force (a loop over apply): each call replaces the file.
  for (int call = 0; call < 2; ++call) {
    const Result r = run(args + " --force");
    ASSERT_EQ(r.code, 0) << r.err;
    const NpyArray out = read_npy(work() / "out.npy");
    ASSERT_EQ(out.shape, in.shape);
    // Row 0 is position 0: PE(0) = (sin 0, cos 0, sin 0, cos 0) = (0, 1, 0, 1).
    EXPECT_DOUBLE_EQ(out.f64[0], 0 + 0.0);
    EXPECT_DOUBLE_EQ(out.f64[1], 1 + 1.0);
    EXPECT_DOUBLE_EQ(out.f64[2], 2 + 0.0);
    EXPECT_DOUBLE_EQ(out.f64[3], 3 + 1.0);
  }
  expect_no_temporaries();
}

TEST_F(CliOptions, VersionSaysVersionCommitCompilerInterfaceAndSchema) {
  const Result r = run("--version");
  ASSERT_EQ(r.code, 0) << r.err;
  const json ctx = run_context();
  EXPECT_TRUE(has(r.out, std::string("posbench ") + posbench_version() + "\n")) << r.out;
  EXPECT_TRUE(has(r.out, "git: " + ctx["git_describe"].get<std::string>())) << r.out;
  EXPECT_TRUE(has(r.out, "compiler: " + ctx["compiler"].get<std::string>())) << r.out;
  // Appended, not "literal" + std::string: GCC 12's -Warray-bounds false positive.
  std::string interface = "plugin interface version: ", schema = "results schema version: ";
  interface += std::to_string(kInterfaceVersion);
  schema += std::to_string(kResultsSchemaVersion);
  EXPECT_TRUE(has(r.out, interface)) << r.out;
  EXPECT_TRUE(has(r.out, schema)) << r.out;
}

TEST_F(CliOptions, ListShowsEveryParameterWithItsDefault) {
  const Result r = run("list");
  ASSERT_EQ(r.code, 0) << r.err;
  // The line after each entry lists its params.
  auto params_after = [&](const std::string& entry) {
    const size_t at = r.out.find("\n  " + entry + " ");
    if (at == std::string::npos) return std::string("<no entry " + entry + ">");
    const size_t line = r.out.find('\n', at + 1);
    return r.out.substr(line + 1, r.out.find('\n', line + 1) - line - 1);
  };
  const std::string rope = params_after("rope");
  EXPECT_TRUE(has(rope, "params: ")) << rope;
  EXPECT_TRUE(has(rope, "base=10000")) << rope;
  EXPECT_TRUE(has(rope, "layout=\"half\"")) << rope;
  const std::string symmetry = params_after("symmetry");
  EXPECT_TRUE(has(symmetry, "positions=")) << symmetry;
  EXPECT_TRUE(has(params_after("nope"), "params: ")) << r.out;

  const Result j = run("list --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const json doc = json::parse(j.out);
  for (const char* kind : {"encoders", "experiments"})
    for (const json& e : doc[kind]) {
      ASSERT_TRUE(e["params"].is_array()) << e["name"];
      for (const json& p : e["params"]) EXPECT_TRUE(p["name"].is_string()) << e["name"];
    }
}

TEST(CountOf, SingularForOnePluralOtherwise) {
  EXPECT_EQ(count_of(1, "experiment"), "1 experiment");
  EXPECT_EQ(count_of(0, "experiment"), "0 experiments");
  EXPECT_EQ(count_of(2, "encoder entry", "encoder entries"), "2 encoder entries");
  EXPECT_EQ(count_of(1, "encoder entry", "encoder entries"), "1 encoder entry");
}

TEST_F(CliOptions, ValidateCountsInTheRightNumber) {
  write("one.json", kOneExperiment);
  const Result r = run("validate one.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "one.json: valid (1 experiment, 1 encoder entry)")) << r.out;
}

TEST_F(CliOptions, AnErrorAboutADefaultSaysItWasTheDefault) {
  // offsets not given: the default [1, 2, 4, ...] has offsets >= positions = 8.
  write("off.json", R"({"experiments": [{"type": "offset_linearity", "positions": 8,
                        "encoders": [{"name": "rope"}]}]})");
  const Result r = run("validate off.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(
      has(r.err,
          "experiments[0].offsets: (default [1,2,4,8,16,64,256]; offsets was not given) offset 8"))
      << r.err;
  EXPECT_TRUE(has(r.err, "offsets was not given)")) << r.err;

  // Given explicitly, the same problem does not say "default".
  write("given.json", R"({"experiments": [{"type": "offset_linearity", "positions": 8,
                          "offsets": [1, 8], "encoders": [{"name": "rope"}]}]})");
  const Result g = run("validate given.json");
  EXPECT_EQ(g.code, 2);
  EXPECT_TRUE(has(g.err, "experiments[0].offsets: offset 8")) << g.err;
  EXPECT_FALSE(has(g.err, "default")) << g.err;
}

TEST_F(CliOptions, ValidateReportsAlibiSlopesWithTheExperimentsOwnErrors) {
  // Two problems at once: positions is out of range, and 2 slopes for heads = 4.
  write("alibi.json", R"({"experiments": [{"type": "offset_linearity", "positions": -3,
                          "heads": 4, "encoders": [{"name": "alibi",
                          "params": {"slopes": [0.5, 0.25]}}]}]})");
  const Result r = run("validate alibi.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "alibi.json: 2 problems")) << r.err;
  EXPECT_TRUE(has(r.err, "experiments[0].positions: got -3")) << r.err;
  EXPECT_TRUE(has(r.err, "experiments[0].encoders[0].params.slopes:")) << r.err;
  EXPECT_TRUE(has(r.err, "checked with the default positions")) << r.err;
}

}  // namespace
}  // namespace posbench
