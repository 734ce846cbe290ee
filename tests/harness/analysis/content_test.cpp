// Content models (harness/analysis/content.h): the `content` param (string or object form, its
// errors), the vectors each model gives against draws and closed forms written here, the .npy
// file model (shape, width and value checks; header at construction, data at load), and the
// models' effect where the closed form is known: RoPE's phi with q = k is symmetric, and the
// length_extrapolation logits with ones content are (2 / sqrt(d)) sum_j cos((n - 1 - j) theta_j).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/rng.h"
#include "harness/analysis/content.h"
#include "harness/analysis/similarity.h"
#include "tests/harness/experiments/property_test_util.h"
#include "tests/test_util.h"

namespace posbench::test {
namespace {

using nlohmann::json;

// Resolves {"content": given} against the one declaration; the problems found.
json resolve_content(const json& given, Diagnostics& diag) {
  return resolve_params({content_param()}, {{"content", given}}, "experiments[0]", diag);
}

TEST(ContentParam, StringAndObjectFormsResolveToTheSameObject) {
  Diagnostics diag;
  EXPECT_EQ(resolve_content("ones", diag)["content"], (json{{"model", "ones"}}));
  EXPECT_EQ(resolve_content({{"model", "shared"}}, diag)["content"], (json{{"model", "shared"}}));
  EXPECT_TRUE(diag.ok());
  // Absent: the default, today's independent content.
  const json none = resolve_params({content_param()}, json::object(), "experiments[0]", diag);
  EXPECT_EQ(none["content"], (json{{"model", "independent"}}));
  EXPECT_TRUE(diag.ok());
}

TEST(ContentParam, BadValuesNameTheirPathAndSuggest) {
  Diagnostics typo;
  resolve_content("one", typo);
  ASSERT_EQ(typo.problems().size(), 1u);
  EXPECT_EQ(typo.problems()[0].path, "experiments[0].content");
  EXPECT_NE(typo.problems()[0].message.find("did you mean \"ones\""), std::string::npos)
      << typo.problems()[0].str();
  Diagnostics typo_in_object;
  resolve_content({{"model", "one"}}, typo_in_object);
  ASSERT_EQ(typo_in_object.problems().size(), 1u);
  EXPECT_EQ(typo_in_object.problems()[0].path, "experiments[0].content.model");
  Diagnostics missing;
  resolve_content({{"model", "file"}}, missing);
  ASSERT_EQ(missing.problems().size(), 1u);
  EXPECT_EQ(missing.problems()[0].path, "experiments[0].content.path");
  Diagnostics stray;
  resolve_content({{"model", "ones"}, {"path", "x.npy"}}, stray);
  ASSERT_EQ(stray.problems().size(), 1u);
  EXPECT_EQ(stray.problems()[0].path, "experiments[0].content.path");
  Diagnostics number;
  resolve_content(3, number);
  ASSERT_EQ(number.problems().size(), 1u);
  EXPECT_NE(number.problems()[0].message.find("or that name alone"), std::string::npos);
}

ContentModel model_from(const json& content, int64_t dim) {
  Diagnostics diag;
  const json resolved = resolve_content(content, diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return ContentModel(Params(resolved), dim);
}

TEST(ContentModel, RandomModelsFollowTheDocumentedDraws) {
  const int64_t dim = 6, samples = 3;
  Rng rng(11, "stream");
  const ContentVectors ind = model_from("independent", dim).vectors(samples, dim, 11, "stream");
  ASSERT_EQ(ind.pairs, samples);
  for (int64_t s = 0; s < samples; ++s) {
    const std::vector<double> q = rng.normal_vector(dim), k = rng.normal_vector(dim);
    for (int64_t c = 0; c < dim; ++c) {
      EXPECT_EQ(ind.query(s)[c], q[c]);
      EXPECT_EQ(ind.key(s)[c], k[c]);
    }
  }
  Rng rng2(11, "stream");
  const ContentVectors sh = model_from("shared", dim).vectors(samples, dim, 11, "stream");
  ASSERT_EQ(sh.pairs, samples);
  for (int64_t s = 0; s < samples; ++s) {
    const std::vector<double> v = rng2.normal_vector(dim);
    for (int64_t c = 0; c < dim; ++c) {
      EXPECT_EQ(sh.query(s)[c], v[c]);
      EXPECT_EQ(sh.key(s)[c], v[c]);
    }
  }
  const ContentVectors ones = model_from("ones", dim).vectors(samples, dim, 11, "stream");
  EXPECT_EQ(ones.pairs, 1);
  EXPECT_EQ(ones.q, std::vector<double>(dim, 1.0));
  EXPECT_EQ(ones.k, std::vector<double>(dim, 1.0));
}

// A .npy of float64 values with `shape`.
std::filesystem::path write_array(const TempDir& dir, const std::string& name,
                                  std::vector<int64_t> shape, std::vector<double> values) {
  NpyArray a;
  a.shape = std::move(shape);
  a.f64 = std::move(values);
  const auto file = dir / name;
  write_npy(file, a);
  return file;
}

// A .npy at `file` of float64 values 0.5, 1.5, ... (the last one `last`, if given).
void write_array_at(const std::filesystem::path& file, std::vector<int64_t> shape,
                    double last = 0.0) {
  NpyArray a;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  a.shape = std::move(shape);
  for (int64_t i = 0; i < n; ++i) a.f64.push_back(0.5 + double(i));
  if (last != 0.0 || std::isnan(last)) a.f64.back() = last;
  write_npy(file, a);
}

TEST(ContentModel, FileOfPairsAndFileOfSharedVectors) {
  const TempDir dir("posbench-content-test");
  // (2, N, dim): q = A[0], k = A[1].
  const auto pairs =
      write_array(dir, "pairs.npy", {2, 2, 3}, {1, 2, 3, 4, 5, 6, -1, -2, -3, 7, 8, 9});
  const ContentModel m = model_from({{"model", "file"}, {"path", pairs.string()}}, 3);
  EXPECT_EQ(m.pairs(64), 2);  // every row, whatever samples is
  m.load();
  const ContentVectors v = m.vectors(64, 3, 0, "s");
  EXPECT_EQ(v.q, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(v.k, (std::vector<double>{-1, -2, -3, 7, 8, 9}));
  EXPECT_EQ(m.to_json()["q_equals_k"], false);
  // (N, dim): q = k.
  const auto shared = write_array(dir, "shared.npy", {3, 2}, {1, 2, 3, 4, 5, 6});
  const ContentModel s = model_from({{"model", "file"}, {"path", shared.string()}}, 2);
  const ContentVectors sv = s.vectors(1, 2, 0, "s");
  EXPECT_EQ(sv.pairs, 3);
  EXPECT_EQ(sv.q, sv.k);
  EXPECT_EQ(sv.q, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // Memory: the vectors (2 x 3 x 2 doubles) plus the read buffer and its float64 copy.
  EXPECT_EQ(s.memory_bytes(64, 2), uint64_t(3 * 2 * 16 + 6 * 8 * 2));
}

TEST(ContentModel, FileShapeWidthAndValuesAreChecked) {
  const TempDir dir("posbench-content-test");
  auto error_of = [&](const std::filesystem::path& file, int64_t dim, bool load) {
    try {
      const ContentModel m = model_from({{"model", "file"}, {"path", file.string()}}, dim);
      if (load) m.load();
    } catch (const UserError& e) {
      EXPECT_EQ(e.problems()[0].path, "content.path");
      return e.problems()[0].message;
    }
    return std::string("no error");
  };
  const auto rank3 = write_array(dir, "r3.npy", {3, 1, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_NE(error_of(rank3, 2, false).find("expected shape (2, N, 2)"), std::string::npos);
  const auto rank1 = write_array(dir, "r1.npy", {4}, {1, 2, 3, 4});
  EXPECT_NE(error_of(rank1, 4, false).find("has shape (4,)"), std::string::npos);
  const auto wide = write_array(dir, "wide.npy", {2, 5}, std::vector<double>(10, 1.0));
  EXPECT_NE(error_of(wide, 4, false).find("width 5 but dim is 4"), std::string::npos);
  const auto empty = write_array(dir, "empty.npy", {0, 4}, {});
  EXPECT_NE(error_of(empty, 4, false).find("holds no vectors"), std::string::npos);
  EXPECT_NE(error_of(dir / "absent.npy", 4, false).find("absent.npy"), std::string::npos);
  // A NaN passes the header check (validate reads no data) and is refused by load().
  const auto nan = write_array(dir, "nan.npy", {1, 2}, {1, NAN});
  EXPECT_EQ(error_of(nan, 2, false), "no error");
  EXPECT_NE(error_of(nan, 2, true).find("nan.npy"), std::string::npos);
}

TEST(ContentModel, RopeWithQEqualsKIsSymmetric) {
  // mean_s (R(x) q).(R(y) q) = sum_pairs |q_pair|^2 cos((y - x) theta): symmetric in x, y.
  for (const char* model : {"shared", "ones"}) {
    const auto e =
        make_experiment("symmetry", {{"positions", 64}, {"samples", 4}, {"content", model}});
    const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}), 5);
    EXPECT_LT(metric(o, "asymmetry"), 1e-13) << model;
  }
  const auto ind = make_experiment("symmetry", {{"positions", 64}, {"samples", 4}});
  EXPECT_GT(metric(run_with(*ind, make_encoder({{"name", "rope"}}), 5), "asymmetry"), 1e-3);
}

TEST(ContentModel, SimilarityWithFileContentMatchesTheRotatedDot) {
  // phi(x, y) = mean_s (R(x) q_s).(R(y) k_s) for RoPE (half layout) over the file's pairs.
  const TempDir dir("posbench-content-test");
  const int64_t d = 4;
  const std::vector<double> vals = {0.5, -1, 2, 0.25, 1, 1,  -1,  3,   // q_0, q_1
                                    2,   1,  0, -1,   1, -2, 0.5, 1};  // k_0, k_1
  const auto file = write_array(dir, "qk.npy", {2, 2, d}, vals);
  Diagnostics diag;
  const json params = resolve_params(
      common_property_params(),
      {{"dim", d}, {"positions", 40}, {"content", {{"model", "file"}, {"path", file.string()}}}},
      "p", diag);
  ASSERT_TRUE(diag.ok());
  const PropertyShape shape{Params(params)};
  const EncoderInstance rope = make_encoder({{"name", "rope"}, {"params", {{"base", 100.0}}}});
  const Similarity phi(*rope.encoder, similarity_options(shape, 0, "t"));
  auto rotate = [&](const double* v, double p) {
    std::vector<double> out(d);
    for (int i = 0; i < d / 2; ++i) {
      const double a = p * std::pow(100.0, -2.0 * i / d), x = v[i], y = v[i + d / 2];
      out[i] = x * std::cos(a) - y * std::sin(a);
      out[i + d / 2] = x * std::sin(a) + y * std::cos(a);
    }
    return out;
  };
  for (int x : {0, 3, 17})
    for (int y : {0, 5, 39}) {
      double want = 0;
      for (int s = 0; s < 2; ++s) {
        const std::vector<double> q = rotate(&vals[size_t(s * d)], x);
        const std::vector<double> k = rotate(&vals[size_t(8 + s * d)], y);
        for (int c = 0; c < d; ++c) want += q[c] * k[c] / 2;
      }
      EXPECT_NEAR(phi(x, y), want, 1e-12) << x << " " << y;
    }
}

TEST(ContentModel, LengthExtrapolationWithOnesContentHasClosedFormLogits) {
  // The last query at n - 1 and every key carry q = k = 1 [d]: logit_j = (R(n-1)1).(R(j)1)/sqrt(d)
  // = (2 / sqrt(d)) sum_i cos((n - 1 - j) theta_i). Entropy, max weight and window mass of the
  // softmax of these logits, computed here in float64.
  const int64_t d = 16, L = 64, window = 8;
  const auto e = make_experiment("length_extrapolation", {{"dim", d},
                                                          {"train_length", L},
                                                          {"eval_lengths", {L, 2 * L}},
                                                          {"window", window},
                                                          {"content", "ones"}});
  const EncoderOutcome o = run_with(*e, make_encoder({{"name", "rope"}}));
  for (int64_t n : {L, 2 * L}) {
    std::vector<double> x(static_cast<size_t>(n));
    double m = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int i = 0; i < d / 2; ++i)
        s += std::cos(double(n - 1 - j) * std::pow(1e4, -2.0 * i / d));
      x[size_t(j)] = 2 * s / std::sqrt(double(d));
      m = std::max(m, x[size_t(j)]);
    }
    double z = 0, h = 0, win = 0;
    for (int64_t j = 0; j < n; ++j) z += std::exp(x[size_t(j)] - m);
    for (int64_t j = 0; j < n; ++j) {
      const double w = std::exp(x[size_t(j)] - m) / z;
      h -= w * std::log(w);
      if (j >= n - window) win += w;
    }
    EXPECT_NEAR(curve_at(o, "normalized_entropy", double(n)), h / std::log(double(n)), 1e-12);
    EXPECT_NEAR(curve_at(o, "max_attention_weight", double(n)), std::exp(x[size_t(n - 1)] - m) / z,
                1e-12);
    EXPECT_NEAR(curve_at(o, "window_mass", double(n)), win, 1e-12);
  }
  EXPECT_EQ(o.extra["content"]["model"], "ones");
}

TEST(ContentModel, DefaultContentKeepsTheIndependentNumbers) {
  // Giving "independent" explicitly changes nothing (the default is that model, same draws).
  for (const std::string type :
       {"translation_invariance", "long_term_decay", "length_extrapolation"}) {
    json params = type == "length_extrapolation"
                      ? json{{"train_length", 64}, {"eval_lengths", {64, 128}}, {"samples", 4}}
                      : json{{"positions", 64}, {"samples", 4}};
    if (type == "translation_invariance") params["max_offset"] = 16;
    json explicit_params = params;
    explicit_params["content"] = "independent";
    const EncoderInstance rope = make_encoder({{"name", "rope"}});
    expect_identical(run_with(*make_experiment(type, params), rope, 2),
                     run_with(*make_experiment(type, explicit_params), rope, 2));
  }
}

class ContentCli : public BinaryTest {
 protected:
  ContentCli() : BinaryTest("posbench-content-cli-test") {}
};

TEST_F(ContentCli, ValidateChecksTheHeaderAndRunReadsTheData) {
  // Width 3 with dim 4: validate refuses it (exit 2) naming the JSON path.
  write_array_at(work() / "wide.npy", {2, 3});
  write("wide.json", R"({"name": "t", "experiments": [{"type": "symmetry", "dim": 4,
      "positions": 8, "content": {"model": "file", "path": "wide.npy"},
      "encoders": [{"name": "rope"}]}]})");
  const BinaryResult v = run("validate wide.json");
  EXPECT_EQ(v.code, 2) << v.out;
  EXPECT_NE(v.err.find("experiments[0].content.path"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("width 3 but dim is 4"), std::string::npos) << v.err;
  // A NaN: the header is fine (validate passes, reading no data); run refuses it, exit 2.
  write_array_at(work() / "nan.npy", {1, 4}, NAN);
  write("nan.json", R"({"name": "t", "experiments": [{"type": "symmetry", "dim": 4,
      "positions": 8, "content": {"model": "file", "path": "nan.npy"},
      "encoders": [{"name": "rope"}]}]})");
  EXPECT_EQ(run("validate nan.json").code, 0);
  const BinaryResult r = run("run nan.json -o out.json");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("experiments[0].content.path"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(work() / "out.json"));
  // A good file runs, and the results say which content was used.
  write_array_at(work() / "qk.npy", {2, 3, 4});
  write("ok.json", R"({"name": "t", "experiments": [{"type": "symmetry", "dim": 4,
      "positions": 8, "content": {"model": "file", "path": "qk.npy"},
      "encoders": [{"name": "rope"}]}]})");
  const BinaryResult ok = run("run ok.json -o ok-out.json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  const json doc = json::parse(read_file(work() / "ok-out.json"));
  const json& content = doc["experiments"][0]["encoders"][0]["extra"]["content"];
  EXPECT_EQ(content["model"], "file");
  EXPECT_EQ(content["pairs"], 3);
  EXPECT_EQ(content["shape"], json({2, 3, 4}));
}

}  // namespace
}  // namespace posbench::test
