// The strict name -> factory registries: the built-in names, duplicate detection with both
// sources, and the unknown-name message (did-you-mean plus the full list).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoders/experiment.h"
#include "encoders/registry.h"
#include "harness/run/config.h"
#include "tests/encoders/scheme_params.h"

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

// EncoderInfo::family and Encoder::family() agree for every registered scheme (built-in, and any
// plugin loaded into this process), built the way the harness builds it.
TEST(Registry, EverySchemeBuildsTheFamilyItDeclares) {
  const auto all = EncoderRegistry::instance().all();
  ASSERT_FALSE(all.empty());
  for (const EncoderInfo* info : all) {
    SCOPED_TRACE("scheme " + info->name + " from " + info->source);
    Diagnostics diag;
    const EncoderInstance inst = build_encoder(
        {{"name", info->name}, {"params", test::minimal_params(info->name)}}, "encoder", diag);
    ASSERT_TRUE(diag.ok()) << diag.problems()[0].str()
                           << " (schemes that need params: tests/encoders/scheme_params.h)";
    ASSERT_NE(inst.encoder, nullptr);
    EXPECT_EQ(inst.encoder->family(), info->family)
        << to_string(inst.encoder->family()) << " vs " << to_string(info->family);
    EXPECT_EQ(inst.family, info->family);
  }
  // The exceptions of scheme_params.h name registered schemes (no stale entries).
  for (const auto& [name, params] : test::schemes_needing_params())
    EXPECT_NE(EncoderRegistry::instance().find(name), nullptr) << name;
}

// An encoder whose family() is `actual`.
class FamilyOnly final : public Encoder {
 public:
  explicit FamilyOnly(Family actual) : actual_(actual) {}
  Family family() const override { return actual_; }
  void check_shape(int64_t, int64_t) const override {}

 private:
  Family actual_;
};

// Registers `info` for the lifetime of the guard (also when an assertion ends the test early).
struct TemporaryRegistration {
  explicit TemporaryRegistration(EncoderInfo info) : name(info.name) {
    EXPECT_EQ(EncoderRegistry::instance().find(name), nullptr);
    const EncoderRegistration registration{std::move(info)};
  }
  ~TemporaryRegistration() { EncoderRegistry::instance().remove(name); }
  std::string name;
};

TEST(Registry, RegistrationWhoseFamilyDisagreesIsRefusedNamingSchemeAndSource) {
  EncoderInfo info;
  info.name = "test-wrong-family";
  info.family = Family::additive;  // declared additive ...
  info.description = "declares additive, builds bias";
  info.factory = [](const Params&) { return std::make_unique<FamilyOnly>(Family::bias); };
  const TemporaryRegistration guard(info);

  auto expect_refused = [](const std::function<void()>& build) {
    try {
      build();
      ADD_FAILURE() << "expected std::logic_error";
    } catch (const UserError& e) {
      ADD_FAILURE() << "a family mismatch is a bug in the scheme, not a UserError: " << e.what();
    } catch (const std::logic_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("scheme 'test-wrong-family'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("registry_test.cpp"), std::string::npos) << msg;  // its source
      EXPECT_NE(msg.find("family additive"), std::string::npos) << msg;
      EXPECT_NE(msg.find("family() is bias"), std::string::npos) << msg;
    }
  };
  // ... through the harness's one path from a config to an encoder (validate, run, apply) ...
  expect_refused([] {
    Diagnostics diag;
    build_encoder({{"name", "test-wrong-family"}}, "experiments[0].encoders[0]", diag);
  });
  // ... and through EncoderInfo::build itself.
  const EncoderInfo& registered = EncoderRegistry::instance().get("test-wrong-family", "encoder");
  expect_refused([&] { registered.build(Params(json::object())); });

  // The same registration with agreeing families builds.
  EncoderInfo good = info;
  good.family = Family::bias;
  EXPECT_EQ(good.build(Params(json::object()))->family(), Family::bias);
}

TEST(Registry, FactoryReturningNoEncoderIsRefusedNamingScheme) {
  EncoderInfo info;
  info.name = "test-null-factory";
  info.source = "null_source.cpp";
  info.factory = [](const Params&) { return std::unique_ptr<Encoder>(); };
  try {
    info.build(Params(json::object()));
    ADD_FAILURE() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'test-null-factory'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("null_source.cpp"), std::string::npos) << msg;
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
