// embedding_interference, on the experiment's output, against closed forms and float64 loops
// written here: nope (PE = 0) decodes position at chance and tokens perfectly; E = 0 decodes
// sinusoidal positions perfectly; orthogonal E and PE subspaces give zero cross terms; the four
// terms and the logits of additive, rotary and bias schemes match a reference built from the
// documented draws and the schemes' formulas; thread-count independence; bad params with JSON
// paths.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/rng.h"
#include "harness/run/runner.h"
#include "property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

const json kSmall = {{"dim", 16}, {"positions", 64}, {"samples", 32}, {"vocab", 128}};

json small(json extra) {
  json p = kSmall;
  for (auto& [k, v] : extra.items()) p[k] = v;
  return p;
}

EncoderOutcome run_interference(const json& params, const json& spec) {
  return run_experiment("embedding_interference", params, spec).outcomes.at(0);
}

// E [V, d] as documented: sigma * the N(0, 1) draws of the stream ".../embeddings/d=<d>".
std::vector<double> embeddings(int64_t V, int64_t d, double sigma, uint64_t seed = 0) {
  std::vector<double> z =
      Rng(seed, fmt::format("embedding_interference/embeddings/d={}", d)).normal_vector(V * d);
  for (double& x : z) x *= sigma;
  return z;
}

// W [d, d] row-major, entries N(0, 1/d), from the stream ".../w_q/d=<d>" or ".../w_k/d=<d>".
std::vector<double> projection(const std::string& which, int64_t d, uint64_t seed = 0) {
  return Rng(seed, fmt::format("embedding_interference/{}/d={}", which, d))
      .normal_vector(d * d, 1.0 / std::sqrt(double(d)));
}

// W^T x for x [d].
std::vector<double> project(const std::vector<double>& W, const std::vector<double>& x) {
  const size_t d = x.size();
  std::vector<double> out(d, 0.0);
  for (size_t r = 0; r < d; ++r)
    for (size_t c = 0; c < d; ++c) out[c] += W[r * d + c] * x[r];
  return out;
}

// Sinusoidal PE(p) [d], interleaved: sin at 2i, cos at 2i + 1, angle p * 10000^(-2i/d).
std::vector<double> sinusoid(int64_t p, int64_t d) {
  std::vector<double> pe(static_cast<size_t>(d));
  for (int64_t i = 0; i < d / 2; ++i) {
    const double a = double(p) * std::pow(10000.0, -2.0 * double(i) / double(d));
    pe[size_t(2 * i)] = std::sin(a), pe[size_t(2 * i + 1)] = std::cos(a);
  }
  return pe;
}

// RoPE (half pairing, base 10000) of x at position p.
std::vector<double> rotate_rope(std::vector<double> x, int64_t p) {
  const size_t h = x.size() / 2;
  for (size_t i = 0; i < h; ++i) {
    const double a = double(p) * std::pow(10000.0, -2.0 * double(i) / double(x.size()));
    const double u = x[i], v = x[i + h];
    x[i] = u * std::cos(a) - v * std::sin(a), x[i + h] = u * std::sin(a) + v * std::cos(a);
  }
  return x;
}

std::vector<double> row(const std::vector<double>& M, int64_t r, int64_t d) {
  return std::vector<double>(M.begin() + r * d, M.begin() + (r + 1) * d);
}

TEST(EmbeddingInterference, NopeDecodesPositionAtChanceAndTokensPerfectly) {
  const auto o = run_interference(kSmall, {{"name", "nope"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  // PE = 0: every key is at the same distance, the tie is shared: exactly 1/N.
  EXPECT_DOUBLE_EQ(metric(o, "position_nearest_pe_accuracy"), 1.0 / 64);
  EXPECT_DOUBLE_EQ(metric(o, "position_chance_accuracy"), 1.0 / 64);
  // The ridge probe sees features unrelated to p: no better than the test set's mean.
  EXPECT_LT(metric(o, "position_ridge_r2_unseen_tokens"), 0.05);
  EXPECT_EQ(metric(o, "token_accuracy_with_position"), 1.0);
  EXPECT_EQ(metric(o, "token_accuracy_without_position"), 1.0);
  EXPECT_EQ(metric(o, "norm_ratio_mean"), 0.0);
  EXPECT_TRUE(std::isnan(metric(o, "subspace_overlap")));
  EXPECT_TRUE(o.extra["undefined"].contains("subspace_overlap"));
  // All of the logit is content.
  EXPECT_EQ(metric(o, "logit_share_content_content"), 1.0);
  for (const char* t : {"logit_share_content_position", "logit_share_position_content",
                        "logit_share_position_position"})
    EXPECT_EQ(metric(o, t), 0.0) << t;
  EXPECT_NEAR(metric(o, "logit_share_position_given_content"), 0.0, 1e-20);
}

TEST(EmbeddingInterference, ZeroEmbeddingsDecodeSinusoidalPositionsPerfectly) {
  const auto o = run_interference(small({{"embedding_std", 0}}), {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "position_nearest_pe_accuracy"), 1.0);
  // x = PE(p) has cosine 0 with every (zero) embedding: a tie over the vocabulary.
  EXPECT_DOUBLE_EQ(metric(o, "token_accuracy_with_position"), 1.0 / 128);
  EXPECT_EQ(metric(o, "mean_embedding_norm"), 0.0);
  EXPECT_TRUE(std::isnan(metric(o, "norm_ratio_mean")));
  EXPECT_EQ(metric(o, "logit_share_position_position"), 1.0);
}

TEST(EmbeddingInterference, SinusoidalNormRatioIsSqrtHalfDimOverTheMeanEmbeddingNorm) {
  // |PE(p)|^2 = sum_i sin^2 + cos^2 = d / 2 at every p.
  const int64_t V = 128, d = 16;
  const auto o = run_interference(small({{"embedding_std", 0.5}}), {{"name", "sinusoidal"}});
  const std::vector<double> E = embeddings(V, d, 0.5);
  double mean_norm = 0;
  for (int64_t w = 0; w < V; ++w) mean_norm += std::sqrt(dot(row(E, w, d), row(E, w, d))) / V;
  EXPECT_NEAR(metric(o, "mean_embedding_norm"), mean_norm, 1e-12);
  EXPECT_NEAR(metric(o, "norm_ratio_mean"), std::sqrt(d / 2.0) / mean_norm, 1e-12);
  EXPECT_NEAR(metric(o, "norm_ratio_min"), std::sqrt(d / 2.0) / mean_norm, 1e-12);
  EXPECT_NEAR(metric(o, "norm_ratio_max"), std::sqrt(d / 2.0) / mean_norm, 1e-12);
  EXPECT_NEAR(metric(o, "norm_ratio_cv"), 0.0, 1e-12);
  EXPECT_EQ(unit_of(o, "position_ridge_rmse_unseen_tokens"), "positions");
  EXPECT_EQ(unit_of(o, "norm_ratio_mean"), "1");
}

// Writes a float64 .npy [rows, d] whose entry (r, c) is f(r, c).
template <class F>
std::string write_matrix(const TempDir& dir, const std::string& name, int64_t rows, int64_t d,
                         F f) {
  NpyArray a;
  a.dtype = NpyDtype::float64;
  a.shape = {rows, d};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d; ++c) a.f64.push_back(f(r, c));
  write_npy(dir / name, a);
  return (dir / name).string();
}

TEST(EmbeddingInterference, OrthogonalSubspacesGiveZeroCrossTerms) {
  // PE lives in columns [0, 8), E in [8, 16): with the raw dot product (identity projection)
  // every e_i . p_j is a sum of products with a zero factor, exactly 0.
  TempDir dir("posbench-interference");
  const int64_t d = 16, N = 64, V = 40;
  const std::string pe = write_matrix(dir, "pe.npy", N, d, [](int64_t r, int64_t c) {
    return c < 8 ? std::sin(0.37 * double(r + 1) * double(c + 1)) : 0.0;
  });
  const std::string emb = write_matrix(dir, "e.npy", V, d, [](int64_t r, int64_t c) {
    return c >= 8 ? std::cos(1.3 * double(r + 2) * double(c)) : 0.0;
  });
  const json learned = {{"name", "learned"},
                        {"params", {{"max_len", N}, {"init", "file"}, {"path", pe}}}};
  json params = {{"dim", d}, {"positions", N}, {"samples", 32}, {"embeddings", emb}};
  params["projection"] = "identity";
  const auto o = run_interference(params, learned);
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_EQ(metric(o, "logit_share_content_position"), 0.0);
  EXPECT_EQ(metric(o, "logit_share_position_content"), 0.0);
  EXPECT_NEAR(metric(o, "subspace_overlap"), 0.0, 1e-24);
  EXPECT_NEAR(metric(o, "logit_share_content_content") + metric(o, "logit_share_position_position"),
              1.0, 1e-12);
  for (const json& cell : o.extra["logit_sample"]) {
    EXPECT_EQ(cell["terms"][1].get<double>(), 0.0);
    EXPECT_EQ(cell["terms"][2].get<double>(), 0.0);
  }
  // Random projections mix the subspaces: the cross terms are no longer zero.
  params["projection"] = "random";
  const auto mixed = run_interference(params, learned);
  EXPECT_NE(metric(mixed, "logit_share_content_position"), 0.0);
}

// The four terms of the sample cells against (e_i + p_i)^T W_q W_k^T (e_j + p_j), each term
// computed here in float64 from the documented draws and the sinusoidal formula.
void expect_four_terms(const std::string& projection_kind) {
  SCOPED_TRACE(projection_kind);
  const int64_t V = 128, d = 16;
  const auto o = run_interference(small({{"embedding_std", 0.7}, {"projection", projection_kind}}),
                                  {{"name", "sinusoidal"}});
  const std::vector<double> E = embeddings(V, d, 0.7);
  const bool id = projection_kind == "identity";
  const std::vector<double> Wq = projection("w_q", d), Wk = projection("w_k", d);
  auto q = [&](const std::vector<double>& x) { return id ? x : project(Wq, x); };
  auto k = [&](const std::vector<double>& x) { return id ? x : project(Wk, x); };
  ASSERT_EQ(o.extra["logit_sample"].size(), 16u);
  double sum_shares = 0;
  for (const char* t : {"logit_share_content_content", "logit_share_content_position",
                        "logit_share_position_content", "logit_share_position_position"})
    sum_shares += metric(o, t);
  EXPECT_NEAR(sum_shares, 1.0, 1e-12);
  for (const json& cell : o.extra["logit_sample"]) {
    const auto ei = row(E, cell["token_i"], d), ej = row(E, cell["token_j"], d);
    const auto pi = sinusoid(cell["position_i"], d), pj = sinusoid(cell["position_j"], d);
    std::vector<double> xi(d), xj(d);
    for (int64_t c = 0; c < d; ++c) xi[c] = ei[c] + pi[c], xj[c] = ej[c] + pj[c];
    const double logit = dot(q(xi), k(xj));
    const double ref[4] = {dot(q(ei), k(ej)), dot(q(ei), k(pj)), dot(q(pi), k(ej)),
                           dot(q(pi), k(pj))};
    const double tol = 1e-12 * (1 + std::abs(logit));
    double sum = 0;
    for (int t = 0; t < 4; ++t) {
      EXPECT_NEAR(cell["terms"][t].get<double>(), ref[t], tol) << cell;
      sum += cell["terms"][t].get<double>();
    }
    EXPECT_NEAR(sum, logit, tol) << cell;
    EXPECT_NEAR(cell["logit"].get<double>(), logit, tol) << cell;
  }
}

TEST(EmbeddingInterference, FourTermsSumToTheLogitIdentityProjection) {
  expect_four_terms("identity");
}
TEST(EmbeddingInterference, FourTermsSumToTheLogitRandomProjection) { expect_four_terms("random"); }

TEST(EmbeddingInterference, RotaryLogitsAreRotatedProjectedEmbeddings) {
  const int64_t V = 128, d = 16;
  const auto o = run_interference(small({{"embedding_std", 1.0}}), {{"name", "rope"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  const std::vector<double> E = embeddings(V, d, 1.0);
  const std::vector<double> Wq = projection("w_q", d), Wk = projection("w_k", d);
  for (const json& cell : o.extra["logit_sample"]) {
    const auto qi = rotate_rope(project(Wq, row(E, cell["token_i"], d)), cell["position_i"]);
    const auto kj = rotate_rope(project(Wk, row(E, cell["token_j"], d)), cell["position_j"]);
    const double ref = dot(qi, kj);
    EXPECT_NEAR(cell["logit"].get<double>(), ref, 1e-12 * (1 + std::abs(ref))) << cell;
    EXPECT_FALSE(cell.contains("terms"));
  }
  // A rotation keeps no PE vector: the sum's measures are null, with a reason.
  EXPECT_TRUE(std::isnan(metric(o, "position_nearest_pe_accuracy")));
  EXPECT_TRUE(std::isnan(metric(o, "logit_share_content_content")));
  EXPECT_TRUE(o.extra["not_applicable"].contains("logit_share_content_content"));
  EXPECT_EQ(metric(o, "token_accuracy_without_position"), 1.0);
  const double w = metric(o, "logit_share_position_given_content");
  EXPECT_GT(w, 0.0);
  EXPECT_LT(w, 1.0);
  const json& bar = o.extra["logit_variance_shares"]["shares"];
  EXPECT_NEAR(bar[0].get<double>() + bar[1].get<double>(), 1.0, 1e-15);
}

TEST(EmbeddingInterference, BiasShareIsThePositionGivenContentShareAndLogitsAddTheBias) {
  const int64_t V = 128, d = 16;
  const auto o =
      run_interference(small({{"embedding_std", 0.3}, {"heads", 4}}), {{"name", "alibi"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  // Content depends on the row only and the bias on the column only: on the full grid their
  // covariance is 0, so Cov(b, s) / Var(s) = Var(b) / Var(s) = E_c[Var_m(s)] / Var(s).
  EXPECT_NEAR(metric(o, "logit_share_position_bias"),
              metric(o, "logit_share_position_given_content"), 1e-12);
  const std::vector<double> E = embeddings(V, d, 0.3);
  const std::vector<double> Wq = projection("w_q", d), Wk = projection("w_k", d);
  const double m0 = std::pow(2.0, -8.0 / 4);  // ALiBi, 4 heads: head 0 slope 2^(-8/4)
  for (const json& cell : o.extra["logit_sample"]) {
    const double content =
        dot(project(Wq, row(E, cell["token_i"], d)), project(Wk, row(E, cell["token_j"], d)));
    const double b =
        -m0 * std::abs(cell["position_i"].get<double>() - cell["position_j"].get<double>());
    EXPECT_NEAR(cell["logit"].get<double>(), content + b, 1e-12 * (1 + std::abs(content + b)));
  }
  EXPECT_TRUE(std::isnan(metric(o, "token_accuracy_with_position")));
  EXPECT_TRUE(o.extra["seed_picture"].is_null());
  EXPECT_EQ(curve(o, "logit_share_position_bias_by_head").y.size(), 4u);
}

TEST(EmbeddingInterference, SeedPictureHoldsTheSentencesRawAndPrincipalComponents) {
  const int64_t V = 128, d = 16;
  const auto o = run_interference(small({{"embedding_std", 0.1}, {"sentence_length", 8}}),
                                  {{"name", "sinusoidal"}});
  const json& pic = o.extra["seed_picture"];
  ASSERT_EQ(pic["positions"].size(), 8u);
  const std::vector<double> E = embeddings(V, d, 0.1);
  for (int64_t t = 0; t < 8; ++t) {
    const int64_t w = pic["tokens"][t];
    const auto pe = sinusoid(t, d);
    EXPECT_NEAR(pic["raw"]["component_0"][t].get<double>(), E[w * d] + pe[0], 1e-15);
    EXPECT_NEAR(pic["raw"]["component_1"][t].get<double>(), E[w * d + 1] + pe[1], 1e-15);
  }
  // The principal components are centred and keep at most all the variance.
  double s1 = 0, s2 = 0;
  for (int64_t t = 0; t < 8; ++t)
    s1 += pic["principal"]["pc_1"][t].get<double>(),
        s2 += pic["principal"]["pc_2"][t].get<double>();
  EXPECT_NEAR(s1, 0.0, 1e-12);
  EXPECT_NEAR(s2, 0.0, 1e-12);
  const double e1 = pic["principal"]["explained_variance_ratio"][0];
  const double e2 = pic["principal"]["explained_variance_ratio"][1];
  EXPECT_GE(e1, e2);
  EXPECT_LE(e1 + e2, 1.0 + 1e-12);
}

TEST(EmbeddingInterference, SweepsGiveCurvesOverStdAndDim) {
  const auto o = run_interference(small({{"std_sweep", {0.02, 0.25, 1.0}}, {"dim_sweep", {8, 32}}}),
                                  {{"name", "sinusoidal"}});
  const Curve& by_std = curve(o, "token_accuracy_with_position_by_embedding_std");
  EXPECT_EQ(by_std.x, (std::vector<double>{0.02, 0.25, 1.0}));
  const Curve& by_dim = curve(o, "position_nearest_pe_accuracy_by_dim");
  EXPECT_EQ(by_dim.x, (std::vector<double>{8, 32}));
  // The sweep at the main scale repeats the main measurement exactly.
  const auto at = run_interference(small({{"embedding_std", 0.25}}), {{"name", "sinusoidal"}});
  EXPECT_EQ(by_std.y[1], metric(at, "token_accuracy_with_position"));
  const auto at32 = run_interference(small({{"dim", 32}}), {{"name", "sinusoidal"}});
  EXPECT_EQ(by_dim.y[1], metric(at32, "position_nearest_pe_accuracy"));
  // std_unit inv_sqrt_dim: 1 means 1/sqrt(dim).
  const auto rel = run_interference(small({{"embedding_std", 1.0}, {"std_unit", "inv_sqrt_dim"}}),
                                    {{"name", "sinusoidal"}});
  const auto abs = run_interference(small({{"embedding_std", 0.25}}), {{"name", "sinusoidal"}});
  EXPECT_EQ(metric(rel, "norm_ratio_mean"), metric(abs, "norm_ratio_mean"));
}

TEST(EmbeddingInterference, SameValuesAtOneAndTwoThreads) {
  const json params = small({{"std_sweep", {0.02, 1.0}}, {"dim_sweep", {8, 32}}});
  for (const json& spec : {json{{"name", "sinusoidal"}}, json{{"name", "rope"}},
                           json{{"name", "alibi"}}, json{{"name", "nope"}}})
    expect_same_values_for_1_and_2_omp_threads("embedding_interference", params, spec, 5);
}

TEST(EmbeddingInterference, BadParamsNameTheirJsonPath) {
  const std::string t = "embedding_interference";
  expect_problem(config_problems(t, {{"top_k", 100}}), "experiments[0].top_k", {"100", "dim"});
  expect_problem(config_problems(t, {{"positions", 16}, {"sentence_length", 32}}),
                 "experiments[0].sentence_length", {"32", "positions (16)"});
  expect_problem(config_problems(t, {{"dim_sweep", {64, 4}}}), "experiments[0].dim_sweep[1]",
                 {"4", "top_k"});
  expect_problem(config_problems(t, {{"embedding_std", -1}}), "experiments[0].embedding_std",
                 {"-1"});
  expect_problem(config_problems(t, {{"std_sweep", {0.1, -2}}}), "experiments[0].std_sweep",
                 {"-2"});
  expect_problem(config_problems(t, {{"embeddings_scale", "to_std"}}),
                 "experiments[0].embeddings_scale", {"no `embeddings`"});
  expect_problem(config_problems(t, {{"embeddings", "/nonexistent/e.npy"}}),
                 "experiments[0].embeddings", {"/nonexistent/e.npy"});
  expect_problem(config_problems(t, {{"projection", "identiy"}}), "experiments[0].projection",
                 {"identity"});
  expect_problem(config_problems(t, {{"dim", 15}}, "rope"), "experiments[0].encoders[0].params",
                 {"15"});
}

TEST(EmbeddingInterference, EmbeddingsFileIsCheckedAtTheHeaderAndReadAtRun) {
  TempDir dir("posbench-interference");
  const std::string wide =
      write_matrix(dir, "wide.npy", 10, 8, [](int64_t, int64_t) { return 1.0; });
  const std::string good = write_matrix(
      dir, "good.npy", 10, 16, [](int64_t r, int64_t c) { return double(r) - 0.5 * double(c); });
  const std::string t = "embedding_interference";
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", wide}}),
                 "experiments[0].embeddings", {"(10, 8)", "dim is 16"});
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", good}, {"vocab", 10}}),
                 "experiments[0].vocab", {"rows of the embeddings file"});
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", good}, {"dim_sweep", {8}}}),
                 "experiments[0].dim_sweep", {"fixed"});
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", good}, {"std_sweep", {1}}}),
                 "experiments[0].std_sweep", {"as_is"});
  // A 1-D file and a file whose dtype is not float: refused from the header.
  NpyArray one;
  one.shape = {5};
  one.f64 = {1, 2, 3, 4, 5};
  write_npy(dir / "one.npy", one);
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", (dir / "one.npy").string()}}),
                 "experiments[0].embeddings", {"(5,)", "2-D"});
  {
    std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 16), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ').push_back('\n');
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes.push_back(char(header.size() & 0xff)), bytes.push_back(char(header.size() >> 8));
    bytes += header + std::string(2 * 16 * 8, '\0');
    std::ofstream(dir / "int.npy", std::ios::binary) << bytes;
  }
  expect_problem(config_problems(t, {{"dim", 16}, {"embeddings", (dir / "int.npy").string()}}),
                 "experiments[0].embeddings", {"<i8"});

  // A NaN is found when the data is read (run), reported at the experiment's path.
  const std::string nan = write_matrix(dir, "nan.npy", 10, 16, [](int64_t r, int64_t c) {
    return r == 3 && c == 4 ? std::nan("") : 1.0 + double(r * c);
  });
  const json config = {{"name", "t"},
                       {"seed", 0},
                       {"experiments",
                        {{{"type", t},
                          {"dim", 16},
                          {"embeddings", nan},
                          {"encoders", {{{"name", "sinusoidal"}}}}}}}};
  Diagnostics diag;
  const Plan plan = build_plan(config, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  try {
    run_plan(plan, RunOptions{});
    ADD_FAILURE() << "a NaN in the embeddings file was not refused";
  } catch (const UserError& e) {
    ASSERT_FALSE(e.problems().empty());
    EXPECT_EQ(e.problems()[0].path, "experiments[0].embeddings");
    EXPECT_TRUE(has(e.problems()[0].message, "NaN")) << e.problems()[0].message;
  }

  // The good file runs, its rows are the vocabulary; "to_std" rescales it.
  const auto o = run_interference({{"dim", 16}, {"embeddings", good}}, {{"name", "sinusoidal"}});
  ASSERT_EQ(o.status, Status::ok) << o.note;
  EXPECT_DOUBLE_EQ(metric(o, "token_chance_accuracy"), 0.1);
  const auto r = run_interference(
      {{"dim", 16}, {"embeddings", good}, {"embeddings_scale", "to_std"}, {"embedding_std", 2.0}},
      {{"name", "sinusoidal"}});
  EXPECT_NEAR(metric(r, "mean_embedding_norm") / metric(o, "mean_embedding_norm"),
              2.0 / std::sqrt([] {
                double s = 0;
                for (int64_t rr = 0; rr < 10; ++rr)
                  for (int64_t c = 0; c < 16; ++c) s += std::pow(double(rr) - 0.5 * double(c), 2);
                return s / 160.0;
              }()),
              1e-12);
}

TEST(EmbeddingInterference, MemoryGuardCountsTheEmbeddingsFile) {
  TempDir dir("posbench-interference");
  const auto big = write_sparse_npy(dir / "big.npy", {1 << 20, 256});  // 1 GiB of float32
  const json config = {{"name", "t"},
                       {"seed", 0},
                       {"experiments",
                        {{{"type", "embedding_interference"},
                          {"dim", 256},
                          {"embeddings", big.string()},
                          {"encoders", {{{"name", "sinusoidal"}}}}}}}};
  Diagnostics diag;
  const Plan plan = build_plan(config, diag);
  ASSERT_TRUE(diag.ok()) << diag.problems()[0].str();
  RunOptions options;
  options.max_memory = uint64_t(1) << 30;
  try {
    run_plan(plan, options);
    ADD_FAILURE() << "the memory guard let a 1 GiB file (3 GiB as float64) through 1 GiB";
  } catch (const UserError& e) {
    EXPECT_EQ(e.problems()[0].path, "experiments[0].encoders[0]");
    EXPECT_TRUE(has(e.problems()[0].message, "memory limit")) << e.problems()[0].message;
  }
}

}  // namespace
}  // namespace posbench::test
