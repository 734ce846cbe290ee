// The experiment interface (encoders/experiment.h): status names, and the default run_all that
// runs each encoder in config order, reports a position the scheme cannot serve
// (UnsupportedPosition) as status "unsupported" with its message as the note, and labels every
// outcome with the encoder's label.
#include "encoders/experiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace posbench {
namespace {

TEST(Status, Names) {
  EXPECT_STREQ(to_string(Status::ok), "ok");
  EXPECT_STREQ(to_string(Status::not_applicable), "not_applicable");
  EXPECT_STREQ(to_string(Status::unsupported), "unsupported");
}

// An experiment whose run() is scripted by the encoder's name:
//   "unsupported" -> throws UnsupportedPosition("position 9 is past max_len 8")
//   "user_error"  -> throws UserError, "broken" -> throws std::runtime_error
//   anything else -> one metric "index" (its position in the calls) and a deliberately wrong
//                    label, which run_all must overwrite.
class Scripted final : public Experiment {
 public:
  void check(const EncoderInstance&) const override {}
  uint64_t memory_bytes(const EncoderInstance&) const override { return 0; }
  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    calls.push_back(enc.name);
    seeds.push_back(ctx.seed);
    if (enc.name == "unsupported") throw UnsupportedPosition("position 9 is past max_len 8");
    if (enc.name == "user_error") throw UserError("params.x", "bad");
    if (enc.name == "broken") throw std::runtime_error("machine failure");
    EncoderOutcome o;
    o.label = "label set by run";
    o.status = enc.name == "na" ? Status::not_applicable : Status::ok;
    o.note = enc.name == "na" ? "not for this family" : "";
    o.metrics = {{"index", double(calls.size() - 1), "1"}};
    o.curves = {{"c", "x", "positions", "1", {1, 2}, {3, 4}}};
    o.extra = {{"name", enc.name}};
    return o;
  }
  mutable std::vector<std::string> calls;
  mutable std::vector<uint64_t> seeds;
};

EncoderInstance instance(const std::string& name, const std::string& label) {
  EncoderInstance e;
  e.name = name;
  e.label = label;
  e.path = "experiments[0].encoders[?]";
  return e;
}

TEST(ExperimentRunAll, RunsInConfigOrderAndCopiesLabels) {
  Scripted x;
  const std::vector<EncoderInstance> encs = {instance("a", "first"),
                                             instance("unsupported", "learned-8"),
                                             instance("na", "third"), instance("b", "fourth")};
  RunContext ctx;
  ctx.seed = 77;
  const ExperimentResult r = x.run_all(encs, ctx);
  EXPECT_EQ(x.calls, (std::vector<std::string>{"a", "unsupported", "na", "b"}));
  EXPECT_EQ(x.seeds, (std::vector<uint64_t>{77, 77, 77, 77}));
  ASSERT_EQ(r.outcomes.size(), 4u);
  const std::vector<std::string> labels = {"first", "learned-8", "third", "fourth"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.outcomes[i].label, labels[i]) << i;

  EXPECT_EQ(r.outcomes[0].status, Status::ok);
  ASSERT_EQ(r.outcomes[0].metrics.size(), 1u);
  EXPECT_EQ(r.outcomes[0].metrics[0].value, 0.0);
  EXPECT_EQ(r.outcomes[0].curves.size(), 1u);
  EXPECT_EQ(r.outcomes[0].extra, nlohmann::json({{"name", "a"}}));

  // The unsupported one: status, note = the exception's message, nothing else.
  EXPECT_EQ(r.outcomes[1].status, Status::unsupported);
  EXPECT_EQ(r.outcomes[1].note, "position 9 is past max_len 8");
  EXPECT_TRUE(r.outcomes[1].metrics.empty());
  EXPECT_TRUE(r.outcomes[1].curves.empty());
  EXPECT_EQ(r.outcomes[1].extra, nlohmann::json::object());

  // What run() returned is kept as it is (besides the label).
  EXPECT_EQ(r.outcomes[2].status, Status::not_applicable);
  EXPECT_EQ(r.outcomes[2].note, "not for this family");
  ASSERT_EQ(r.outcomes[3].metrics.size(), 1u);
  EXPECT_EQ(r.outcomes[3].metrics[0].value, 3.0);

  // run_all adds nothing of its own.
  EXPECT_EQ(r.extra, nlohmann::json::object());
  EXPECT_TRUE(r.summary_columns.empty());
}

TEST(ExperimentRunAll, NoEncodersNoOutcomes) {
  Scripted x;
  EXPECT_TRUE(x.run_all({}, RunContext{}).outcomes.empty());
  EXPECT_TRUE(x.calls.empty());
}

TEST(ExperimentRunAll, OtherExceptionsAreNotTurnedIntoAStatus) {
  // A UserError or any other failure is not "unsupported": it propagates (exit 2 or 1).
  Scripted x;
  EXPECT_THROW(x.run_all({instance("a", "a"), instance("user_error", "u")}, RunContext{}),
               UserError);
  EXPECT_THROW(x.run_all({instance("broken", "b"), instance("a", "a")}, RunContext{}),
               std::runtime_error);
  // The run stopped at the failing encoder.
  EXPECT_EQ(x.calls, (std::vector<std::string>{"a", "user_error", "broken"}));
}

TEST(Metric, DefaultValueIsNaN) {
  EXPECT_TRUE(std::isnan(Metric{}.value));
  EXPECT_EQ(EncoderOutcome{}.status, Status::ok);
}

}  // namespace
}  // namespace posbench
