// HuggingFace config.json as an encoder entry's params (harness/run/hf_config.h): each shipped
// file under configs/hf/ resolves to the params worked out by hand from the model's published
// numbers, the resolved config records what was read, the frequencies of the Llama 3.1 file
// match llama3's piecewise formula written out here in float64, other HF layouts (transformers
// v5's rope_parameters, DeepSeek's qk_rope_head_dim and rope_interleave) map as documented, and
// the shipped study config validates.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "harness/run/config.h"
#include "harness/run/hf_config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::problems_text;

const fs::path kHfDir = fs::path(POSBENCH_SOURCE_DIR) / "configs" / "hf";

struct Built {
  EncoderInstance inst;
  EntrySource source;
  std::vector<Problem> problems;
};

// One encoder entry, relative paths taken from `base_dir`.
Built build(const json& entry, const fs::path& base_dir = kHfDir) {
  Built b;
  Diagnostics diag;
  b.inst = build_encoder(entry, "e", diag, base_dir, &b.source);
  b.problems = diag.problems();
  return b;
}

std::vector<double> cos_at(const Encoder& enc, int64_t position, int64_t head_dim) {
  const int64_t half = enc.rotary_dims(head_dim) / 2;
  std::vector<double> c(half), s(half);
  const std::vector<int64_t> pos = {position};
  enc.rotary_coefficients(pos, head_dim, RotaryContext{}, c.data(), s.data());
  return c;
}

TEST(HfConfig, Llama31ResolvesToItsPublishedRopeFields) {
  const Built b = build({{"name", "rope"}, {"hf_config", "llama-3.1-8b.json"}});
  ASSERT_TRUE(b.problems.empty()) << problems_text(b.problems);
  ASSERT_TRUE(b.inst.encoder);
  // By hand from the model card's config.json: head_dim = 4096 / 32.
  const json expected = {{"base", 500000.0},
                         {"layout", "half"},
                         {"rotary_fraction", 1.0},
                         {"scaling",
                          {{"rope_type", "llama3"},
                           {"factor", 8.0},
                           {"low_freq_factor", 1.0},
                           {"high_freq_factor", 4.0},
                           {"original_max_position_embeddings", 8192}}},
                         {"max_position_embeddings", 131072},
                         {"head_dim", 128}};
  EXPECT_EQ(b.inst.params, expected) << b.inst.params.dump(2);
  // The record says what was read, as what, and what was not.
  const json record = b.source.record();
  EXPECT_EQ(record.at("path"), "llama-3.1-8b.json");
  EXPECT_EQ(record.at("file"), (kHfDir / "llama-3.1-8b.json").lexically_normal().string());
  EXPECT_EQ(record.at("model_type"), "llama");
  EXPECT_EQ(record.at("read"), json({{"rope_theta", 500000.0},
                                     {"rope_scaling",
                                      {{"factor", 8.0},
                                       {"low_freq_factor", 1.0},
                                       {"high_freq_factor", 4.0},
                                       {"original_max_position_embeddings", 8192},
                                       {"rope_type", "llama3"}}},
                                     {"max_position_embeddings", 131072},
                                     {"hidden_size", 4096},
                                     {"num_attention_heads", 32}}));
  EXPECT_EQ(record.at("params_from_file"),
            json({{"base", "rope_theta"},
                  {"scaling", "rope_scaling"},
                  {"max_position_embeddings", "max_position_embeddings"},
                  {"head_dim", "hidden_size / num_attention_heads"}}));
  EXPECT_EQ(record.at("overridden_by_params"), json::object());
  EXPECT_EQ(record.at("ignored"), json({"architectures", "model_type"}));
  EXPECT_EQ(record.at("notes"), json::array());
}

// transformers' _compute_llama3_parameters, written out again here: with L = 8192,
// wavelength w_i = 2 pi / theta_i, theta_i = 500000^(-2i/128):
// w_i < L / 4: theta_i; w_i > L / 1: theta_i / 8; else the smooth blend.
double llama31_inv_freq(int i) {
  const double theta = std::pow(500000.0, -2.0 * i / 128.0);
  const double w = 2.0 * std::numbers::pi / theta;
  if (w < 8192.0 / 4.0) return theta;
  if (w > 8192.0 / 1.0) return theta / 8.0;
  const double smooth = (8192.0 / w - 1.0) / (4.0 - 1.0);
  return (1.0 - smooth) * theta / 8.0 + smooth * theta;
}

TEST(HfConfig, Llama31FrequenciesMatchTheClosedForm) {
  const Built b = build({{"name", "rope"}, {"hf_config", "llama-3.1-8b.json"}});
  ASSERT_TRUE(b.inst.encoder) << problems_text(b.problems);
  const Encoder& enc = *b.inst.encoder;
  const auto form = enc.angular_form(128, RotaryContext{});
  ASSERT_TRUE(form.has_value());
  ASSERT_EQ(form->inv_freq.size(), 64u);
  EXPECT_EQ(form->magnitude, 1.0);
  // 29 pairs keep their frequency (w < 2048), 29 are divided by 8 (w > 8192), 6 are blended:
  // 500000^(i/64) < 2048 / (2 pi) for i <= 28, > 8192 / (2 pi) for i >= 35.
  int kept = 0, divided = 0;
  for (int i = 0; i < 64; ++i) {
    const double theta = std::pow(500000.0, -2.0 * i / 128.0);
    EXPECT_NEAR(form->inv_freq[i], llama31_inv_freq(i), 1e-15 * theta) << "pair " << i;
    kept += form->inv_freq[i] == theta;
    divided += std::abs(form->inv_freq[i] - theta / 8) <= 1e-15 * theta;
  }
  EXPECT_EQ(kept, 29);
  EXPECT_EQ(divided, 29);
  // The rotation itself, at a position past the original context.
  const std::vector<double> c = cos_at(enc, 100000, 128);
  for (int i = 0; i < 64; ++i)
    EXPECT_NEAR(c[i], std::cos(100000.0 * llama31_inv_freq(i)), 1e-9) << "pair " << i;
}

TEST(HfConfig, QwenYarnResolvesWithTheOlderTypeKey) {
  const Built b = build({{"name", "rope"}, {"hf_config", "qwen2.5-7b-instruct-yarn.json"}});
  ASSERT_TRUE(b.problems.empty()) << problems_text(b.problems);
  // head_dim = 3584 / 28; the model card's block: "type" is folded into rope_type.
  const json expected = {
      {"base", 1000000.0},
      {"layout", "half"},
      {"rotary_fraction", 1.0},
      {"scaling",
       {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}},
      {"max_position_embeddings", 32768},
      {"head_dim", 128}};
  EXPECT_EQ(b.inst.params, expected) << b.inst.params.dump(2);
  // YaRN's attention factor for factor 4: 0.1 ln 4 + 1.
  const auto form = b.inst.encoder->angular_form(128, RotaryContext{});
  ASSERT_TRUE(form.has_value());
  EXPECT_NEAR(form->magnitude, 0.1 * std::log(4.0) + 1.0, 1e-15);
  EXPECT_EQ(b.source.record().at("ignored"), json({"architectures", "model_type"}));
}

TEST(HfConfig, PhiLongRopeTakesTheTopLevelOriginalContext) {
  const Built b = build({{"name", "rope"}, {"hf_config", "phi-3.5-mini-instruct.json"}});
  ASSERT_TRUE(b.problems.empty()) << problems_text(b.problems);
  const json file = read_json_file(kHfDir / "phi-3.5-mini-instruct.json");
  const json& lists = file.at("rope_scaling");
  ASSERT_EQ(lists.at("long_factor").size(), 48u);  // head_dim / 2 = 96 / 2
  ASSERT_EQ(lists.at("short_factor").size(), 48u);
  EXPECT_EQ(lists.at("long_factor")[0], 1.0800000429153442);
  EXPECT_EQ(lists.at("long_factor")[47], 64.83999633789062);
  EXPECT_EQ(lists.at("short_factor")[47], 2.8399994373321533);
  const json expected = {{"base", 10000.0},
                         {"layout", "half"},
                         {"rotary_fraction", 1.0},
                         {"scaling",
                          {{"rope_type", "longrope"},
                           {"long_factor", lists.at("long_factor")},
                           {"short_factor", lists.at("short_factor")},
                           {"original_max_position_embeddings", 4096}}},
                         {"max_position_embeddings", 131072},
                         {"head_dim", 96}};
  EXPECT_EQ(b.inst.params, expected) << b.inst.params.dump(2);
  const json record = b.source.record();
  EXPECT_EQ(record.at("params_from_file").at("scaling.original_max_position_embeddings"),
            "original_max_position_embeddings");
  EXPECT_EQ(record.at("read").at("original_max_position_embeddings"), 4096);
  // Attention factor sqrt(1 + ln(131072 / 4096) / ln 4096) = sqrt(1 + 5/12); short factors
  // up to length 4096, long ones past it (the length is the largest position + 1 here).
  const Encoder& enc = *b.inst.encoder;
  const double a = std::sqrt(17.0 / 12.0);
  for (double c : cos_at(enc, 0, 96)) EXPECT_NEAR(c, a, 1e-15);
  const std::vector<double> short_cos = cos_at(enc, 100, 96), long_cos = cos_at(enc, 5000, 96);
  for (int i = 0; i < 48; ++i) {
    const double theta = std::pow(10000.0, -2.0 * i / 96.0);
    EXPECT_NEAR(short_cos[i], a * std::cos(100 * theta / lists["short_factor"][i].get<double>()),
                1e-12);
    EXPECT_NEAR(long_cos[i], a * std::cos(5000 * theta / lists["long_factor"][i].get<double>()),
                1e-12);
  }
}

TEST(HfConfig, TransformersV5RopeParametersAreLiftedIntoBaseAndScaling) {
  test::TempDir dir;
  std::ofstream(dir / "config.json") << R"({
    "model_type": "gpt_oss", "head_dim": 64, "max_position_embeddings": 131072,
    "partial_rotary_factor": 0.5,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 150000, "factor": 32.0,
                        "original_max_position_embeddings": 4096, "beta_fast": 32.0,
                        "beta_slow": 1.0, "truncate": false, "partial_rotary_factor": 0.5},
    "rope_local_base_freq": 10000
  })";
  const Built b = build({{"name", "rope"}, {"hf_config", "config.json"}}, dir.path());
  ASSERT_TRUE(b.problems.empty()) << problems_text(b.problems);
  EXPECT_EQ(b.inst.params, json({{"base", 150000},
                                 {"layout", "half"},
                                 {"rotary_fraction", 0.5},
                                 {"scaling",
                                  {{"rope_type", "yarn"},
                                   {"factor", 32.0},
                                   {"original_max_position_embeddings", 4096},
                                   {"beta_fast", 32.0},
                                   {"beta_slow", 1.0},
                                   {"truncate", false}}},
                                 {"max_position_embeddings", 131072},
                                 {"head_dim", 64}}))
      << b.inst.params.dump(2);
  const json record = b.source.record();
  EXPECT_EQ(record.at("params_from_file"),
            json({{"base", "rope_parameters.rope_theta"},
                  {"rotary_fraction", "rope_parameters.partial_rotary_factor"},
                  {"scaling", "rope_parameters"},
                  {"max_position_embeddings", "max_position_embeddings"},
                  {"head_dim", "head_dim"}}));
  EXPECT_EQ(record.at("ignored"), json({"model_type", "rope_local_base_freq"}));
  EXPECT_EQ(record.at("notes"),
            json({"rope_local_base_freq looks rope-related but is not read; give the equivalent "
                  "params if it changes the rotation"}));
}

TEST(HfConfig, DeepSeekRotatesQkRopeHeadDimInterleaved) {
  test::TempDir dir;
  std::ofstream(dir / "deepseek.json") << R"({
    "model_type": "deepseek_v3", "hidden_size": 7168, "num_attention_heads": 128,
    "head_dim": 192, "qk_rope_head_dim": 64, "rope_interleave": true, "rope_theta": 10000,
    "max_position_embeddings": 163840,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                     "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}
  })";
  const Built b = build({{"name", "rope"}, {"hf_config", "deepseek.json"}}, dir.path());
  ASSERT_TRUE(b.problems.empty()) << problems_text(b.problems);
  EXPECT_EQ(b.inst.params.at("head_dim"), 64);
  EXPECT_EQ(b.inst.params.at("layout"), "interleaved");
  // mscale / mscale_all_dim = 1: DeepSeek's attention factor is 1.
  EXPECT_EQ(b.inst.encoder->angular_form(64, RotaryContext{})->magnitude, 1.0);
  const json record = b.source.record();
  EXPECT_EQ(record.at("params_from_file").at("head_dim"), "qk_rope_head_dim");
  EXPECT_EQ(record.at("params_from_file").at("layout"), "rope_interleave");
  EXPECT_EQ(record.at("ignored"),
            json({"head_dim", "hidden_size", "model_type", "num_attention_heads"}));
}

TEST(HfConfig, ResolvedConfigCarriesTheRecordBesideTheParams) {
  const json config = {
      {"experiments",
       {{{"type", "offset_linearity"},
         {"dim", 128},
         {"positions", 16},
         {"offsets", {1}},
         {"encoders",
          {{{"name", "rope"}, {"label", "llama"}, {"hf_config", "hf/llama-3.1-8b.json"}},
           {{"name", "rope"}}}}}}}};
  Diagnostics diag;
  const Plan plan = build_plan(config, diag, kHfDir.parent_path());
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  const json& entries = plan.resolved.at("experiments")[0].at("encoders");
  EXPECT_EQ(entries[0].at("params").at("base"), 500000.0);
  EXPECT_EQ(entries[0].at("hf_config").at("path"), "hf/llama-3.1-8b.json");
  EXPECT_EQ(entries[0].at("hf_config").at("file"),
            (kHfDir / "llama-3.1-8b.json").lexically_normal().string());
  EXPECT_FALSE(entries[1].contains("hf_config"));
  EXPECT_EQ(plan.given, config);  // the config as given is kept as it was
}

TEST(HfConfig, ShippedStudyValidatesAndReadsEveryShippedFile) {
  const fs::path study = fs::path(POSBENCH_SOURCE_DIR) / "configs" / "studies" / "hf-models.json";
  Diagnostics diag;
  const Plan plan = build_plan(read_json_file(study), diag, study.parent_path());
  ASSERT_TRUE(diag.ok()) << problems_text(diag.problems());
  std::set<std::string> files;
  for (const auto& e : plan.resolved.at("experiments"))
    for (const auto& enc : e.at("encoders"))
      if (enc.contains("hf_config")) {
        files.insert(fs::path(enc["hf_config"]["file"].get<std::string>()).filename());
        // Each model is studied at its own head_dim.
        EXPECT_EQ(enc["params"]["head_dim"].is_null() ? e["dim"] : enc["params"]["head_dim"],
                  e["dim"]);
      }
  EXPECT_EQ(files, (std::set<std::string>{"llama-3.1-8b.json", "qwen2.5-7b-instruct-yarn.json",
                                          "phi-3.5-mini-instruct.json"}));
}

}  // namespace
}  // namespace posbench
