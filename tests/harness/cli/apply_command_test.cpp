// `posbench apply` end to end: runs the real binary on .npy files and compares its output with
// independent reference implementations written here from the papers' formulas (long double
// scalar loops), never with the library's own encoders.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "encoders/npy.h"
#include "encoders/rng.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using LD = long double;

struct RunResult {
  int code = -1;
  std::string err;
};

class ApplyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "posbench-apply-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `posbench <args>`; arguments are single-quoted for the shell.
  RunResult run(const std::vector<std::string>& args) const {
    std::string cmd = std::string("'") + POSBENCH_BINARY + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    const std::string err_file = path("stderr.txt");
    cmd += " > '" + path("stdout.txt") + "' 2> '" + err_file + "'";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    return r;
  }

  // apply NAME on `input` with params/offset (and --role if `role` is not empty); expects
  // success and returns the output array.
  NpyArray apply(const std::string& scheme, const NpyArray& input, const std::string& params,
                 int64_t offset, const std::string& role = "") {
    const std::string in = path("in" + std::to_string(counter_) + ".npy");
    const std::string out = path("out" + std::to_string(counter_++) + ".npy");
    write_npy(in, input);
    std::vector<std::string> args = {
        "apply", scheme,     "--input", in,         "--output",
        out,     "--params", params,    "--offset", std::to_string(offset)};
    if (!role.empty()) {
      args.push_back("--role");
      args.push_back(role);
    }
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return {};
    return read_npy(out);
  }

  // Expects exit code 2, a one-line "posbench: error: ..." containing `what`, and no output.
  void expect_refused(const std::vector<std::string>& args, const std::string& output,
                      const std::string& what) {
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("posbench: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << "stderr: " << r.err << "missing: " << what;
    EXPECT_FALSE(fs::exists(output)) << output;
  }

  fs::path dir_;
  int counter_ = 0;
};

NpyArray random_array(std::vector<int64_t> shape, NpyDtype dtype, const char* stream) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  Rng rng(5, stream);
  const std::vector<double> v = rng.normal_vector(a.size());
  if (dtype == NpyDtype::float32)
    a.f32.assign(v.begin(), v.end());
  else
    a.f64 = v;
  return a;
}

// |got - ref| <= rel * max(|ref|, 1) for every element (float64 1e-12, float32 2e-6).
void expect_matches(const NpyArray& got, const NpyArray& input, const std::vector<LD>& ref) {
  ASSERT_EQ(got.dtype, input.dtype);
  ASSERT_EQ(got.shape, input.shape);
  const std::vector<double> g = got.as_double();
  ASSERT_EQ(g.size(), ref.size());
  const double rel = got.dtype == NpyDtype::float64 ? 1e-12 : 2e-6;
  size_t bad = 0;
  for (size_t k = 0; k < g.size(); ++k) {
    const double tol = rel * std::max(1.0, double(std::abs(ref[k])));
    if (!(std::abs(double(LD(g[k]) - ref[k])) <= tol) && bad++ < 5)
      ADD_FAILURE() << "flat index " << k << ": got " << g[k] << ", reference " << double(ref[k]);
  }
  EXPECT_EQ(bad, 0u);
}

std::vector<LD> input_values(const NpyArray& a) {
  const std::vector<double> d = a.as_double();
  return std::vector<LD>(d.begin(), d.end());
}

// Vaswani et al. 2017: PE(p, 2i) = sin(p base^(-2i/d)), PE(p, 2i+1) = cos(p base^(-2i/d));
// concat puts every sine first, then every cosine.
std::vector<LD> ref_sinusoidal(const NpyArray& x, int64_t offset, LD base, bool concat) {
  std::vector<LD> out = input_values(x);
  const int64_t n = x.shape[0], d = x.shape[1];
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < d / 2; ++i) {
      const LD angle = LD(offset + t) * std::pow(base, -LD(2 * i) / LD(d));
      out[t * d + (concat ? i : 2 * i)] += std::sin(angle);
      out[t * d + (concat ? i + d / 2 : 2 * i + 1)] += std::cos(angle);
    }
  return out;
}

// Su et al. 2021: theta_i = base^(-2i/d'), d' rotated channels; pair (a, b) at p becomes
// (a cos - b sin, a sin + b cos). half: (x_i, x_{i+d'/2}); interleaved: (x_2i, x_2i+1).
std::vector<LD> ref_rope(const NpyArray& x, int64_t offset, LD base, LD fraction,
                         bool interleaved) {
  std::vector<LD> out = input_values(x);
  const int64_t n = x.shape[0], head_dim = x.shape.back();
  const int64_t heads = x.shape.size() == 3 ? x.shape[1] : 1;
  const int64_t rotated = int64_t(std::floor(fraction * LD(head_dim))) / 2 * 2;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      LD* v = &out[(t * heads + h) * head_dim];
      for (int64_t i = 0; i < rotated / 2; ++i) {
        const LD angle = LD(offset + t) * std::pow(base, -LD(2 * i) / LD(rotated));
        const int64_t ia = interleaved ? 2 * i : i;
        const int64_t ib = interleaved ? 2 * i + 1 : i + rotated / 2;
        const LD a = v[ia], b = v[ib];
        v[ia] = a * std::cos(angle) - b * std::sin(angle);
        v[ib] = a * std::sin(angle) + b * std::cos(angle);
      }
    }
  return out;
}

// Sun et al. 2022 (xPos, §3.2), uncentred, every channel rotated (d' = head_dim):
//   theta_i = base^(-2i/d'),  zeta_i = (2i + 0.4 d') / (1.4 d'),
//   query at n: zeta_i^(+n/scale_base) R(n) q,   key at m: zeta_i^(-m/scale_base) R(m) k.
// Pairs as in ref_rope (interleaved is torchscale's and xpos's default).
std::vector<LD> ref_xpos(const NpyArray& x, int64_t offset, LD base, LD scale_base,
                         bool interleaved, bool key) {
  std::vector<LD> out = input_values(x);
  const int64_t n = x.shape[0], d = x.shape.back();
  const int64_t heads = x.shape.size() == 3 ? x.shape[1] : 1;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      LD* v = &out[(t * heads + h) * d];
      const LD p = LD(offset + t);
      for (int64_t i = 0; i < d / 2; ++i) {
        const LD angle = p * std::pow(base, -LD(2 * i) / LD(d));
        const LD zeta = (LD(2 * i) + 0.4L * LD(d)) / (1.4L * LD(d));
        const LD scale = std::pow(zeta, (key ? -p : p) / scale_base);
        const int64_t ia = interleaved ? 2 * i : i;
        const int64_t ib = interleaved ? 2 * i + 1 : i + d / 2;
        const LD a = v[ia], b = v[ib];
        v[ia] = scale * (a * std::cos(angle) - b * std::sin(angle));
        v[ib] = scale * (a * std::sin(angle) + b * std::cos(angle));
      }
    }
  return out;
}

// Press et al. 2022, the paper's get_slopes(): a geometric sequence starting at
// 2^(-2^-(log2 n - 3)) = 2^(-8/n) with that ratio for n a power of two; otherwise the slopes
// of the closest smaller power of two c, then get_slopes(2c)[0::2][:n - c].
std::vector<LD> ref_alibi_slopes(int64_t n) {
  auto power_of_2 = [](int64_t m) {
    const LD start = std::pow(2.0L, -std::pow(2.0L, -(std::log2(LD(m)) - 3)));
    std::vector<LD> s;
    for (int64_t i = 0; i < m; ++i) s.push_back(start * std::pow(start, LD(i)));
    return s;
  };
  const LD lg = std::log2(LD(n));
  if (lg == std::floor(lg)) return power_of_2(n);
  const int64_t c = int64_t(std::pow(2.0L, std::floor(lg)));
  std::vector<LD> s = power_of_2(c);
  const std::vector<LD> extra = ref_alibi_slopes(2 * c);
  for (int64_t k = 0; k < n - c; ++k) s.push_back(extra[2 * k]);
  return s;
}

std::vector<LD> ref_alibi(const NpyArray& x, int64_t offset) {
  std::vector<LD> out = input_values(x);
  const int64_t heads = x.shape[0], nq = x.shape[1], nk = x.shape[2];
  const std::vector<LD> m = ref_alibi_slopes(heads);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t j = 0; j < nk; ++j)
        out[(h * nq + i) * nk + j] -= m[h] * std::abs(LD(offset + i) - LD(j));
  return out;
}

TEST(ApplyReference, AlibiSlopesMatchThePaperForSixHeads) {
  // c = 4: 2^-2, 2^-4, 2^-6, 2^-8; then slopes(8)[0::2][:2] = 2^-1, 2^-3.
  const std::vector<LD> s = ref_alibi_slopes(6);
  const std::vector<LD> expected = {0.25L, 0.0625L, 0.015625L, 0.00390625L, 0.5L, 0.125L};
  ASSERT_EQ(s.size(), expected.size());
  for (size_t h = 0; h < s.size(); ++h) EXPECT_NEAR(double(s[h]), double(expected[h]), 1e-18);
}

TEST_F(ApplyCli, SinusoidalBothLayoutsBothDtypes) {
  for (NpyDtype dt : {NpyDtype::float64, NpyDtype::float32})
    for (bool concat : {false, true}) {
      const NpyArray x = random_array({9, 10}, dt, "apply_test/sin");
      const std::string params =
          std::string(R"({"base": 500, "layout": ")") + (concat ? "concat" : "interleaved") + "\"}";
      const NpyArray got = apply("sinusoidal", x, params, 37);
      SCOPED_TRACE(params + (dt == NpyDtype::float32 ? " float32" : " float64"));
      expect_matches(got, x, ref_sinusoidal(x, 37, 500.0L, concat));
    }
}

TEST_F(ApplyCli, RopeBothLayoutsBothRanksHalfFraction) {
  for (NpyDtype dt : {NpyDtype::float64, NpyDtype::float32})
    for (bool interleaved : {false, true})
      for (bool with_heads : {true, false}) {
        // head_dim 12, rotary_fraction 0.5: d' = 6 rotated channels, 6 pass through.
        const std::vector<int64_t> shape =
            with_heads ? std::vector<int64_t>{7, 3, 12} : std::vector<int64_t>{7, 12};
        const NpyArray x = random_array(shape, dt, "apply_test/rope");
        const std::string params = std::string(R"({"base": 10000, "rotary_fraction": 0.5, )") +
                                   R"("layout": ")" + (interleaved ? "interleaved" : "half") +
                                   "\"}";
        const NpyArray got = apply("rope", x, params, 101);
        SCOPED_TRACE(params + " rank " + std::to_string(shape.size()));
        expect_matches(got, x, ref_rope(x, 101, 10000.0L, 0.5L, interleaved));
        // The unrotated channels are passed through bit for bit.
        const std::vector<double> g = got.as_double(), in = x.as_double();
        for (size_t k = 0; k < g.size(); ++k)
          if (k % 12 >= 6) {
            EXPECT_EQ(g[k], in[k]) << k;
          }
      }
}

TEST_F(ApplyCli, RopeFullRotationDefaultParams) {
  const NpyArray x = random_array({5, 2, 8}, NpyDtype::float64, "apply_test/rope_full");
  expect_matches(apply("rope", x, "{}", 3), x, ref_rope(x, 3, 10000.0L, 1.0L, false));
}

TEST_F(ApplyCli, XposRoleKeyScalesKeysDownAndQueriesUp) {
  // scale_base 64 at positions 40..45: zeta_0^(±p/64) is about 0.45 / 2.2, far from 1.
  for (NpyDtype dt : {NpyDtype::float64, NpyDtype::float32})
    for (bool interleaved : {true, false}) {
      const NpyArray x = random_array({6, 2, 8}, dt, "apply_test/xpos");
      const std::string params = std::string(R"({"base": 1000, "scale_base": 64, "layout": ")") +
                                 (interleaved ? "interleaved" : "half") + "\"}";
      SCOPED_TRACE(params + (dt == NpyDtype::float32 ? " float32" : " float64"));
      const NpyArray query = apply("xpos", x, params, 40, "query");
      const NpyArray key = apply("xpos", x, params, 40, "key");
      const NpyArray by_default = apply("xpos", x, params, 40);
      expect_matches(query, x, ref_xpos(x, 40, 1000.0L, 64.0L, interleaved, false));
      expect_matches(key, x, ref_xpos(x, 40, 1000.0L, 64.0L, interleaved, true));
      // The default role is query.
      EXPECT_EQ(by_default.as_double(), query.as_double());
      // Key = query * zeta_i^(-2p/scale_base) per pair, a factor of 1.28 to 5.8 here: every
      // (non-negligible) element differs by far more than rounding.
      const std::vector<double> q = query.as_double(), k = key.as_double();
      ASSERT_EQ(q.size(), k.size());
      for (size_t e = 0; e < q.size(); ++e)
        if (std::abs(q[e]) > 1e-6) {
          EXPECT_GT(std::abs(q[e] - k[e]), 0.15 * std::abs(k[e])) << e;
        }
    }
}

TEST_F(ApplyCli, RopeIgnoresRole) {
  const NpyArray x = random_array({5, 8}, NpyDtype::float64, "apply_test/rope_role");
  const NpyArray query = apply("rope", x, "{}", 11, "query");
  const NpyArray key = apply("rope", x, "{}", 11, "key");
  expect_matches(key, x, ref_rope(x, 11, 10000.0L, 1.0L, false));
  EXPECT_EQ(key.f64, query.f64);
}

TEST_F(ApplyCli, AlibiHeads8And6And12) {
  for (int64_t heads : {8, 6, 12})
    for (NpyDtype dt : {NpyDtype::float64, NpyDtype::float32}) {
      const NpyArray x = random_array({heads, 5, 9}, dt, "apply_test/alibi");
      const NpyArray got = apply("alibi", x, "{}", 4);
      SCOPED_TRACE("heads " + std::to_string(heads));
      expect_matches(got, x, ref_alibi(x, 4));
    }
}

TEST_F(ApplyCli, LearnedFromFile) {
  const int64_t max_len = 16, d = 6, n = 5, offset = 9;
  NpyArray w;
  w.dtype = NpyDtype::float64;
  w.shape = {max_len, d};
  for (int64_t r = 0; r < max_len; ++r)
    for (int64_t c = 0; c < d; ++c) w.f64.push_back(0.01 * double(r * d + c) - 0.3);
  const std::string table = path("w.npy");
  write_npy(table, w);
  for (NpyDtype dt : {NpyDtype::float64, NpyDtype::float32}) {
    const NpyArray x = random_array({n, d}, dt, "apply_test/learned");
    std::vector<LD> ref = input_values(x);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < d; ++c) ref[t * d + c] += LD(w.f64[(offset + t) * d + c]);
    const std::string params = R"({"max_len": 16, "init": "file", "path": ")" + table + "\"}";
    expect_matches(apply("learned", x, params, offset), x, ref);
  }
}

TEST_F(ApplyCli, OffsetIsHonoured) {
  const NpyArray x = random_array({4, 8}, NpyDtype::float64, "apply_test/offset");
  const NpyArray at0 = apply("sinusoidal", x, "{}", 0);
  const NpyArray at7 = apply("sinusoidal", x, "{}", 7);
  expect_matches(at0, x, ref_sinusoidal(x, 0, 10000.0L, false));
  expect_matches(at7, x, ref_sinusoidal(x, 7, 10000.0L, false));
  EXPECT_NE(at0.f64, at7.f64);
  // Without --offset the first row is position 0.
  write_npy(path("x.npy"), x);
  const RunResult r =
      run({"apply", "sinusoidal", "--input", path("x.npy"), "--output", path("y.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_npy(path("y.npy")).f64, at0.f64);
}

TEST_F(ApplyCli, BadInputsExit2WithOneLineAndNoOutput) {
  const std::string in = path("x.npy"), out = path("out.npy");
  write_npy(in, random_array({4, 8}, NpyDtype::float64, "apply_test/bad"));

  expect_refused({"apply", "rop", "--input", in, "--output", out}, out, "did you mean 'rope'?");
  expect_refused({"apply", "rope", "--input", in, "--output", out, "--params", R"({"base": })"},
                 out, "--params:1:");
  expect_refused({"apply", "rope", "--input", in, "--output", out, "--params", R"({"bse": 10})"},
                 out, "params.bse");
  expect_refused({"apply", "rope", "--input", in, "--output", out, "--params", R"({"base": -1})"},
                 out, "params.base");
  expect_refused({"apply", "xpos", "--input", in, "--output", out, "--role", "keys"}, out,
                 "--role: got \"keys\", expected one of query, key");

  // Wrong dtype: a hand-made '<i4' file.
  std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
  while ((10 + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(dict.size());
  bytes += char(0);
  bytes += dict + std::string(8, '\0');
  const std::string ints = path("ints.npy");
  std::ofstream(ints, std::ios::binary) << bytes;
  expect_refused({"apply", "sinusoidal", "--input", ints, "--output", out}, out, "'<i4'");

  NpyArray one_d;
  one_d.shape = {8};
  one_d.f64.assign(8, 0.5);
  write_npy(path("1d.npy"), one_d);
  expect_refused({"apply", "sinusoidal", "--input", path("1d.npy"), "--output", out}, out,
                 "1 dimension, expected [n, d]");
  expect_refused({"apply", "rope", "--input", path("1d.npy"), "--output", out}, out,
                 "expected [n, heads, head_dim] or [n, head_dim]");
  expect_refused({"apply", "alibi", "--input", in, "--output", out}, out,
                 "expected [heads, n_q, n_k]");

  write_npy(path("odd.npy"), random_array({4, 2, 7}, NpyDtype::float32, "apply_test/odd"));
  expect_refused({"apply", "rope", "--input", path("odd.npy"), "--output", out}, out,
                 "even, positive head_dim; got 7");

  expect_refused({"apply", "sinusoidal", "--input", path("missing.npy"), "--output", out}, out,
                 "missing.npy");

  // Learned table too short for offset + n with out_of_range "error".
  expect_refused({"apply", "learned", "--input", in, "--output", out, "--params",
                  R"({"max_len": 6})", "--offset", "3"},
                 out, "position 6 is outside the table [0, 6)");

  // A result beyond the storage type was written as inf with exit 0. Found by fuzzing apply: an
  // input of 1.57e308 times longrope's attention factor sqrt(1 + ln 8 / ln 32) = 1.26.
  const std::string huge = path("huge.npy");
  NpyArray near_max;
  near_max.shape = {2, 8};
  near_max.f64.assign(16, 0.5);
  near_max.f64[5] = 1.5e308;
  write_npy(huge, near_max);
  expect_refused({"apply", "rope", "--input", huge, "--output", out, "--params",
                  R"({"scaling": {"rope_type": "longrope", "short_factor": [1, 1, 1, 1],
                      "long_factor": [2, 3, 4, 5], "original_max_position_embeddings": 32,
                      "factor": 8}})"},
                 out, "beyond the range of float64; expected finite results (give smaller input");
  // The same class: xPos keys are scaled by zeta_i^(-m/scale_base), e^(1.25 m/512) at pair 0,
  // finite in float64 up to m ~ 289,000 (xpos refuses beyond) but above float32's 3.4e38 from
  // m ~ 36,000 (the same in float64 is fine).
  const std::string in32 = path("x32.npy");
  write_npy(in32, random_array({2, 8}, NpyDtype::float32, "apply_test/xpos_far"));
  expect_refused(
      {"apply", "xpos", "--input", in32, "--output", out, "--offset", "100000", "--role", "key"},
      out, "the result at flat index 0 (C order) is ");
  expect_refused(
      {"apply", "xpos", "--input", in32, "--output", out, "--offset", "100000", "--role", "key"},
      out, "beyond the range of float32; expected finite results (give float64 input");
  const NpyArray far64 = apply(
      "xpos", random_array({2, 8}, NpyDtype::float64, "apply_test/xpos_far"), "{}", 100000, "key");
  for (double v : far64.f64) EXPECT_TRUE(std::isfinite(v));

  // Memory guard: 4 x 8 float64 needs about 2 * 256 + 256 + 32 bytes.
  expect_refused({"--max-memory", "512", "apply", "sinusoidal", "--input", in, "--output", out},
                 out, "memory limit");

  // The output exists: refused, and left as it was.
  std::ofstream(out) << "keep";
  const RunResult r = run({"apply", "sinusoidal", "--input", in, "--output", out});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  std::ifstream kept(out);
  std::string content;
  kept >> content;
  EXPECT_EQ(content, "keep");
}

}  // namespace
}  // namespace posbench
