// `posbench apply rope --hf-config FILE` through the real binary: the output is byte for byte
// the output of `--params` with the same values written out by hand, --params override the
// file, problems name --hf-config with the file and the JSON path in it (exit 2), and
// `describe rope` lists HuggingFace's names of rope's params.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/rng.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;

const fs::path kHfDir = fs::path(POSBENCH_SOURCE_DIR) / "configs" / "hf";

class ApplyHfConfig : public test::BinaryTest {
 protected:
  ApplyHfConfig() : BinaryTest("posbench-apply-hf-test") {}

  // A [rows, 2, head_dim] float64 array of uniform draws in work()/name.
  void write_input(const std::string& name, int64_t rows, int64_t head_dim) {
    NpyArray a;
    a.dtype = NpyDtype::float64;
    a.shape = {rows, 2, head_dim};
    Rng rng(7, "apply-hf-test");
    for (int64_t i = 0; i < rows * 2 * head_dim; ++i) a.f64.push_back(rng.uniform() - 0.5);
    write_npy(work() / name, a);
  }

  // Runs apply; expects success and returns the output file's bytes.
  std::string apply(const std::string& options, const std::string& output) {
    const auto r = run("apply rope --input in.npy --output " + output + " " + options);
    EXPECT_EQ(r.code, 0) << r.err;
    return test::read_file(work() / output);
  }
};

TEST_F(ApplyHfConfig, SameOutputAsTheEquivalentParams) {
  // Llama 3.1 (llama3 scaling), relative to the current directory, past the original context.
  fs::copy_file(kHfDir / "llama-3.1-8b.json", work() / "llama.json");
  write_input("in.npy", 8, 128);
  const std::string from_file = apply("--hf-config llama.json --offset 20000", "a.npy");
  const std::string by_hand = apply(
      "--offset 20000 --params '{\"base\": 500000, \"max_position_embeddings\": 131072, "
      "\"scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, "
      "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}'",
      "b.npy");
  ASSERT_FALSE(from_file.empty());
  EXPECT_EQ(from_file, by_hand);
  // The input itself differs from both (the rotation did something).
  EXPECT_NE(from_file, test::read_file(work() / "in.npy"));
  // --params override the file: without scaling it is plain RoPE at the file's base.
  EXPECT_EQ(apply("--hf-config llama.json --offset 20000 --params '{\"scaling\": null}'", "c.npy"),
            apply("--offset 20000 --params '{\"rope_theta\": 500000}'", "d.npy"));
  EXPECT_NE(apply("--offset 20000 --params '{\"base\": 500000}'", "e.npy"), from_file);
}

TEST_F(ApplyHfConfig, LongRopeUsesTheTopLevelOriginalContext) {
  write_input("in.npy", 4, 96);
  const std::string file = (kHfDir / "phi-3.5-mini-instruct.json").string();
  const nlohmann::json phi = nlohmann::json::parse(test::read_file(file));
  nlohmann::json scaling = phi["rope_scaling"];
  scaling.erase("type");
  scaling["rope_type"] = "longrope";
  scaling["original_max_position_embeddings"] = 4096;
  const nlohmann::json params = {
      {"base", 10000}, {"max_position_embeddings", 131072}, {"scaling", scaling}};
  for (const char* offset : {"100", "6000"}) {  // short factors, then long ones
    const std::string o(offset);
    EXPECT_EQ(
        apply("--hf-config " + test::quoted(file) + " --offset " + o, "f" + o + ".npy"),
        apply("--offset " + o + " --params " + test::quoted(params.dump()), "g" + o + ".npy"));
  }
}

TEST_F(ApplyHfConfig, ProblemsNameTheOptionTheFileAndThePathInIt) {
  fs::copy_file(kHfDir / "llama-3.1-8b.json", work() / "llama.json");
  write_input("in.npy", 2, 64);
  auto r = run("apply rope --input in.npy --output o.npy --hf-config llama.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "posbench: error: --hf-config: llama.json: hidden_size / num_attention_heads: the "
            "model's head_dim is 128, but rope is asked for head_dim 64 (the experiment's dim, "
            "or the last axis of apply's array); the frequencies base^(-2i/d') and any per-pair "
            "factors depend on it: expected head_dim 128, or give \"head_dim\": null in params "
            "to use these settings at another head_dim\n");
  EXPECT_FALSE(fs::exists(work() / "o.npy"));
  // Lifting the check with --params applies the file's settings at head_dim 64.
  r =
      run("apply rope --input in.npy --output o.npy --hf-config llama.json --params "
          "'{\"head_dim\": null}'");
  EXPECT_EQ(r.code, 0) << r.err;
  r = run("apply rope --input in.npy --output p.npy --hf-config nope.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "posbench: error: --hf-config: nope.json: no such file; expected a HuggingFace "
            "config.json\n");
  write("bad.json",
        R"({"rope_theta": 1e4, "rope_scaling": {"rope_type": "linear", "factor": -1}})");
  r = run("apply rope --input in.npy --output p.npy --hf-config bad.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(test::has(r.err,
                        "posbench: error: --hf-config: bad.json: rope_scaling.factor: got "
                        "-1, expected a number >= 1"))
      << r.err;
  r = run("apply xpos --input in.npy --output p.npy --hf-config llama.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(test::has(r.err, "--hf-config: is read for rope only")) << r.err;
  EXPECT_FALSE(fs::exists(work() / "p.npy"));
}

TEST_F(ApplyHfConfig, DescribeListsHuggingFaceNames) {
  const auto r = run("describe rope");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(test::has(r.out, "also accepted as: rope_theta")) << r.out;
  EXPECT_TRUE(test::has(r.out, "also accepted as: partial_rotary_factor")) << r.out;
  EXPECT_TRUE(test::has(r.out, "also accepted as: rope_scaling, rope_parameters")) << r.out;
  const auto j = run("describe rope --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const auto described = nlohmann::json::parse(j.out);
  EXPECT_EQ(described["params"][0]["name"], "base");
  EXPECT_EQ(described["params"][0]["aliases"], nlohmann::json({"rope_theta"}));
}

}  // namespace
}  // namespace posbench
