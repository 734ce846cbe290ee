// The trainer's two shortcuts against the plain computation they replace, on float64 models:
// training_loss (position-wise layers on the real cells only, the head on the output tokens only)
// equals masked_loss of the padded forward, value and gradients, for every family; and train()
// (each AdamW group's parameters in one buffer) takes the steps of torch's AdamW over the
// parameter tensors one by one, clipped over model->parameters(), on the padded loss.
#include <gtest/gtest.h>

#include "harness/experiments/trained/trainer.h"
#include "tests/harness/experiments/trained/scheme_ref.h"
#include "tests/test_util.h"

namespace posbench::trained {
namespace {

using torch::Tensor;

using test::scheme;

Transformer tiny_model(const SchemeRef& s, bool trainable, uint64_t seed) {
  ModelOptions o;
  o.layers = 2, o.d_model = 8, o.heads = 2, o.ff_mult = 2;
  torch::manual_seed(seed);
  return Transformer(o, make_injector(s, o.d_model, o.heads, trainable, torch::kDouble),
                     torch::kDouble);
}

// Largest |a - b| / max(1, |b|) over every parameter's gradient of the two models.
double worst_gradient_difference(Transformer& a, Transformer& b) {
  const auto pa = a->parameters(), pb = b->parameters();
  EXPECT_EQ(pa.size(), pb.size());
  double worst = 0;
  for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    if (!pa[i].grad().defined() || !pb[i].grad().defined()) {
      EXPECT_EQ(pa[i].grad().defined(), pb[i].grad().defined()) << "parameter " << i;
      continue;
    }
    const Tensor d = (pa[i].grad() - pb[i].grad()).abs() / pb[i].grad().abs().clamp_min(1.0);
    worst = std::max(worst, d.max().item<double>());
  }
  return worst;
}

TEST(TrainedTrainer, PackedLossAndGradientsEqualThePaddedForward) {
  const TaskSpec copy{TaskKind::copy, 10, true, true};
  Rng rng(3, "packing");
  // n 1..5 in one batch: rows of 3 to 11 real cells, padded to 11.
  std::vector<Example> ex;
  for (int64_t n : {3, 1, 5, 2, 5, 4}) ex.push_back(make_example(copy, n, rng));
  const Batch b = make_batch(ex);
  ASSERT_EQ(b.cols, 11);
  const Tensor inputs = torch::tensor(b.inputs, torch::kLong).view({b.rows, b.cols});
  const std::vector<std::pair<std::string, nlohmann::json>> schemes = {
      {"sinusoidal", {}}, {"learned", {{"max_len", 64}}},
      {"nope", {}},       {"rope", {}},
      {"xpos", {}},       {"alibi", {}},
      {"t5", {}},         {"kerple", {}},
      {"fire", {}}};
  for (const auto& [name, params] : schemes)
    for (bool randomized : {false, true}) {
      const SchemeRef s = scheme(name, params);
      Transformer packed = tiny_model(s, true, 11), padded = tiny_model(s, true, 11);
      Rng prng(5, "positions");
      const Positions pos =
          sample_positions({randomized, 64}, randomized ? b.rows : 1, b.cols, prng);
      const Tensor lp = training_loss(packed, b, pos);
      const Tensor ld = masked_loss(padded->forward(inputs, pos), b);
      const std::string what = name + (randomized ? " randomized" : " contiguous");
      EXPECT_NEAR(lp.item<double>(), ld.item<double>(), 1e-13 * std::abs(ld.item<double>()))
          << what;
      lp.backward();
      ld.backward();
      EXPECT_LE(worst_gradient_difference(packed, padded), 1e-12) << what;
    }
}

TEST(TrainedTrainer, PackingKeepsRealCellsInRowMajorOrderAndPointsPaddingAtTheZeroRow) {
  const Packing p = Packing::of({2, 3, 1}, 3);
  EXPECT_EQ(p.count, 6);
  EXPECT_FALSE(p.dense());
  const std::vector<int64_t> real(p.real.data_ptr<int64_t>(), p.real.data_ptr<int64_t>() + 6);
  EXPECT_EQ(real, (std::vector<int64_t>{0, 1, 3, 4, 5, 6}));
  const std::vector<int64_t> scatter(p.scatter.data_ptr<int64_t>(),
                                     p.scatter.data_ptr<int64_t>() + 9);
  EXPECT_EQ(scatter, (std::vector<int64_t>{0, 1, 6, 2, 3, 4, 5, 6, 6}));
  EXPECT_TRUE(Packing::of({3, 3}, 3).dense());
}

// The reference: train()'s contract done the plain way (tasks.h's padded batch, masked_loss of
// the padded forward, torch's AdamW on the parameter tensors as they are, in the same two groups,
// clip_grad_norm_ over model->parameters()). The data are drawn as trainer.h documents: per
// example n = 1 + floor(u * train_length) from the seed's "trained_extrapolation/train/<task>"
// stream, then the positions.
void reference_train(Transformer& model, const TaskSpec& task, const TrainOptions& o) {
  model->train();
  std::vector<Tensor> decay, no_decay;
  for (const auto& item : model->named_parameters()) {
    const bool matrix = item.value().dim() >= 2 && item.key().find("position") == std::string::npos;
    (matrix ? decay : no_decay).push_back(item.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(o.lr).weight_decay(0.0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));
  Rng data(o.seed, "trained_extrapolation/train/" + std::string(to_string(task.kind)));
  for (int64_t s = 0; s < o.steps; ++s) {
    std::vector<Example> ex;
    for (int64_t i = 0; i < o.batch; ++i) {
      const int64_t n =
          1 + std::min(o.train_length - 1, int64_t(data.uniform() * double(o.train_length)));
      ex.push_back(make_example(task, n, data));
    }
    const Batch b = make_batch(ex);
    const Positions pos = sample_positions(o.sampling, b.rows, b.cols, data);
    for (auto& g : opt.param_groups()) g.options().set_lr(learning_rate(o, s));
    opt.zero_grad();
    const Tensor inputs = torch::tensor(b.inputs, torch::kLong).view({b.rows, b.cols});
    masked_loss(model->forward(inputs, pos), b).backward();
    const double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), o.clip);
    EXPECT_GT(norm, o.clip) << "step " << s << ": the clipping must act for the test to see it";
    opt.step();
  }
}

TEST(TrainedTrainer, TrainTakesTheStepsOfPlainAdamWOnThePaddedLoss) {
  const TaskSpec reverse{TaskKind::reverse, 10, true, true};
  TrainOptions o;
  o.train_length = 5, o.steps = 4, o.batch = 8, o.warmup_steps = 2, o.seed = 9;
  o.lr = 1e-2, o.clip = 0.5;  // a small clip: the clipping acts on these steps
  for (const char* name : {"rope", "t5"}) {
    const SchemeRef s = scheme(name);
    Transformer fast = tiny_model(s, true, 4), plain = tiny_model(s, true, 4),
                init = tiny_model(s, true, 4);
    // One frozen parameter: left out of the buffers, so AdamW neither moves nor decays it.
    for (Transformer* m : {&fast, &plain})
      (*m)->named_parameters()["ln_f.weight"].requires_grad_(false);
    train(fast, reverse, o);
    reference_train(plain, reverse, o);
    const auto pf = fast->named_parameters(), pp = plain->named_parameters(),
               p0 = init->named_parameters();
    ASSERT_EQ(pf.size(), pp.size());
    double worst = 0, moved = 0;
    for (size_t i = 0; i < pf.size(); ++i) {
      const Tensor f = pf[i].value(), p = pp[i].value();
      worst = std::max(worst, (f - p).abs().max().item<double>());
      ASSERT_EQ(f.storage().nbytes(), size_t(f.numel()) * sizeof(double)) << pf[i].key();
      moved = std::max(moved, (f - p0[i].value()).abs().max().item<double>());
    }
    EXPECT_LE(worst, 1e-10) << name;
    EXPECT_TRUE(torch::equal(fast->named_parameters()["ln_f.weight"],
                             init->named_parameters()["ln_f.weight"]))
        << name
        << ": the frozen parameter moved";  // float64 rounding of the clip norm, through Adam
    EXPECT_GT(moved, 1e-3) << name << ": the steps changed the parameters";
  }
}

}  // namespace
}  // namespace posbench::trained
