// Declared parameters: resolve_params accepts exactly the declared types and ranges, reports
// every problem with its path, and fills defaults.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/params.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::has;

// Resolves {name: value} against one spec; returns the problems.
std::vector<Problem> problems_for(const ParamSpec& spec, const json& value) {
  Diagnostics diag;
  resolve_params({spec}, {{spec.name, value}}, "x", diag);
  return diag.problems();
}

bool accepts(const ParamSpec& spec, const json& value) { return problems_for(spec, value).empty(); }

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

TEST(ParamsResolve, ObjectOfDeclaredFields) {
  const auto o =
      ParamSpec::object_of("shape",
                           {ParamSpec::integer("seq", nullptr, "").at_least(1).mandatory(),
                            ParamSpec::integer("heads", 8, "").at_least(1)},
                           nullptr, "");
  EXPECT_TRUE(accepts(o, json::object({{"seq", 4}})));
  EXPECT_FALSE(accepts(o, json::array()));
  EXPECT_FALSE(accepts(o, "linear"));
  // Unknown keys, missing required fields and bad values are reported at their nested paths.
  const auto p = problems_for(o, {{"sq", 4}, {"heads", 0}});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].path, "x.shape.sq");
  EXPECT_TRUE(has(p[0].message, "did you mean 'seq'")) << p[0].message;
  EXPECT_EQ(p[1].path, "x.shape.seq");
  EXPECT_TRUE(has(p[1].message, "missing")) << p[1].message;
  EXPECT_EQ(p[2].path, "x.shape.heads");
  EXPECT_EQ(p[2].message, "got 0, expected an integer >= 1");
  // Defaults inside the object are filled in; absent optional keys stay absent.
  Diagnostics diag;
  json r = resolve_params({o}, {{"shape", {{"seq", 4.0}}}}, "x", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(r, json({{"shape", {{"seq", 4}, {"heads", 8}}}}));
}

TEST(ParamsResolve, ListOfElementsReportsEveryBadElement) {
  const auto l =
      ParamSpec::list_of(
          "shapes",
          ParamSpec::object_of("", {ParamSpec::integer("seq", nullptr, "").at_least(1).mandatory()},
                               nullptr, ""),
          json::array({{{"seq", 2}}}), "")
          .non_empty();
  EXPECT_TRUE(accepts(l, json::array({{{"seq", 1}}, {{"seq", 9}}})));
  EXPECT_FALSE(accepts(l, json::array()));  // non_empty
  EXPECT_FALSE(accepts(l, json::object()));
  const auto p = problems_for(l, json::array({{{"seq", 1}}, {{"seq", 0}}, {{"seq", -1}}}));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].path, "x.shapes[1].seq");
  EXPECT_EQ(p[1].path, "x.shapes[2].seq");
  const auto c = ParamSpec::list_of("ops", ParamSpec::choice("", "", {"table", "apply"}, ""),
                                    json::array({"table"}), "");
  const auto q = problems_for(c, json::array({"apply", "tabel"}));
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].path, "x.ops[1]");
  EXPECT_TRUE(has(q[0].message, "did you mean \"table\"")) << q[0].message;
  // A list default is resolved like a given value (nested defaults filled in).
  Diagnostics diag;
  json r = resolve_params({l}, json::object(), "x", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(r, json({{"shapes", json::array({{{"seq", 2}}})}}));
}

TEST(ParamsResolve, ExactlyOneGroupOfFields) {
  const auto o = ParamSpec::object_of("s",
                                      {ParamSpec::integer("heads", nullptr, ""),
                                       ParamSpec::integer("head_dim", nullptr, ""),
                                       ParamSpec::integer("dim", nullptr, "")},
                                      nullptr, "")
                     .exactly_one_of({{"heads", "head_dim"}, {"dim"}});
  EXPECT_TRUE(accepts(o, {{"dim", 4}}));
  EXPECT_TRUE(accepts(o, {{"heads", 2}, {"head_dim", 4}}));
  EXPECT_FALSE(accepts(o, json::object()));
  EXPECT_FALSE(accepts(o, {{"dim", 4}, {"heads", 2}}));
  const auto p = problems_for(o, {{"heads", 2}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "x.s.head_dim");
}

TEST(ParamsResolve, TaggedObjectPicksFieldsByTag) {
  const auto t =
      ParamSpec::tagged(
          "scaling", "rope_type",
          {{"default", {}, ""},
           {"linear", {ParamSpec::number("factor", nullptr, "").at_least(1).mandatory()}, ""},
           {"yarn", {ParamSpec::number("beta_fast", nullptr, "").above(0)}, ""}},
          {ParamSpec::number("rope_theta", nullptr, "").above(1)}, "")
          .tag_alias("type");
  EXPECT_TRUE(accepts(t, {{"rope_type", "linear"}, {"factor", 2}}));
  EXPECT_TRUE(accepts(t, {{"type", "linear"}, {"factor", 2}, {"rope_theta", 1e4}}));
  EXPECT_TRUE(accepts(t, {{"rope_type", "linear"}, {"type", "linear"}, {"factor", 2}}));
  {  // missing tag
    const auto p = problems_for(t, {{"factor", 2}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].path, "x.scaling.rope_type");
    EXPECT_TRUE(has(p[0].message, "missing")) << p[0].message;
  }
  {  // unknown tag with a guess
    const auto p = problems_for(t, {{"rope_type", "lnear"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(has(p[0].message, "did you mean \"linear\"")) << p[0].message;
  }
  {  // alias disagreeing, a key of another variant, a bad value and a missing one, all at once
    const auto p = problems_for(t, {{"rope_type", "linear"}, {"type", "yarn"}, {"beta_fast", 1}});
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].path, "x.scaling.type");
    EXPECT_EQ(p[1].path, "x.scaling.beta_fast");
    EXPECT_TRUE(has(p[1].message, "belongs to \"yarn\"")) << p[1].message;
    EXPECT_EQ(p[2].path, "x.scaling.factor");
  }
  Diagnostics diag;
  json r = resolve_params({t}, {{"scaling", {{"type", "linear"}, {"factor", 2.0}}}}, "x", diag);
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(r["scaling"], json({{"rope_type", "linear"}, {"factor", 2.0}}));
}

TEST(ParamsResolve, NestedSpecsInJson) {
  const auto l = ParamSpec::list_of("threads", ParamSpec::integer("", nullptr, "").at_least(1),
                                    json::array({1}), "");
  const json j = l.to_json();
  EXPECT_EQ(j["type"], "list");
  EXPECT_EQ(j["element"]["type"], "integer");
  EXPECT_EQ(j["element"]["min"], 1.0);
  EXPECT_EQ(l.expected(), "a list, each an integer >= 1");
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
  // Whole bounds in full, others in the shortest form.
  EXPECT_EQ(ParamSpec::number("v", 1, "").below(1e6).expected(), "a number < 1000000");
  EXPECT_EQ(ParamSpec::number("v", 1, "").below(2.5e-7).expected(), "a number < 2.5e-07");
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

TEST(ParamsResolve, AliasesNameTheSameParameter) {
  const std::vector<ParamSpec> specs = {
      ParamSpec::number("base", 10000.0, "").above(1).alias("rope_theta"),
      ParamSpec::number("rotary_fraction", 1.0, "").above(0).at_most(1),
      ParamSpec::object_of("inner", {ParamSpec::integer("n", nullptr, "").alias("count")}, nullptr,
                           "")};
  auto resolve = [&](const json& given, std::vector<Problem>* problems = nullptr) {
    Diagnostics diag;
    json out = resolve_params(specs, given, "p", diag);
    if (problems) *problems = diag.problems();
    return out;
  };
  // Resolved under the declared name, nested ones too; the alias is not a key of the result.
  std::vector<Problem> ps;
  const json r = resolve({{"rope_theta", 500000}, {"inner", {{"count", 3}}}}, &ps);
  EXPECT_TRUE(ps.empty());
  EXPECT_EQ(r, json({{"base", 500000}, {"rotary_fraction", 1.0}, {"inner", {{"n", 3}}}}));
  // Both names with equal values (500000 and 500000.0 are equal numbers) are fine.
  resolve({{"base", 500000.0}, {"rope_theta", 500000}}, &ps);
  EXPECT_TRUE(ps.empty());
  // Different values: refused at the second name, whichever name came first in the object.
  resolve({{"base", 10.0}, {"rope_theta", 20.0}}, &ps);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].str(),
            "p.rope_theta: got 20.0, expected the same as base (10.0): both name the parameter "
            "base; give one of them, or equal values");
  // A bad value under the alias is named as written.
  resolve({{"rope_theta", 0.5}}, &ps);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].path, "p.rope_theta");
  EXPECT_TRUE(has(ps[0].message, "expected a number > 1")) << ps[0].message;
  // A typo of an alias is answered with the alias and the parameter it names.
  resolve({{"rope_thta", 1e6}}, &ps);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].str(),
            "p.rope_thta: unknown parameter 'rope_thta'; did you mean 'rope_theta' (another "
            "name for base)? available: base, rotary_fraction, inner");
  resolve({{"inner", {{"cont", 1}}}}, &ps);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_TRUE(has(ps[0].message, "did you mean 'count' (another name for n)?")) << ps[0].message;
  // find_param and the JSON declaration (describe --json) know the aliases.
  EXPECT_EQ(find_param(specs, "rope_theta"), &specs[0]);
  EXPECT_EQ(find_param(specs, "base"), &specs[0]);
  EXPECT_EQ(find_param(specs, "theta"), nullptr);
  EXPECT_EQ(specs[0].to_json().at("aliases"), json({"rope_theta"}));
  EXPECT_FALSE(specs[1].to_json().contains("aliases"));
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
      ParamSpec::object_of("o", {ParamSpec::number("f", 1.0, "")}, nullptr, "")};
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
    resolve_params({ParamSpec::number("base", 10000.0, ""),
                    ParamSpec::object_of("req", {}, nullptr, "").mandatory()},
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
