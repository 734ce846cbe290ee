// Declared parameters: resolve_params accepts exactly the declared types and ranges, reports
// every problem with its path, and fills defaults.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/params.h"

namespace posbench {
namespace {

using nlohmann::json;

// Resolves {name: value} against one spec; returns the problems.
std::vector<Problem> problems_for(const ParamSpec& spec, const json& value) {
  Diagnostics diag;
  resolve_params({spec}, {{spec.name, value}}, "x", diag);
  return diag.problems();
}

bool accepts(const ParamSpec& spec, const json& value) { return problems_for(spec, value).empty(); }

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ParamsResolve, NumberType) {
  const auto s = ParamSpec::number("v", 1.0, "");
  EXPECT_TRUE(accepts(s, 1.5));
  EXPECT_TRUE(accepts(s, 3));
  EXPECT_TRUE(accepts(s, -2));
  EXPECT_FALSE(accepts(s, "1.5"));
  EXPECT_FALSE(accepts(s, true));
  EXPECT_FALSE(accepts(s, nullptr));
  EXPECT_FALSE(accepts(s, json::array({1})));
  EXPECT_FALSE(accepts(s, std::numeric_limits<double>::infinity()));
  const auto p = problems_for(s, "1.5");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "x.v");
  EXPECT_TRUE(has(p[0].message, "got \"1.5\"")) << p[0].message;
  EXPECT_TRUE(has(p[0].message, "expected a number")) << p[0].message;
}

TEST(ParamsResolve, IntegerType) {
  const auto s = ParamSpec::integer("n", 1, "");
  EXPECT_TRUE(accepts(s, 4));
  EXPECT_TRUE(accepts(s, -4));
  EXPECT_TRUE(accepts(s, 4.0));
  EXPECT_FALSE(accepts(s, 4.5));
  EXPECT_FALSE(accepts(s, "4"));
  EXPECT_FALSE(accepts(s, false));
  EXPECT_FALSE(accepts(s, 1e17));  // beyond exactly representable integers
  const auto p = problems_for(s, 4.5);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(has(p[0].message, "got 4.5")) << p[0].message;
  EXPECT_TRUE(has(p[0].message, "expected an integer")) << p[0].message;
}

TEST(ParamsResolve, IntegerBeyondInt64IsRejected) {
  // 2^64 - 1 parses as an unsigned JSON integer; it must not wrap to -1 in the resolved params.
  const auto s = ParamSpec::integer("seed", 0, "").at_least(0);
  const json huge = json::parse("18446744073709551615");
  ASSERT_TRUE(huge.is_number_unsigned());
  Diagnostics diag;
  json r = resolve_params({s}, {{"seed", huge}}, "x", diag);
  ASSERT_EQ(diag.problems().size(), 1u) << r.dump();
  EXPECT_EQ(diag.problems()[0].path, "x.seed");
  EXPECT_TRUE(accepts(s, json::parse("9223372036854775807")));  // INT64_MAX fits
}

TEST(ParamsResolve, IntegerGivenAsFloatIsNormalised) {
  Diagnostics diag;
  json r = resolve_params({ParamSpec::integer("n", 1, "")}, {{"n", 4.0}}, "x", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_TRUE(r["n"].is_number_integer());
  EXPECT_EQ(r["n"].dump(), "4");
  EXPECT_EQ(Params(r).integer("n"), 4);
}

TEST(ParamsResolve, BooleanType) {
  const auto s = ParamSpec::boolean("b", false, "");
  EXPECT_TRUE(accepts(s, true));
  EXPECT_TRUE(accepts(s, false));
  EXPECT_FALSE(accepts(s, 1));
  EXPECT_FALSE(accepts(s, "true"));
  EXPECT_TRUE(has(problems_for(s, 1)[0].message, "expected true or false"));
}

TEST(ParamsResolve, ChoiceTypeWithDidYouMean) {
  const auto s = ParamSpec::choice("layout", "half", {"half", "interleaved"}, "");
  EXPECT_TRUE(accepts(s, "half"));
  EXPECT_TRUE(accepts(s, "interleaved"));
  EXPECT_FALSE(accepts(s, "Half"));
  EXPECT_FALSE(accepts(s, 0));
  const auto p = problems_for(s, "interleavd");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "x.layout");
  EXPECT_TRUE(has(p[0].message, "one of \"half\", \"interleaved\"")) << p[0].message;
  EXPECT_TRUE(has(p[0].message, "did you mean \"interleaved\"?")) << p[0].message;
  // No guess for something far away.
  EXPECT_FALSE(has(problems_for(s, "zzzzzzzzzzzzzz")[0].message, "did you mean"));
}

TEST(ParamsResolve, StringAndPathTypes) {
  const auto s = ParamSpec::string("s", "x", "");
  EXPECT_TRUE(accepts(s, "anything"));
  EXPECT_TRUE(accepts(s, ""));
  EXPECT_FALSE(accepts(s, 3));
  EXPECT_FALSE(accepts(s, json::object()));
  const auto p = ParamSpec::path("file", "");
  EXPECT_TRUE(accepts(p, "/no/such/file.npy"));  // existence is checked by whoever opens it
  EXPECT_FALSE(accepts(p, 3));
  EXPECT_TRUE(has(problems_for(p, 3)[0].message, "a file path"));
}

TEST(ParamsResolve, NumberListType) {
  const auto s = ParamSpec::number_list("l", json::array({1}), "").at_least(1);
  EXPECT_TRUE(accepts(s, json::array({1, 2.5, 300})));
  EXPECT_TRUE(accepts(s, json::array()));
  EXPECT_FALSE(accepts(s, 3));
  EXPECT_FALSE(accepts(s, json::array({1, "2"})));
  EXPECT_FALSE(accepts(s, json::array({1, 0.5})));  // each element is range-checked
  EXPECT_TRUE(has(problems_for(s, json::array({0}))[0].message, "a list of numbers, each >= 1"));
}

TEST(ParamsResolve, ObjectAndAnyTypes) {
  const auto o = ParamSpec::object("scaling", "");
  EXPECT_TRUE(accepts(o, json::object({{"type", "linear"}})));
  EXPECT_FALSE(accepts(o, json::array()));
  EXPECT_FALSE(accepts(o, "linear"));
  const auto a = ParamSpec::any("shapes", nullptr, "");
  for (const json& v : {json(1), json("x"), json::array({1, 2}), json::object(), json(nullptr)})
    EXPECT_TRUE(accepts(a, v)) << v.dump();
}

TEST(ParamsResolve, InclusiveRanges) {
  const auto s = ParamSpec::number("v", 0.5, "").at_least(0).at_most(1);
  EXPECT_TRUE(accepts(s, 0));
  EXPECT_TRUE(accepts(s, 1));
  EXPECT_FALSE(accepts(s, -1e-12));
  EXPECT_FALSE(accepts(s, 1.0000001));
  EXPECT_EQ(s.expected(), "a number >= 0 and <= 1");
  const auto i = ParamSpec::integer("n", 2, "").at_least(2).at_most(8);
  EXPECT_TRUE(accepts(i, 2));
  EXPECT_TRUE(accepts(i, 8));
  EXPECT_FALSE(accepts(i, 1));
  EXPECT_FALSE(accepts(i, 9));
  EXPECT_EQ(i.expected(), "an integer >= 2 and <= 8");
}

TEST(ParamsResolve, ExclusiveRanges) {
  const auto s = ParamSpec::number("v", 0.5, "").above(0).below(1);
  EXPECT_FALSE(accepts(s, 0));
  EXPECT_FALSE(accepts(s, 1));
  EXPECT_TRUE(accepts(s, 1e-300));
  EXPECT_TRUE(accepts(s, 0.999999));
  EXPECT_EQ(s.expected(), "a number > 0 and < 1");
  const auto p = problems_for(s, 0);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].message, "got 0, expected a number > 0 and < 1");
  EXPECT_EQ(ParamSpec::number("v", 1, "").above(-3).expected(), "a number > -3");
  EXPECT_EQ(ParamSpec::number("v", 1, "").below(1e6).expected(), "a number < 1e+06");
}

TEST(ParamsResolve, UnknownKeyHasDidYouMean) {
  Diagnostics diag;
  const std::vector<ParamSpec> specs = {ParamSpec::number("base", 10000.0, ""),
                                        ParamSpec::choice("layout", "half", {"half"}, "")};
  resolve_params(specs, {{"bsae", 10}}, "enc.params", diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "enc.params.bsae");
  EXPECT_TRUE(has(diag.problems()[0].message, "unknown parameter 'bsae'"));
  EXPECT_TRUE(has(diag.problems()[0].message, "did you mean 'base'?"));
  EXPECT_TRUE(has(diag.problems()[0].message, "available: base, layout"));
}

TEST(ParamsResolve, MissingRequired) {
  Diagnostics diag;
  json r = resolve_params({ParamSpec::path("file", "").mandatory()}, json::object(), "p", diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "p.file");
  EXPECT_TRUE(has(diag.problems()[0].message, "missing required parameter"));
  EXPECT_TRUE(has(diag.problems()[0].message, "a file path"));
  Diagnostics ok;
  r = resolve_params({ParamSpec::path("file", "").mandatory()}, {{"file", "a.npy"}}, "p", ok);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(r["file"], "a.npy");
}

TEST(ParamsResolve, DefaultsFilledAndOptionalNull) {
  const std::vector<ParamSpec> specs = {
      ParamSpec::number("base", 10000.0, ""), ParamSpec::integer("n", 7, ""),
      ParamSpec::boolean("flag", true, ""), ParamSpec::number_list("l", nullptr, ""),
      ParamSpec::object("o", "")};
  for (const json& given : {json::object(), json(nullptr)}) {
    Diagnostics diag;
    json r = resolve_params(specs, given, "p", diag);
    ASSERT_TRUE(diag.ok());
    EXPECT_EQ(r,
              json({{"base", 10000.0}, {"n", 7}, {"flag", true}, {"l", nullptr}, {"o", nullptr}}));
    Params p(r);
    EXPECT_TRUE(p.has("base"));
    EXPECT_FALSE(p.has("l"));
    EXPECT_FALSE(p.has("o"));
    EXPECT_FALSE(p.has("absent"));
    EXPECT_EQ(p.number("base"), 10000.0);
    EXPECT_EQ(p.integer("n"), 7);
    EXPECT_TRUE(p.boolean("flag"));
  }
  {  // null given for an optional parameter without a default: the same as not given
    Diagnostics diag;
    json r = resolve_params(specs, {{"o", nullptr}, {"l", nullptr}}, "p", diag);
    ASSERT_TRUE(diag.ok());
    EXPECT_FALSE(Params(r).has("o"));
    EXPECT_FALSE(Params(r).has("l"));
  }
  {  // ... but not for a parameter with a default or a required one
    Diagnostics diag;
    resolve_params(
        {ParamSpec::number("base", 10000.0, ""), ParamSpec::object("req", "").mandatory()},
        {{"base", nullptr}, {"req", nullptr}}, "p", diag);
    ASSERT_EQ(diag.problems().size(), 2u);
    EXPECT_EQ(diag.problems()[0].path, "p.base");
    EXPECT_EQ(diag.problems()[1].path, "p.req");
  }
  Diagnostics diag;
  json r = resolve_params(specs, {{"base", 2}, {"l", {1, 2}}}, "p", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(Params(r).number("base"), 2.0);
  EXPECT_EQ(Params(r).numbers("l"), (std::vector<double>{1, 2}));
}

TEST(ParamsResolve, NotAnObject) {
  Diagnostics diag;
  resolve_params({ParamSpec::number("base", 1.0, "")}, json::array({1}), "e.params", diag);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].path, "e.params");
  EXPECT_TRUE(has(diag.problems()[0].message, "expected an object"));
}

TEST(ParamsResolve, EveryProblemReportedAtOnce) {
  const std::vector<ParamSpec> specs = {ParamSpec::number("base", 10000.0, "").above(1),
                                        ParamSpec::integer("n", 1, ""),
                                        ParamSpec::string("s", "", "").mandatory()};
  Diagnostics diag;
  resolve_params(specs, {{"base", -3}, {"n", "x"}, {"extra", 1}}, "p", diag);
  std::vector<std::string> paths;
  for (const auto& p : diag.problems()) paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"p.extra", "p.base", "p.n", "p.s"}));
  EXPECT_EQ(diag.problems()[1].str(), "p.base: got -3, expected a number > 1");
  try {
    diag.throw_if_any();
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.problems().size(), 4u);
    EXPECT_TRUE(has(e.what(), "p.base: got -3"));
    EXPECT_TRUE(has(e.what(), "p.s: missing required"));
  }
}

TEST(ParamsResolve, SpecToJson) {
  const json j = ParamSpec::number("base", 10000.0, "desc").above(1).at_most(1e9).to_json();
  EXPECT_EQ(j["name"], "base");
  EXPECT_EQ(j["type"], "number");
  EXPECT_EQ(j["default"], 10000.0);
  EXPECT_EQ(j["required"], false);
  EXPECT_EQ(j["min"], 1.0);
  EXPECT_EQ(j["min_exclusive"], true);
  EXPECT_EQ(j["max"], 1e9);
  EXPECT_EQ(j["max_exclusive"], false);
  EXPECT_EQ(j["description"], "desc");
  const json c = ParamSpec::choice("layout", "half", {"half", "interleaved"}, "").to_json();
  EXPECT_EQ(c["type"], "choice");
  EXPECT_EQ(c["choices"], json::array({"half", "interleaved"}));
  EXPECT_FALSE(c.contains("min"));
  EXPECT_STREQ(to_string(ParamType::number_list), "number list");
}

}  // namespace
}  // namespace posbench
