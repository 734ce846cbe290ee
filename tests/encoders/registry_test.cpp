// The strict name -> factory registries: the built-in names, duplicate detection with both
// sources, and the unknown-name message (did-you-mean plus the full list).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/registry.h"
#include "encoders/experiment.h"

namespace posbench {
namespace {

using nlohmann::json;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Registry, BuiltInSchemesAreRegistered) {
  const auto names = EncoderRegistry::instance().names();
  for (const char* n : {"sinusoidal", "learned", "rope", "alibi"})
    EXPECT_TRUE(contains(names, n)) << "scheme '" << n << "' is not registered";
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  const auto& reg = EncoderRegistry::instance();
  ASSERT_NE(reg.find("sinusoidal"), nullptr);
  EXPECT_EQ(reg.find("sinusoidal")->family, Family::additive);
  ASSERT_NE(reg.find("rope"), nullptr);
  EXPECT_EQ(reg.find("rope")->family, Family::rotary);
  ASSERT_NE(reg.find("alibi"), nullptr);
  EXPECT_EQ(reg.find("alibi")->family, Family::bias);
  ASSERT_NE(reg.find("learned"), nullptr);
  EXPECT_EQ(reg.find("learned")->family, Family::additive);
}

TEST(Registry, EverySchemeIsDescribedAndRecordsItsSource) {
  for (const EncoderInfo* info : EncoderRegistry::instance().all()) {
    SCOPED_TRACE(info->name);
    EXPECT_FALSE(info->description.empty());
    EXPECT_GE(info->version, 1);
    EXPECT_TRUE(bool(info->factory));
    EXPECT_NE(info->source, "?");
    // The name is lowercase (it is the config key).
    EXPECT_EQ(info->name, [&] {
      std::string s = info->name;
      std::transform(s.begin(), s.end(), s.begin(), ::tolower);
      return s;
    }());
  }
  // The built-in sources point at their own files.
  EXPECT_NE(EncoderRegistry::instance().find("rope")->source.find("rope.cpp"), std::string::npos);
}

TEST(Registry, DefaultParamsBuildTheDeclaredFamily) {
  for (const char* name : {"sinusoidal", "rope", "alibi"}) {
    const EncoderInfo& info = EncoderRegistry::instance().get(name, "encoder");
    Diagnostics diag;
    json r = resolve_params(info.params, json::object(), "p", diag);
    ASSERT_TRUE(diag.ok()) << name;
    auto enc = info.factory(Params(r));
    ASSERT_NE(enc, nullptr);
    EXPECT_EQ(enc->family(), info.family) << name;
  }
}

TEST(Registry, OffsetLinearityExperimentIsRegistered) {
  const auto& reg = ExperimentRegistry::instance();
  ASSERT_NE(reg.find("offset_linearity"), nullptr);
  EXPECT_FALSE(reg.find("offset_linearity")->description.empty());
  EXPECT_NE(reg.find("offset_linearity")->source.find("offset_linearity.cpp"), std::string::npos);
}

TEST(Registry, NoDuplicatesAtStartupThenDuplicateRecordedWithBothSources) {
  auto& reg = EncoderRegistry::instance();
  EXPECT_TRUE(reg.duplicates().empty())
      << "startup duplicate: " << (reg.duplicates().empty() ? "" : reg.duplicates()[0].str());
  EXPECT_TRUE(ExperimentRegistry::instance().duplicates().empty());
  const size_t before = reg.duplicates().size();
  const std::string name = "test-dup-registry";
  ASSERT_EQ(reg.find(name), nullptr);

  EncoderInfo first;
  first.name = name;
  first.description = "first";
  first.source = "first_source.cpp";
  reg.add(first);
  {
    // The second comes through EncoderRegistration, which records this file as the source.
    EncoderInfo second;
    second.name = name;
    second.description = "second";
    const EncoderRegistration registration{second};
  }
  ASSERT_EQ(reg.duplicates().size(), before + 1);
  const Duplicate& dup = reg.duplicates().back();
  EXPECT_EQ(dup.name, name);
  EXPECT_NE(dup.first_source.find("first_source.cpp"), std::string::npos) << dup.first_source;
  EXPECT_NE(dup.second_source.find("registry_test.cpp"), std::string::npos) << dup.second_source;
  const std::string msg = dup.str();
  EXPECT_NE(msg.find("'" + name + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("first_source.cpp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("registry_test.cpp"), std::string::npos) << msg;
  // The first registration stays in force.
  ASSERT_NE(reg.find(name), nullptr);
  EXPECT_EQ(reg.find(name)->description, "first");

  reg.remove(name);
  reg.clear_duplicates();
  EXPECT_EQ(reg.find(name), nullptr);
  EXPECT_TRUE(reg.duplicates().empty());
}

TEST(Registry, UnknownNameHasDidYouMeanAndFullList) {
  const auto& reg = EncoderRegistry::instance();
  const auto names = reg.names();
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  try {
    reg.get("rop", "encoder");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown encoder 'rop'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'rope'?"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available: " + list), std::string::npos) << msg;
  }
  try {
    reg.get("sinusodial", "encoder");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'sinusoidal'?"), std::string::npos)
        << e.what();
  }
  // Nothing close: no guess, still the list.
  try {
    reg.get("qqqqqqqqqqqq", "encoder");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available: " + list), std::string::npos) << msg;
  }
  try {
    ExperimentRegistry::instance().get("offset_linearty", "experiment");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'offset_linearity'?"), std::string::npos)
        << e.what();
  }
}

TEST(Registry, ClosestMatch) {
  const std::vector<std::string> c = {"alibi", "learned", "rope", "sinusoidal"};
  EXPECT_EQ(closest_match("rope", c), "rope");
  EXPECT_EQ(closest_match("Rope", c), "rope");
  EXPECT_EQ(closest_match("alibl", c), "alibi");
  EXPECT_EQ(closest_match("learnd", c), "learned");
  EXPECT_EQ(closest_match("transformer-xl", c), "");
  EXPECT_EQ(closest_match("x", {}), "");
}

}  // namespace
}  // namespace posbench
