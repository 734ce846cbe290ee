// User-facing errors (encoders/error.h): UserError's problems, path() and message(), what() as
// "path: message" lines; Diagnostics prefixing relative paths; the "got X, expected Y" form with
// long values elided; did-you-mean suggestions; JSON path helpers.
#include "encoders/error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace posbench {
namespace {

using nlohmann::json;

TEST(UserError, PathAndMessage) {
  const UserError e("experiments[1].encoders[0].params.base", "got -3, expected a number > 0");
  EXPECT_EQ(e.path(), "experiments[1].encoders[0].params.base");
  EXPECT_EQ(e.message(), "got -3, expected a number > 0");
  EXPECT_STREQ(e.what(), "experiments[1].encoders[0].params.base: got -3, expected a number > 0");
  ASSERT_EQ(e.problems().size(), 1u);
  EXPECT_EQ(e.problems()[0].str(), e.what());
}

TEST(UserError, MessageOnlyHasAnEmptyPathAndNoColonPrefix) {
  const UserError e("cfg.json: cannot open");
  EXPECT_EQ(e.path(), "");
  EXPECT_EQ(e.message(), "cfg.json: cannot open");
  EXPECT_STREQ(e.what(), "cfg.json: cannot open");
  // It is a std::runtime_error (exit code 2 is decided by the type, not by catching everything).
  const std::runtime_error& base = e;
  EXPECT_STREQ(base.what(), "cfg.json: cannot open");
}

TEST(UserError, SeveralProblemsAreJoinedOnePerLine) {
  const UserError e(std::vector<Problem>{
      {"a.b", "got 1, expected 2"}, {"", "no path here"}, {"c[0]", "missing"}});
  EXPECT_STREQ(e.what(), "a.b: got 1, expected 2\nno path here\nc[0]: missing");
  // path() and message() are those of the first problem.
  EXPECT_EQ(e.path(), "a.b");
  EXPECT_EQ(e.message(), "got 1, expected 2");
  ASSERT_EQ(e.problems().size(), 3u);
  EXPECT_EQ(e.problems()[1].path, "");
  EXPECT_EQ(e.problems()[1].message, "no path here");
  EXPECT_EQ(e.problems()[2].str(), "c[0]: missing");
}

TEST(Diagnostics, CollectsAndThrowsEveryProblem) {
  Diagnostics diag;
  EXPECT_TRUE(diag.ok());
  EXPECT_NO_THROW(diag.throw_if_any());
  diag.error("x", "first");
  diag.error("", "second");
  EXPECT_FALSE(diag.ok());
  ASSERT_EQ(diag.problems().size(), 2u);
  try {
    diag.throw_if_any();
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "x: first\nsecond");
    EXPECT_EQ(e.problems().size(), 2u);
  }
}

TEST(Diagnostics, AddPrefixesRelativePaths) {
  Diagnostics diag;
  // A factory's relative param path, a nested one, a list element, and "" (the shape itself).
  diag.add(UserError("base", "got -1, expected > 1"), "experiments[0].encoders[1].params");
  diag.add(UserError("scaling.factor", "bad"), "experiments[0].encoders[1].params");
  diag.add(UserError("[2].x", "bad element"), "experiments[0].encoders[1].params.list");
  diag.add(UserError("", "odd dim"), "experiments[0].encoders[1]");
  // An empty prefix leaves the path as it is.
  diag.add(UserError("dim", "too small"), "");
  // Every problem of a multi-problem error is prefixed.
  diag.add(UserError(std::vector<Problem>{{"a", "1"}, {"b", "2"}}), "p");
  const std::vector<Problem>& ps = diag.problems();
  ASSERT_EQ(ps.size(), 7u);
  EXPECT_EQ(ps[0].path, "experiments[0].encoders[1].params.base");
  EXPECT_EQ(ps[0].message, "got -1, expected > 1");
  EXPECT_EQ(ps[1].path, "experiments[0].encoders[1].params.scaling.factor");
  EXPECT_EQ(ps[2].path, "experiments[0].encoders[1].params.list[2].x");
  EXPECT_EQ(ps[3].path, "experiments[0].encoders[1]");
  EXPECT_EQ(ps[3].message, "odd dim");
  EXPECT_EQ(ps[4].path, "dim");
  EXPECT_EQ(ps[5].path, "p.a");
  EXPECT_EQ(ps[6].path, "p.b");
  EXPECT_EQ(ps[6].message, "2");
}

TEST(JsonPath, JoinAndIndex) {
  EXPECT_EQ(join_path("a", "b"), "a.b");
  EXPECT_EQ(join_path("a", "[2].b"), "a[2].b");
  EXPECT_EQ(join_path("a", "[2]"), "a[2]");
  EXPECT_EQ(join_path("", "b"), "b");
  EXPECT_EQ(join_path("", "[2].b"), "[2].b");
  EXPECT_EQ(join_path("a", ""), "a");
  EXPECT_EQ(join_path("", ""), "");
  EXPECT_EQ(join_path("a.b", "c.d"), "a.b.c.d");
  EXPECT_EQ(index_path("a", 2), "a[2]");
  EXPECT_EQ(index_path("experiments", 0), "experiments[0]");
  EXPECT_EQ(index_path("a[1]", 12), "a[1][12]");
  EXPECT_EQ(index_path("", 3), "[3]");
  EXPECT_EQ(join_path("p", index_path("", 3)), "p[3]");
}

TEST(Show, CompactJsonWithStringsQuotedAndLongValuesElided) {
  EXPECT_EQ(show(json(-3)), "-3");
  EXPECT_EQ(show(json(1.5)), "1.5");
  EXPECT_EQ(show(json("rope")), "\"rope\"");
  EXPECT_EQ(show(json(nullptr)), "null");
  EXPECT_EQ(show(json(true)), "true");
  EXPECT_EQ(show(json::array({1, 2})), "[1,2]");
  EXPECT_EQ(show(json{{"a", 1}}), "{\"a\":1}");
  // 60 characters are shown whole; longer values keep 57 and end in "...".
  const std::string s58(58, 'x');  // dumps to 60 characters with its quotes
  EXPECT_EQ(show(json(s58)), "\"" + s58 + "\"");
  const std::string s59(59, 'y');  // 61 characters
  const std::string shown = show(json(s59));
  EXPECT_EQ(shown.size(), 60u);
  EXPECT_EQ(shown, "\"" + std::string(56, 'y') + "...");
  std::vector<int> many(100, 7);
  const std::string list = show(json(many));
  EXPECT_EQ(list.size(), 60u);
  EXPECT_EQ(list.substr(0, 5), "[7,7,");
  EXPECT_EQ(list.substr(57), "...");
}

TEST(Show, TextThatIsNotUtf8ShowsReplacementCharactersInsteadOfThrowing) {
  // Found by fuzzing `apply`: --role $'\xff' made got_expected throw nlohmann's type_error.316
  // (exit 1, "invalid UTF-8 byte") instead of naming --role (exit 2).
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
  EXPECT_EQ(show(json(std::string("a\xff") + "b")), "\"a" + replacement + "b\"");
  EXPECT_EQ(got_expected(json(std::string("\x93")), "one of query, key"),
            "got \"" + replacement + "\", expected one of query, key");
}

TEST(Show, ElisionNeverCutsAUtf8Sequence) {
  // 55 ASCII characters, then two-byte characters: the cut at 57 bytes (quote included) would
  // fall between the two bytes of an 'é'; it backs off to the start of that character.
  const std::string text = std::string(55, 'x') + "\xC3\xA9\xC3\xA9\xC3\xA9";
  const std::string shown = show(json(text));
  EXPECT_EQ(shown, "\"" + std::string(55, 'x') + "...");
  EXPECT_NO_THROW((void)json(shown).dump());  // valid UTF-8
}

TEST(GotExpected, OneFormForBadValues) {
  EXPECT_EQ(got_expected(json(-3), "a number > 0"), "got -3, expected a number > 0");
  EXPECT_EQ(got_expected(json("x"), "one of \"a\", \"b\""),
            "got \"x\", expected one of \"a\", \"b\"");
  EXPECT_EQ(got_expected(json::array({1, 2, 3}), "a number"), "got [1,2,3], expected a number");
  // A long value is elided the way show() does it.
  const std::string got = got_expected(json(std::string(200, 'z')), "a short name");
  EXPECT_EQ(got, "got \"" + std::string(56, 'z') + "..., expected a short name");
}

const std::vector<std::string> kSchemes = {"alibi", "learned", "rope", "sinusoidal"};

TEST(ClosestMatch, SuggestsNearNamesOnly) {
  EXPECT_EQ(closest_match("rop", kSchemes), "rope");   // one deletion
  EXPECT_EQ(closest_match("rpoe", kSchemes), "rope");  // two substitutions
  EXPECT_EQ(closest_match("sinusiodal", kSchemes), "sinusoidal");
  EXPECT_EQ(closest_match("alibi", kSchemes), "alibi");  // exact
  EXPECT_EQ(closest_match("leanred", kSchemes), "learned");
  // Far from everything: no guess.
  EXPECT_EQ(closest_match("transformer", kSchemes), "");
  EXPECT_EQ(closest_match("xyz", kSchemes), "");
  EXPECT_EQ(closest_match("rope", {}), "");
}

TEST(ClosestMatch, PrefixOfACandidateIsAMatchEvenWhenFar) {
  // "sinus" is 5 edits from "sinusoidal" and from "alibi" (too far by distance) but a prefix.
  EXPECT_EQ(closest_match("sinus", {"alibi", "sinusoidal"}), "sinusoidal");
  EXPECT_EQ(closest_match("max", {"offset", "max_position_embeddings"}), "max_position_embeddings");
  // Not a prefix and far: nothing.
  EXPECT_EQ(closest_match("position", {"alibi", "max_position_embeddings"}), "");
}

TEST(UnknownNameMessage, DidYouMeanAndTheAvailableNames) {
  EXPECT_EQ(unknown_name_message("encoder", "rop", kSchemes),
            "unknown encoder 'rop'; did you mean 'rope'? available: alibi, learned, rope, "
            "sinusoidal");
  const std::string far = unknown_name_message("experiment", "zzzzzzzz", {"symmetry", "precision"});
  EXPECT_EQ(far.rfind("unknown experiment 'zzzzzzzz'", 0), 0u) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  EXPECT_EQ(far, "unknown experiment 'zzzzzzzz'; available: symmetry, precision") << far;
  EXPECT_EQ(closest_match("", {"ab"}), "");  // nothing typed, nothing guessed
  EXPECT_EQ(UserError(std::vector<Problem>{}).message(), "(an error without a message)");
  const std::string tail = "available: symmetry, precision";  // in the order given
  ASSERT_GE(far.size(), tail.size());
  EXPECT_EQ(far.substr(far.size() - tail.size()), tail) << far;
}

}  // namespace
}  // namespace posbench
