// RoPE context-extension variants (`rope` param `scaling`): what posbench refuses, with the
// exact param path, where HuggingFace only warns (split from rope_scaling_test.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/registry.h"
#include "harness/run/config.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

// ---- refusals
// ------------------------------------------------------------------------------------

struct Refusal {
  std::string path, message;
};

// The first problem building rope at "enc" from `params` and using it with head_dim.
Refusal refusal(const json& params, int64_t head_dim = 128) {
  Diagnostics diag;
  EncoderInstance inst = build_encoder({{"name", "rope"}, {"params", params}}, "enc", diag);
  if (!diag.ok()) return {diag.problems()[0].path, diag.problems()[0].message};
  try {
    inst.encoder->check_shape(head_dim, 1);
  } catch (const UserError& e) {
    return {"enc.params." + e.path(), e.what()};
  }
  return {};
}

void expect_refused(const json& params, const std::string& path, const std::string& fragment,
                    int64_t head_dim = 128) {
  const Refusal r = refusal(params, head_dim);
  EXPECT_EQ(r.path, path) << params.dump() << ": " << r.message;
  EXPECT_NE(r.message.find(fragment), std::string::npos)
      << params.dump() << ": '" << r.message << "' lacks '" << fragment << "'";
}

json with_scaling(const json& scaling) { return {{"scaling", scaling}}; }

TEST(RopeScaling, RefusesWhatHuggingFaceOnlyWarnsAbout) {
  // Factor below 1, for every type that takes one.
  for (const char* type : {"linear", "ntk", "dynamic", "yarn"})
    expect_refused(
        {{"max_position_embeddings", 2048}, {"scaling", {{"rope_type", type}, {"factor", 0.5}}}},
        "enc.params.scaling.factor", "expected a number >= 1");
  expect_refused(with_scaling({{"rope_type", "llama3"},
                               {"factor", 0.9},
                               {"low_freq_factor", 1},
                               {"high_freq_factor", 4},
                               {"original_max_position_embeddings", 8192}}),
                 "enc.params.scaling.factor", "got 0.9");
  expect_refused({{"max_position_embeddings", 2048},
                  {"scaling",
                   {{"rope_type", "longrope"},
                    {"factor", 0.5},
                    {"short_factor", std::vector<double>(64, 1.0)},
                    {"long_factor", std::vector<double>(64, 1.0)}}}},
                 "enc.params.scaling.factor", ">= 1");
  // beta_fast < beta_slow (explicit, or against the other's default).
  expect_refused(
      {{"max_position_embeddings", 2048},
       {"scaling", {{"rope_type", "yarn"}, {"factor", 4}, {"beta_fast", 1}, {"beta_slow", 2}}}},
      "enc.params.scaling.beta_fast", "beta_fast >= beta_slow");
  expect_refused({{"max_position_embeddings", 2048},
                  {"scaling", {{"rope_type", "yarn"}, {"factor", 4}, {"beta_slow", 64}}}},
                 "enc.params.scaling.beta_slow", "below beta_slow 64");
  // longrope lists of the wrong length: d'/2 pairs (64 for head_dim 128; 32 with fraction 0.5).
  const json longrope = {{"rope_type", "longrope"},
                         {"factor", 4},
                         {"original_max_position_embeddings", 4096},
                         {"short_factor", std::vector<double>(64, 1.0)},
                         {"long_factor", std::vector<double>(64, 1.0)}};
  EXPECT_EQ(refusal(with_scaling(longrope)).path, "");
  json bad = longrope;
  bad["short_factor"] = std::vector<double>(63, 1.0);
  expect_refused(with_scaling(bad), "enc.params.scaling.short_factor",
                 "expected one per rotated pair");
  bad = longrope;
  bad["long_factor"] = std::vector<double>(65, 1.0);
  expect_refused(with_scaling(bad), "enc.params.scaling.long_factor", "d'/2 = 64");
  expect_refused({{"rotary_fraction", 0.5}, {"scaling", longrope}},
                 "enc.params.scaling.short_factor", "d'/2 = 32");
  bad = longrope;
  bad["long_factor"] = json::array({1.0, -2.0});
  expect_refused(with_scaling(bad), "enc.params.scaling.long_factor[1]",
                 "got -2.0, expected a number > 0");
  // low_freq_factor >= high_freq_factor.
  const json llama3 = {{"rope_type", "llama3"},
                       {"factor", 8},
                       {"low_freq_factor", 4},
                       {"high_freq_factor", 4},
                       {"original_max_position_embeddings", 8192}};
  expect_refused(with_scaling(llama3), "enc.params.scaling.high_freq_factor",
                 "expected more than low_freq_factor 4");
  // llama3's original context must be below max_position_embeddings.
  json l3 = llama3;
  l3["high_freq_factor"] = 8;
  EXPECT_EQ(refusal(with_scaling(l3)).path, "");
  expect_refused({{"max_position_embeddings", 8192}, {"scaling", l3}},
                 "enc.params.scaling.original_max_position_embeddings",
                 "less than max_position_embeddings 8192");
}

TEST(RopeScaling, RefusesUnknownAndMissingKeys) {
  // Unknown key: did-you-mean among the type's keys.
  expect_refused({{"max_position_embeddings", 2048},
                  {"scaling", {{"rope_type", "yarn"}, {"factor", 4}, {"beta_fats", 32}}}},
                 "enc.params.scaling.beta_fats", "did you mean 'beta_fast'?");
  expect_refused(with_scaling({{"rope_type", "linear"}, {"factro", 4}}),
                 "enc.params.scaling.factro", "did you mean 'factor'?");
  // A key of another type says whose it is.
  expect_refused(with_scaling({{"rope_type", "linear"}, {"factor", 2}, {"beta_fast", 32}}),
                 "enc.params.scaling.beta_fast", "belongs to \"yarn\"");
  expect_refused(with_scaling({{"rope_type", "default"}, {"factor", 2}}),
                 "enc.params.scaling.factor", "takes no keys besides rope_type");
  // Missing required keys.
  expect_refused(with_scaling({{"rope_type", "linear"}}), "enc.params.scaling.factor",
                 "missing: rope_type \"linear\" requires it");
  expect_refused(with_scaling({{"rope_type", "llama3"},
                               {"factor", 8},
                               {"high_freq_factor", 4},
                               {"original_max_position_embeddings", 8192}}),
                 "enc.params.scaling.low_freq_factor", "missing");
  expect_refused(
      with_scaling({{"rope_type", "longrope"}, {"short_factor", std::vector<double>(64, 1.0)}}),
      "enc.params.scaling.long_factor", "missing");
  // The type itself.
  expect_refused(with_scaling({{"factor", 2}}), "enc.params.scaling.rope_type",
                 "missing: expected \"rope_type\"");
  expect_refused(with_scaling({{"rope_type", "yran"}, {"factor", 2}}),
                 "enc.params.scaling.rope_type", "did you mean \"yarn\"?");
  expect_refused(with_scaling({{"type", "lineer"}, {"factor", 2}}), "enc.params.scaling.type",
                 "did you mean \"linear\"?");
  expect_refused(with_scaling({{"rope_type", "linear"}, {"type", "yarn"}, {"factor", 2}}),
                 "enc.params.scaling.type", "older name for rope_type");
  // The original context when it cannot be found.
  expect_refused(with_scaling({{"rope_type", "dynamic"}, {"factor", 2}}),
                 "enc.params.max_position_embeddings", "original context length");
  expect_refused(with_scaling({{"rope_type", "yarn"}, {"factor", 2}}),
                 "enc.params.scaling.original_max_position_embeddings", "missing");
  expect_refused(with_scaling({{"rope_type", "yarn"}, {"original_max_position_embeddings", 4096}}),
                 "enc.params.scaling.factor", "missing: yarn requires factor");
  expect_refused(with_scaling({{"rope_type", "longrope"},
                               {"short_factor", std::vector<double>(64, 1.0)},
                               {"long_factor", std::vector<double>(64, 1.0)},
                               {"original_max_position_embeddings", 4096}}),
                 "enc.params.scaling.factor", "default attention factor");
  // Wrong value types.
  expect_refused(with_scaling({{"rope_type", "linear"}, {"factor", "4"}}),
                 "enc.params.scaling.factor", "got \"4\"");
  expect_refused({{"max_position_embeddings", 2048},
                  {"scaling", {{"rope_type", "yarn"}, {"factor", 4}, {"truncate", "no"}}}},
                 "enc.params.scaling.truncate", "expected true or false");
  expect_refused(
      with_scaling(
          {{"rope_type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 4096.5}}),
      "enc.params.scaling.original_max_position_embeddings", "expected an integer");
  expect_refused({{"scaling", json::array({1, 2})}}, "enc.params.scaling", "expected an object");
  expect_refused({{"max_position_embeddings", 0}}, "enc.params.max_position_embeddings",
                 "expected an integer >= 1");
}

TEST(RopeScaling, RefusesDisagreeingAliases) {
  // partial_rotary_factor is declared as an alias of rotary_fraction: the params machinery
  // refuses two different values, naming the second name.
  expect_refused({{"rotary_fraction", 0.5}, {"partial_rotary_factor", 0.25}},
                 "enc.params.partial_rotary_factor",
                 "got 0.25, expected the same as rotary_fraction (0.5)");
  expect_refused({{"partial_rotary_factor", 0.5},
                  {"scaling", {{"rope_type", "default"}, {"partial_rotary_factor", 0.25}}}},
                 "enc.params.scaling.partial_rotary_factor", "but rotary_fraction is 0.5");
  expect_refused({{"base", 500000.0}, {"scaling", {{"rope_type", "default"}, {"rope_theta", 1e6}}}},
                 "enc.params.scaling.rope_theta", "but base is 500000");
  expect_refused(with_scaling({{"rope_type", "default"}, {"partial_rotary_factor", 1.5}}),
                 "enc.params.scaling.partial_rotary_factor", "expected a number > 0 and <= 1");
  // Agreeing values are fine.
  EXPECT_EQ(refusal({{"rotary_fraction", 0.5}, {"partial_rotary_factor", 0.5}}).path, "");
  EXPECT_EQ(
      refusal({{"base", 1e6}, {"scaling", {{"rope_type", "default"}, {"rope_theta", 1e6}}}}).path,
      "");
  // A partial_rotary_factor that rotates no pair is named by the param it sets.
  expect_refused({{"partial_rotary_factor", 0.01}}, "enc.params.rotary_fraction",
                 "rotates no pair");
  // NTK-type exponents d'/(d'-2) need d' >= 4.
  expect_refused(
      {{"partial_rotary_factor", 0.25}, {"scaling", {{"rope_type", "ntk"}, {"factor", 2}}}},
      "enc.params.scaling.rope_type", "at least 4 rotated channels", 8);
}

TEST(RopeScaling, DeclaredParams) {
  const EncoderInfo& info = EncoderRegistry::instance().get("rope", "encoder");
  Diagnostics diag;
  const json resolved = resolve_params(info.params, json::object(), "p", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_TRUE(resolved.at("scaling").is_null());
  EXPECT_TRUE(resolved.at("max_position_embeddings").is_null());
  EXPECT_TRUE(resolved.at("head_dim").is_null());
  // HuggingFace's names are aliases, resolved under posbench's names.
  EXPECT_FALSE(resolved.contains("partial_rotary_factor"));
  int found = 0;
  for (const auto& spec : info.params) {
    if (spec.name != "scaling") continue;
    ++found;
    EXPECT_EQ(spec.type, ParamType::tagged);
    EXPECT_EQ(spec.tag, "rope_type");
    EXPECT_EQ(spec.variants.size(), 7u);
    EXPECT_FALSE(spec.required);
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace posbench
