// The transformer of trained_extrapolation: each family's injection equals the scheme's own
// operation (harness/analysis/apply.h: add_positional, rotate, add_bias, float64) on the same
// tensors; each trainable counterpart (learned, t5, kerple, fire) equals its scheme at
// initialisation; a finite-difference gradient check of a tiny float64 model.
#include <gtest/gtest.h>

#include <cmath>

#include "harness/analysis/apply.h"
#include "harness/experiments/trained/model.h"
#include "harness/experiments/trained/trainer.h"
#include "tests/harness/experiments/trained/scheme_ref.h"
#include "tests/test_util.h"

namespace posbench::trained {
namespace {

using torch::Tensor;

using test::scheme;

std::vector<double> values(const Tensor& t) {
  const Tensor c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

void expect_near(const std::vector<double>& a, const std::vector<double>& b, double tol,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double worst = 0;
  // Relative to the value's size where it exceeds 1 (kerple power reaches 300^2 here).
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  EXPECT_LE(worst, tol) << what;
}

Positions explicit_positions(std::vector<int64_t> row) {
  Positions p;
  p.rows.push_back(std::move(row));
  return p;
}

const std::vector<int64_t> kGapped = {0, 3, 4, 9, 20, 21, 50, 130, 131, 300};

TEST(TrainedInjection, AdditiveEqualsTheSchemesAddPositional) {
  for (const auto& [name, params] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"sinusoidal", {}}, {"learned", {{"max_len", 512}}}, {"nope", {}}}) {
    for (bool trainable : {false, true}) {
      const SchemeRef s = scheme(name, params);
      auto inj = make_injector(s, 16, 2, trainable, torch::kDouble);
      torch::manual_seed(0);
      const Tensor x = torch::randn({int64_t(kGapped.size()), 16}, torch::kDouble);
      std::vector<double> want = values(x);
      add_positional(*s.encoder, kGapped, 16, want.data());
      // nope adds nothing (is_nope() skips the add, which the model does); others add PE.
      const Tensor got = inj->is_nope() ? x : x + inj->table(explicit_positions(kGapped))[0];
      expect_near(values(got), want, 1e-12, name + (trainable ? " trainable" : " frozen"));
      EXPECT_EQ(inj->trainable(), trainable && name == "learned") << name;
    }
  }
}

TEST(TrainedInjection, LearnedCounterpartFollowsTheOutOfRangePolicy) {
  const std::vector<int64_t> beyond = {0, 2, 5, 7, 11, 19};  // max_len 8: 11 and 19 are outside
  for (const char* policy : {"clamp", "interpolate"}) {
    const SchemeRef s = scheme("learned", {{"max_len", 8}, {"out_of_range", policy}});
    auto inj = make_injector(s, 6, 1, true, torch::kDouble);
    std::vector<double> want(beyond.size() * 6);
    s.encoder->additive_table(beyond, 6, want.data());
    expect_near(values(inj->table(explicit_positions(beyond))), want, 1e-12, policy);
  }
  const SchemeRef s = scheme("learned", {{"max_len", 8}});
  auto inj = make_injector(s, 6, 1, true, torch::kDouble);
  EXPECT_THROW(inj->table(explicit_positions(beyond)), UnsupportedPosition);
  EXPECT_NO_THROW(inj->table(Positions::contiguous(8)));
}

// q [1, H, T, hd] rotated by the model equals apply.h's rotate on the same numbers ([T, H, hd]).
void check_rotary(const SchemeRef& s, int64_t heads, int64_t hd, const std::string& what) {
  auto inj = make_injector(s, heads * hd, heads, false, torch::kDouble);
  const int64_t T = int64_t(kGapped.size());
  torch::manual_seed(1);
  const Tensor x = torch::randn({1, heads, T, hd}, torch::kDouble);
  for (Role role : {Role::query, Role::key}) {
    auto [c, sn] = inj->rotary(explicit_positions(kGapped), role);
    const Tensor got = apply_rotary(x, c, sn, inj->pairing()).permute({0, 2, 1, 3});  // [1,T,H,hd]
    std::vector<double> want = values(x.permute({0, 2, 1, 3}));
    rotate(*s.encoder, kGapped, heads, hd, RotaryContext{role, T}, want.data());
    expect_near(values(got), want, 1e-12, what + (role == Role::query ? " query" : " key"));
  }
}

TEST(TrainedInjection, RotaryEqualsTheSchemesRotatePerRole) {
  check_rotary(scheme("rope"), 2, 8, "rope");
  check_rotary(scheme("rope", {{"layout", "interleaved"}}), 2, 8, "rope interleaved");
  check_rotary(scheme("rope", {{"rotary_fraction", 0.5}}), 2, 8, "rope partial");
  check_rotary(scheme("xpos", {{"scale_base", 16}}), 2, 8, "xpos");  // query and key differ
}

// b [1, H, T, T] of the injector equals add_bias on zeros (frozen and trainable at init).
void check_bias(const SchemeRef& s, bool trainable, const std::string& what) {
  const int64_t H = 3, T = int64_t(kGapped.size());
  auto inj = make_injector(s, 12, H, trainable, torch::kDouble);
  EXPECT_EQ(inj->trainable(), trainable) << what;
  std::vector<double> want(size_t(H * T * T), 0.0);
  add_bias(*s.encoder, kGapped, kGapped, H, want.data());
  expect_near(values(inj->bias(explicit_positions(kGapped))), want, 1e-12, what);
}

TEST(TrainedInjection, BiasAndTrainableCounterpartsEqualTheSchemeAtInit) {
  check_bias(scheme("alibi"), false, "alibi");
  for (bool tr : {false, true}) {
    const std::string m = tr ? " trainable" : " frozen";
    check_bias(scheme("t5"), tr, "t5" + m);
    check_bias(scheme("t5", {{"bidirectional", false}, {"num_buckets", 16}, {"max_distance", 40}}),
               tr, "t5 causal" + m);
    check_bias(scheme("kerple"), tr, "kerple log" + m);
    check_bias(scheme("kerple", {{"variant", "power"}, {"seed", 3}}), tr, "kerple power" + m);
    check_bias(scheme("kerple", {{"r1", {0.5, 1, 2}}, {"r2", {0.1, 0.2, 0.3}}}), tr,
               "kerple r" + m);
    check_bias(scheme("fire", {{"L_thr", 8}}), tr, "fire" + m);
    check_bias(scheme("fire", {{"seed", 7}, {"hidden", 5}, {"c", 2.0}}), tr, "fire seed 7" + m);
  }
}

// Central differences of the masked loss against autograd for a tiny float64 model, on several
// entries of every parameter tensor (the position parameters included).
void gradient_check(const SchemeRef& s, bool trainable) {
  ModelOptions o;
  o.layers = 1, o.d_model = 8, o.heads = 2, o.ff_mult = 2;
  torch::manual_seed(5);
  Transformer model(o, make_injector(s, o.d_model, o.heads, trainable, torch::kDouble),
                    torch::kDouble);
  const TaskSpec copy{TaskKind::copy, 10, true};
  Rng rng(2, "g");
  const Batch b = make_batch({make_example(copy, 3, rng), make_example(copy, 2, rng)});
  const Tensor in = torch::tensor(b.inputs, torch::kLong).view({b.rows, b.cols});
  const Positions pos = Positions::contiguous(b.cols);
  auto loss = [&] { return masked_loss(model->forward(in, pos), b); };
  model->zero_grad();
  loss().backward();
  int checked = 0;
  for (const auto& item : model->named_parameters()) {
    Tensor p = item.value();
    const Tensor g = p.grad().clone().flatten();
    const int64_t n = p.numel();
    for (int64_t k : {int64_t(0), n / 2, n - 1}) {
      torch::NoGradGuard ng;
      Tensor flat = p.view({-1});
      const double old = flat[k].item<double>(), h = 1e-6;
      flat[k] = old + h;
      const double up = loss().item<double>();
      flat[k] = old - h;
      const double down = loss().item<double>();
      flat[k] = old;
      const double fd = (up - down) / (2 * h), ad = g[k].item<double>();
      EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::abs(fd)))
          << s.name << " " << item.key() << "[" << k << "]";
      ++checked;
    }
  }
  EXPECT_GE(checked, 30) << s.name;
}

TEST(TrainedInjection, FiniteDifferenceGradientsMatchAutogradInFloat64) {
  gradient_check(scheme("learned", {{"max_len", 16}}), true);
  gradient_check(scheme("rope"), false);
  gradient_check(scheme("xpos"), false);
  gradient_check(scheme("t5", {{"bidirectional", false}}), true);
  gradient_check(scheme("kerple"), true);
  gradient_check(scheme("fire", {{"L_thr", 2}}), true);  // L_thr < i: its gradient is exercised
}

}  // namespace
}  // namespace posbench::trained
