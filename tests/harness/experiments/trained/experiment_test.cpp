// trained_extrapolation end to end: a tiny training that must learn (copy at train_length 4),
// determinism (same config, seed and threads: identical curves), exact match by teacher forcing
// equals greedy decoding on a partly trained model, and bad parameters as errors with JSON paths.
#include <gtest/gtest.h>

#include "harness/experiments/trained/trainer.h"
#include "tests/harness/experiments/property_test_util.h"

namespace posbench::trained {
namespace {

using nlohmann::json;
using test::curve;
using test::metric;

const json kTiny = {{"tasks", {"copy"}}, {"train_length", 4}, {"eval_lengths", {4, 8}},
                    {"steps", 300},      {"batch", 32},       {"d_model", 32},
                    {"heads", 2},        {"lr", 3e-3},        {"warmup_steps", 30},
                    {"eval_samples", 64}};

ExperimentResult run_tiny(const json& params, const json& encoder, uint64_t seed) {
  const auto e = test::make_experiment("trained_extrapolation", params);
  const EncoderInstance enc = test::make_encoder(encoder);
  e->check(enc);
  return e->run_all({enc}, RunContext{seed, 1, 0, ""});
}

TEST(TrainedExtrapolation, TinyCopyTrainingLearnsInDistribution) {
  const ExperimentResult r = run_tiny(kTiny, {{"name", "sinusoidal"}}, 0);
  const EncoderOutcome& o = r.outcomes.at(0);
  EXPECT_GE(metric(o, "copy_exact_match_in_distribution"), 0.9);
  const Curve& loss = curve(o, "copy_train_loss");
  ASSERT_GE(loss.y.size(), 10u);
  EXPECT_LT(loss.y.back(), 0.25 * loss.y.front());  // the loss fell
  EXPECT_EQ(metric(o, "position_params_trained"), 0.0);
  EXPECT_EQ(o.extra["position_params"], "frozen");
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].columns, (std::vector<std::string>{"n=4", "n=8"}));
}

TEST(TrainedExtrapolation, SameSeedAndThreadsGiveIdenticalCurves) {
  json p = kTiny;
  p["steps"] = 20;
  p["warmup_steps"] = 5;
  p["eval_samples"] = 16;
  for (const json& enc : {json{{"name", "t5"}}, json{{"name", "rope"}}}) {
    const auto a = run_tiny(p, enc, 3), b = run_tiny(p, enc, 3), c = run_tiny(p, enc, 4);
    for (const char* name : {"copy_train_loss", "copy_exact_match", "copy_token_accuracy"})
      EXPECT_EQ(curve(a.outcomes[0], name).y, curve(b.outcomes[0], name).y) << name;
    EXPECT_NE(curve(a.outcomes[0], "copy_train_loss").y, curve(c.outcomes[0], "copy_train_loss").y);
  }
  EXPECT_EQ(run_tiny(p, {{"name", "t5"}}, 3).outcomes[0].extra["position_params"], "trained");
}

// --threads trains several (task, scheme) pairs at once; each must give exactly the numbers of a
// run on one thread, merged in config order (the independent truth: the one-thread run).
TEST(TrainedExtrapolation, ThreadCountDoesNotChangeTheNumbers) {
  json p = kTiny;
  p["tasks"] = {"copy", "reverse"};
  p["steps"] = 20;
  p["warmup_steps"] = 5;
  p["eval_samples"] = 16;
  const auto e = test::make_experiment("trained_extrapolation", p);
  std::vector<EncoderInstance> encs;
  for (const json& enc : {json{{"name", "rope"}}, json{{"name", "t5"}}, json{{"name", "alibi"}}})
    encs.push_back(test::make_encoder(enc));
  for (const auto& enc : encs) e->check(enc);
  const ExperimentResult one = e->run_all(encs, RunContext{3, 1, 0, ""});
  const ExperimentResult two = e->run_all(encs, RunContext{3, 2, 0, ""});
  ASSERT_EQ(one.outcomes.size(), 3u);
  ASSERT_EQ(two.outcomes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(two.outcomes[i].label, one.outcomes[i].label);
    ASSERT_EQ(two.outcomes[i].curves.size(), 6u);  // 3 curves x 2 tasks
    for (const char* name : {"copy_train_loss", "copy_exact_match", "copy_token_accuracy",
                             "reverse_train_loss", "reverse_exact_match", "reverse_token_accuracy"})
      EXPECT_EQ(curve(two.outcomes[i], name).y, curve(one.outcomes[i], name).y)
          << one.outcomes[i].label << " " << name;
  }
  // The schemes differ from each other (so equal curves above are not all one curve).
  EXPECT_NE(curve(one.outcomes[0], "copy_train_loss").y,
            curve(one.outcomes[1], "copy_train_loss").y);
  ASSERT_EQ(two.tables.size(), 2u);
  EXPECT_EQ(two.tables[1].rows, (std::vector<std::string>{"rope", "t5", "alibi"}));
}

TEST(TrainedExtrapolation, TeacherForcedExactMatchEqualsGreedyDecoding) {
  ModelOptions mo;
  mo.d_model = 32, mo.heads = 2;
  torch::manual_seed(0);
  const SchemeRef s{"rope", json::object(),
                    std::shared_ptr<const Encoder>(test::make_encoder({{"name", "rope"}}).encoder)};
  Transformer model(mo, make_injector(s, 32, 2, false));
  const TaskSpec copy{TaskKind::copy, 10, true};
  TrainOptions o;
  o.train_length = 4, o.steps = 120, o.lr = 3e-3, o.warmup_steps = 10;
  train(model, copy, o);  // partly trained: some examples right, some wrong
  model->eval();
  Rng rng(9, "greedy");
  int agree = 0, right = 0, wrong = 0;
  for (int64_t n : {3, 4, 6}) {
    for (int k = 0; k < 20; ++k) {
      const Example ex = make_example(copy, n, rng);
      const Positions pos = Positions::contiguous(int64_t(ex.tokens.size()));
      Positions shifted = pos;  // teacher forcing reads T - 1 inputs
      shifted.rows[0].pop_back();
      const bool tf = teacher_forced_exact(model, {ex}, shifted)[0];
      const auto out = greedy_decode(model, ex, copy.output_length(n), pos);
      const bool greedy = std::equal(out.begin(), out.end(), ex.tokens.begin() + ex.output_start);
      agree += tf == greedy;
      (tf ? right : wrong) += 1;
    }
  }
  EXPECT_EQ(agree, 60);
  EXPECT_GT(right, 0);  // both outcomes occur, so the equivalence was tested on both
  EXPECT_GT(wrong, 0);
}

TEST(TrainedExtrapolation, LearnedPastItsTableIsUnsupportedThereNotAFailure) {
  json p = kTiny;
  p["steps"] = 5;
  p["warmup_steps"] = 1;
  p["eval_samples"] = 4;
  const ExperimentResult r = run_tiny(p, {{"name", "learned"}, {"params", {{"max_len", 9}}}}, 0);
  const EncoderOutcome& o = r.outcomes[0];
  const Curve& em = curve(o, "copy_exact_match");
  EXPECT_FALSE(std::isnan(em.y[0]));  // n = 4: 8 input positions fit in 9 rows
  EXPECT_TRUE(std::isnan(em.y[1]));   // n = 8: 16 positions do not
  EXPECT_EQ(o.extra["unsupported"]["copy"].size(), 1u);
  EXPECT_EQ(metric(o, "position_params_trained"), 1.0);
}

// The memory guard's estimate covers at least the parameters, their gradients and AdamW's two
// moments (float32: 16 bytes per parameter of the model actually built), and grows with the batch.
TEST(TrainedExtrapolation, MemoryEstimateCoversParametersOptimizerAndBatch) {
  const auto e = test::make_experiment("trained_extrapolation", json::object());
  const EncoderInstance enc = test::make_encoder({{"name", "rope"}});
  const SchemeRef s{"rope", enc.params, enc.encoder};
  Transformer model(ModelOptions{}, make_injector(s, 64, 4, false));
  EXPECT_GE(e->memory_bytes(enc), uint64_t(16 * model->parameter_count()));
  const auto big = test::make_experiment("trained_extrapolation", {{"batch", 4096}});
  EXPECT_GT(big->memory_bytes(enc), 5 * e->memory_bytes(enc));  // activations ~ batch
}

TEST(TrainedExtrapolation, BadParametersAreErrorsWithTheirJsonPath) {
  using test::config_problems;
  using test::expect_problem;
  expect_problem(config_problems("trained_extrapolation", {{"train_length", 0}}),
                 "experiments[0].train_length", {"got 0", ">= 1"});
  expect_problem(
      config_problems("trained_extrapolation", {{"train_length", 8}, {"eval_lengths", {8, 4}}}),
      "experiments[0].eval_lengths", {"4", ">= train_length = 8"});
  expect_problem(config_problems("trained_extrapolation", {{"tasks", {"copy", "revrse"}}}),
                 "experiments[0].tasks[1]", {"revrse", "reverse"});
  expect_problem(config_problems("trained_extrapolation", {{"d_model", 30}, {"heads", 4}}),
                 "experiments[0].heads", {"got 4", "d_model = 30"});
  expect_problem(config_problems("trained_extrapolation",
                                 {{"position_sampling", "randomized"}, {"max_position", 20}}),
                 "experiments[0].max_position", {"got 20", "max_position >= 66"});
}

}  // namespace
}  // namespace posbench::trained
