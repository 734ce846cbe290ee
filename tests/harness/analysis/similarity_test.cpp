// phi(x, y), the similarity the property experiments study (harness/analysis/similarity.h),
// against float64 references written here from the definitions, never from Similarity itself:
//   additive : phi(x, y) = <PE(x), PE(y)>; for sinusoidal (Vaswani et al. 2017, either layout)
//              that is sum_i cos((x - y) w_i), w_i = base^(-2i/d);
//   rotary   : phi(x, y) = mean_s (R(x) q_s) . (R(y) k_s), q_s as a query and k_s as a key,
//              with q_0, k_0, q_1, k_1, ... the normal_vector(dim) draws of Rng(seed, stream);
//              R from RoPE's formula (Su et al. 2021): pair (a, b) at position p becomes
//              (a cos(p theta_i) - b sin(p theta_i), a sin(p theta_i) + b cos(p theta_i)),
//              theta_i = base^(-2i/d'), channels past d' unchanged; here the mean is taken
//              sample by sample (the class folds it into tables);
//   bias     : phi_h(x, y) = b_h(x, y); ALiBi: -m_h |x - y|, m_h = 2^(-8(h+1)/H)
//              (Press et al. 2022), and hand-made schemes, relative but asymmetric and not
//              relative at all.
#include "harness/analysis/similarity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "encoders/rng.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
using test::make_scheme;
using Vec = std::vector<double>;

SimilarityOptions options(int64_t dim, int64_t heads, int64_t positions, int64_t samples,
                          uint64_t seed = 0, std::string stream = "similarity") {
  SimilarityOptions o;
  o.dim = dim;
  o.heads = heads;
  o.positions = positions;
  o.samples = samples;
  o.seed = seed;
  o.stream = std::move(stream);
  return o;
}

// ---- references ---------------------------------------------------------------------------

double sinusoidal_phi(int64_t x, int64_t y, int64_t dim, double base) {
  double s = 0;
  for (int64_t i = 0; i < dim / 2; ++i)
    s += std::cos(double(x - y) * std::pow(base, -2.0 * double(i) / double(dim)));
  return s;
}

// RoPE rotation of v [dim] at position p: rd rotated channels, half or interleaved pairing.
Vec rope_rotate(Vec v, int64_t p, int64_t rd, bool interleaved, double base) {
  for (int64_t i = 0; i < rd / 2; ++i) {
    const double theta = std::pow(base, -2.0 * double(i) / double(rd));
    const double c = std::cos(double(p) * theta), s = std::sin(double(p) * theta);
    const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + rd / 2;
    const double a = v[size_t(ia)], b = v[size_t(ib)];
    v[size_t(ia)] = a * c - b * s;
    v[size_t(ib)] = a * s + b * c;
  }
  return v;
}

double plain_dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// mean_s rot_q(q_s, x) . rot_k(k_s, y) with the content drawn as documented.
template <class RotQ, class RotK>
double rotary_phi(int64_t x, int64_t y, int64_t dim, int64_t samples, uint64_t seed,
                  const std::string& stream, RotQ rot_q, RotK rot_k) {
  Rng rng(seed, stream);
  double sum = 0;
  for (int64_t s = 0; s < samples; ++s) {
    const Vec q = rng.normal_vector(dim);
    const Vec k = rng.normal_vector(dim);
    sum += plain_dot(rot_q(q, x), rot_k(k, y));
  }
  return sum / double(samples);
}

// ---- hand-made schemes -------------------------------------------------------------------

// Rotary, interleaved pairs over the first head_dim - 2 channels, with a role-dependent
// magnitude and phase: query (2 cos(p w_i), 2 sin(p w_i)), key (3 cos(p w_i + 0.3), 3 sin(...)),
// w_i = 0.1 (i + 1). The reference applies the header's generic rule (x c - y s, x s + y c).
class RoleRotary final : public Encoder {
 public:
  Family family() const override { return Family::rotary; }
  void check_shape(int64_t, int64_t) const override {}
  int64_t rotary_dims(int64_t head_dim) const override { return head_dim - 2; }
  RotaryPairing rotary_pairing() const override { return RotaryPairing::interleaved; }
  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext& ctx, double* c, double* s) const override {
    const int64_t half = rotary_dims(head_dim) / 2;
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double a = coefficient_angle(positions[t], i, ctx.role);
        const double m = ctx.role == Role::query ? 2.0 : 3.0;
        c[t * half + i] = m * std::cos(a);
        s[t * half + i] = m * std::sin(a);
      }
  }
  static double coefficient_angle(int64_t p, int64_t i, Role role) {
    return double(p) * 0.1 * double(i + 1) + (role == Role::key ? 0.3 : 0.0);
  }
};

Vec role_rotate(Vec v, int64_t p, Role role) {
  const int64_t half = (int64_t(v.size()) - 2) / 2;
  const double m = role == Role::query ? 2.0 : 3.0;
  for (int64_t i = 0; i < half; ++i) {
    const double a = RoleRotary::coefficient_angle(p, i, role);
    const double c = m * std::cos(a), s = m * std::sin(a);
    const double x = v[size_t(2 * i)], y = v[size_t(2 * i + 1)];
    v[size_t(2 * i)] = x * c - y * s;
    v[size_t(2 * i + 1)] = x * s + y * c;
  }
  return v;
}

// A bias that depends only on d = i - j but not on |d|:
// f_h(d) = -(h + 1) d for d >= 0, 0.5 (h + 1) d^2 + 7 for d < 0.
double asymmetric(int64_t h, int64_t i, int64_t j) {
  const double d = double(i - j);
  return d >= 0 ? -(double(h) + 1) * d : 0.5 * (double(h) + 1) * d * d + 7;
}
class AsymmetricRelativeBias final : public Encoder {
 public:
  Family family() const override { return Family::bias; }
  void check_shape(int64_t, int64_t) const override {}
  bool bias_is_relative() const override { return true; }
  void bias(std::span<const int64_t> q, std::span<const int64_t> k, int64_t heads,
            double* out) const override {
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < k.size(); ++j)
          out[(size_t(h) * q.size() + i) * k.size() + j] = asymmetric(h, q[i], k[j]);
  }
};

// Not a function of i - j: b_h(i, j) = 100 h + 1.5 i - 0.25 j + (i j mod 7).
double absolute(int64_t h, int64_t i, int64_t j) {
  return 100.0 * double(h) + 1.5 * double(i) - 0.25 * double(j) + double((i * j) % 7);
}
class AbsoluteBias final : public Encoder {
 public:
  Family family() const override { return Family::bias; }
  void check_shape(int64_t, int64_t) const override {}
  void bias(std::span<const int64_t> q, std::span<const int64_t> k, int64_t heads,
            double* out) const override {
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < k.size(); ++j)
          out[(size_t(h) * q.size() + i) * k.size() + j] = absolute(h, q[i], k[j]);
  }
};

// ---- common params and helpers --------------------------------------------------------------

TEST(PropertyParams, CommonParamsAndDefaults) {
  const std::vector<ParamSpec> ps = common_property_params();
  ASSERT_EQ(ps.size(), 5u);
  // The fifth is the content model, one declaration shared by the experiments (content.h).
  EXPECT_EQ(ps[4].name, "content");
  EXPECT_EQ(ps[4].type, ParamType::tagged);
  EXPECT_EQ(ps[4].default_value, json({{"model", "independent"}}));
  const std::vector<std::string> names = {"dim", "heads", "positions", "samples"};
  const std::vector<int> defaults = {128, 8, 1024, 64};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ps[i].name, names[i]);
    EXPECT_EQ(ps[i].type, ParamType::integer) << names[i];
    EXPECT_EQ(ps[i].default_value, json(defaults[i])) << names[i];
  }
  EXPECT_EQ(ps[3].min.value_or(-1), 1.0);  // samples >= 1
  EXPECT_EQ(ps[2].min.value_or(-1), 2.0);  // at least two positions to compare

  std::vector<ParamSpec> own = {ParamSpec::integer("max_offset", 16, "largest offset")};
  const std::vector<ParamSpec> all = with_common_property_params(own);
  ASSERT_EQ(all.size(), 6u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(all[i].name, names[i]);
  EXPECT_EQ(all[4].name, "content");
  EXPECT_EQ(all[5].name, "max_offset");
}

TEST(PropertyParams, ShapeAndOptionsFromParams) {
  const PropertyShape shape(
      Params(json{{"dim", 6}, {"heads", 3}, {"positions", 40}, {"samples", 5}}));
  EXPECT_EQ(shape.dim, 6);
  EXPECT_EQ(shape.heads, 3);
  EXPECT_EQ(shape.positions, 40);
  EXPECT_EQ(shape.samples, 5);
  const SimilarityOptions o = similarity_options(shape, 99, "symmetry");
  EXPECT_EQ(o.dim, 6);
  EXPECT_EQ(o.heads, 3);
  EXPECT_EQ(o.positions, 40);
  EXPECT_EQ(o.samples, 5);
  EXPECT_EQ(o.seed, 99u);
  EXPECT_EQ(o.stream, "symmetry");
}

TEST(PhiUnit, PerFamily) {
  EXPECT_STREQ(phi_unit(Family::additive), "1");
  EXPECT_STREQ(phi_unit(Family::rotary), "logit");
  EXPECT_STREQ(phi_unit(Family::bias), "logit");
}

TEST(RandomContent, DrawsQueryThenKeyPerSampleFromTheNamedStream) {
  const ContentVectors c = random_content(3, 5, 17, "stream/x");
  EXPECT_EQ(c.pairs, 3);
  EXPECT_EQ(c.dim, 5);
  ASSERT_EQ(c.q.size(), 15u);
  ASSERT_EQ(c.k.size(), 15u);
  Rng rng(17, "stream/x");
  for (int64_t s = 0; s < 3; ++s) {
    const Vec q = rng.normal_vector(5), k = rng.normal_vector(5);
    for (int64_t i = 0; i < 5; ++i) {
      EXPECT_EQ(c.query(s)[i], q[size_t(i)]) << s << " " << i;
      EXPECT_EQ(c.key(s)[i], k[size_t(i)]) << s << " " << i;
    }
  }
  // Sample s is the same whatever the number of samples.
  const ContentVectors more = random_content(7, 5, 17, "stream/x");
  for (int64_t i = 0; i < 15; ++i) {
    EXPECT_EQ(more.q[size_t(i)], c.q[size_t(i)]);
    EXPECT_EQ(more.k[size_t(i)], c.k[size_t(i)]);
  }
  // Another stream, other numbers.
  EXPECT_NE(random_content(3, 5, 17, "stream/y").q, c.q);
}

TEST(Dot, SumOfProductsForEveryLengthAndSymmetricExactly) {
  Rng rng(1, "dot");
  for (int64_t n : {0, 1, 3, 4, 5, 8, 13, 100}) {
    const Vec a = rng.normal_vector(n), b = rng.normal_vector(n);
    long double ref = 0;
    for (int64_t i = 0; i < n; ++i) ref += (long double)a[size_t(i)] * b[size_t(i)];
    EXPECT_NEAR(dot(a.data(), b.data(), n), double(ref), 1e-13 * double(n + 1)) << n;
    EXPECT_EQ(dot(a.data(), b.data(), n), dot(b.data(), a.data(), n)) << n;
  }
  // Small integers: exact whatever the grouping. 1*1 + 2*2 + ... + 7*7 = 140.
  const Vec ints = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(dot(ints.data(), ints.data(), 7), 140.0);
}

// ---- phi ------------------------------------------------------------------------------------

TEST(Similarity, AdditiveSinusoidalIsASumOfCosinesOfTheOffset) {
  for (const char* layout : {"interleaved", "concat"}) {
    auto enc = make_scheme("sinusoidal", {{"base", 10000.0}, {"layout", layout}});
    const int64_t dim = 16, P = 50;
    const Similarity phi(*enc, options(dim, 4, P, 3));
    EXPECT_EQ(phi.family(), Family::additive);
    EXPECT_EQ(phi.positions(), P);
    EXPECT_EQ(phi.views(), 1);
    for (int64_t x = 0; x < P; x += 7)
      for (int64_t y = 0; y < P; y += 3) {
        EXPECT_NEAR(phi(x, y), sinusoidal_phi(x, y, dim, 10000.0), 1e-12) << layout << x << y;
        EXPECT_EQ(phi(x, y), phi(y, x));  // documented: exactly symmetric
      }
    // <PE(x), PE(x)> = d/2 (sin^2 + cos^2 per pair).
    EXPECT_NEAR(phi(13, 13), 8.0, 1e-13);
  }
}

TEST(Similarity, AdditiveTableIsThePeTable) {
  auto enc = make_scheme("sinusoidal", {{"base", 100.0}, {"layout", "interleaved"}});
  const int64_t dim = 6, P = 9;
  const Similarity phi(*enc, options(dim, 1, P, 1));
  const double* T = phi.additive_table();
  ASSERT_NE(T, nullptr);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double a = double(p) * std::pow(100.0, -2.0 * double(i) / double(dim));
      EXPECT_NEAR(T[p * dim + 2 * i], std::sin(a), 1e-15);
      EXPECT_NEAR(T[p * dim + 2 * i + 1], std::cos(a), 1e-15);
    }
}

TEST(Similarity, AdditiveLearnedTableIsTheDotOfItsRows) {
  // learned init "normal": W[r, c] = std z_{r d + c}, z the normal draws of
  // Rng(seed, "learned/table") (encoders/learned.cpp).
  auto enc = make_scheme("learned", {{"max_len", 20}, {"std", 0.5}, {"seed", 3}});
  const int64_t dim = 5, P = 20;
  Rng rng(3, "learned/table");
  const Vec W = rng.normal_vector(P * dim, 0.5);
  const Similarity phi(*enc, options(dim, 1, P, 1));
  for (int64_t x = 0; x < P; ++x)
    for (int64_t y = 0; y < P; ++y) {
      double ref = 0;
      for (int64_t c = 0; c < dim; ++c) ref += W[size_t(x * dim + c)] * W[size_t(y * dim + c)];
      EXPECT_NEAR(phi(x, y), ref, 1e-14) << x << " " << y;
    }
}

TEST(Similarity, PositionsPastALearnedTableAreUnsupported) {
  auto enc = make_scheme("learned", {{"max_len", 8}, {"out_of_range", "error"}});
  EXPECT_THROW(Similarity(*enc, options(4, 1, 9, 1)), UnsupportedPosition);
  EXPECT_NO_THROW(Similarity(*enc, options(4, 1, 8, 1)));
}

TEST(Similarity, RotaryRopeIsTheMeanLogitOfRotatedContent) {
  struct Case {
    const char* layout;
    double fraction;
    int64_t dim, samples;
  };
  // Partial rotation (fraction 0.5) has pass-through channels: the constant c0.
  for (const Case& k :
       {Case{"half", 1.0, 8, 1}, Case{"half", 1.0, 8, 5}, Case{"interleaved", 1.0, 12, 4},
        Case{"half", 0.5, 12, 6}, Case{"interleaved", 0.5, 10, 3}}) {
    auto enc = make_scheme(
        "rope", {{"base", 100.0}, {"layout", k.layout}, {"rotary_fraction", k.fraction}});
    const bool interleaved = std::string(k.layout) == "interleaved";
    const int64_t rd = (int64_t(k.fraction * double(k.dim)) / 2) * 2, P = 30;
    const Similarity phi(*enc, options(k.dim, 8, P, k.samples, 42, "sim/test"));
    EXPECT_EQ(phi.family(), Family::rotary);
    EXPECT_EQ(phi.views(), 1);
    EXPECT_EQ(phi.additive_table(), nullptr);
    auto rot = [&](const Vec& v, int64_t p) { return rope_rotate(v, p, rd, interleaved, 100.0); };
    for (int64_t x : {0, 1, 7, 29})
      for (int64_t y : {0, 2, 7, 28}) {
        const double ref = rotary_phi(x, y, k.dim, k.samples, 42, "sim/test", rot, rot);
        EXPECT_NEAR(phi(x, y), ref, 1e-12 * (1 + std::abs(ref)))
            << k.layout << " fraction " << k.fraction << " samples " << k.samples << " x " << x
            << " y " << y;
      }
  }
}

TEST(Similarity, RotaryUsesTheQueryRoleForXAndTheKeyRoleForY) {
  const RoleRotary enc;
  const int64_t dim = 8, P = 12, samples = 4;
  const Similarity phi(enc, options(dim, 1, P, samples, 5, "roles"));
  auto rq = [](const Vec& v, int64_t p) { return role_rotate(v, p, Role::query); };
  auto rk = [](const Vec& v, int64_t p) { return role_rotate(v, p, Role::key); };
  for (int64_t x = 0; x < P; x += 3)
    for (int64_t y = 0; y < P; y += 2) {
      const double ref = rotary_phi(x, y, dim, samples, 5, "roles", rq, rk);
      EXPECT_NEAR(phi(x, y), ref, 1e-12 * (1 + std::abs(ref))) << x << " " << y;
    }
}

TEST(Similarity, RotaryContentFollowsSeedAndStream) {
  auto enc = make_scheme("rope", json::object());
  const Similarity a(*enc, options(8, 1, 10, 2, 1, "s")), b(*enc, options(8, 1, 10, 2, 2, "s")),
      c(*enc, options(8, 1, 10, 2, 1, "t")), d(*enc, options(8, 1, 10, 2, 1, "s"));
  EXPECT_NE(a(3, 5), b(3, 5));
  EXPECT_NE(a(3, 5), c(3, 5));
  EXPECT_EQ(a(3, 5), d(3, 5));
}

TEST(Similarity, BiasAlibiIsMinusSlopeTimesDistancePerHead) {
  auto enc = make_scheme("alibi", json::object());
  const int64_t P = 20;
  // Slopes (Press et al.): H = 4: 2^-2, 2^-4, 2^-6, 2^-8. H = 3 (not a power of two): the
  // slopes of 2 heads (2^-4, 2^-8), then the first even-indexed slope of 4 heads (2^-2).
  for (const auto& [H, slopes] : std::vector<std::pair<int64_t, Vec>>{
           {4, {0.25, 0.0625, 0.015625, 0.00390625}}, {3, {0.0625, 0.00390625, 0.25}}}) {
    const Similarity phi(*enc, options(8, H, P, 1));
    EXPECT_EQ(phi.family(), Family::bias);
    EXPECT_EQ(phi.views(), H);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t x = 0; x < P; ++x)
        for (int64_t y = 0; y < P; ++y)
          ASSERT_EQ(phi(x, y, h), -slopes[size_t(h)] * double(std::abs(x - y)))
              << "H " << H << " h " << h << " x " << x << " y " << y;
  }
}

TEST(Similarity, BiasRelativeButAsymmetricKeepsTheSignOfTheOffset) {
  const AsymmetricRelativeBias enc;
  const int64_t H = 3, P = 15;
  const Similarity phi(enc, options(1, H, P, 1));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t x = 0; x < P; ++x)
      for (int64_t y = 0; y < P; ++y) ASSERT_EQ(phi(x, y, h), asymmetric(h, x, y)) << h << x << y;
}

TEST(Similarity, BiasNotRelativeIsTheFullMatrix) {
  const AbsoluteBias enc;
  const int64_t H = 2, P = 11;
  const Similarity phi(enc, options(1, H, P, 1));
  EXPECT_EQ(phi.views(), H);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t x = 0; x < P; ++x)
      for (int64_t y = 0; y < P; ++y) ASSERT_EQ(phi(x, y, h), absolute(h, x, y)) << h << x << y;
}

TEST(Similarity, DiagonalIsPhiAlongAFixedOffset) {
  auto sinus = make_scheme("sinusoidal", json::object());
  const Similarity additive(*sinus, options(10, 1, 40, 1));
  Vec out(12, -1);
  additive.diagonal(5, 3, 15, 0, out.data());
  for (int64_t x = 3; x < 15; ++x)
    EXPECT_NEAR(out[size_t(x - 3)], sinusoidal_phi(x, x + 5, 10, 10000.0), 1e-12) << x;

  const AbsoluteBias enc;
  const Similarity bias(enc, options(1, 2, 20, 1));
  Vec row(10, -1);
  bias.diagonal(4, 6, 16, 1, row.data());
  for (int64_t x = 6; x < 16; ++x) EXPECT_EQ(row[size_t(x - 6)], absolute(1, x, x + 4)) << x;
  // An empty range writes nothing.
  Vec untouched(1, -1);
  bias.diagonal(0, 5, 5, 0, untouched.data());
  EXPECT_EQ(untouched[0], -1);
}

TEST(Similarity, MemoryBytesCoverTheTablesHeld) {
  // Lower bounds from what each family must hold in float64: the PE table [P, dim]; U and V
  // [P, dim]; the bias matrix [H, P, P] (or distance rows [H, 2P - 1] when relative).
  const SimilarityOptions o = options(16, 4, 100, 8);
  auto sinus = make_scheme("sinusoidal", json::object());
  auto rope = make_scheme("rope", json::object());
  auto alibi = make_scheme("alibi", json::object());
  const AbsoluteBias absolute_bias;
  EXPECT_GE(Similarity::memory_bytes(*sinus, o), uint64_t(100 * 16 * 8));
  EXPECT_GE(Similarity::memory_bytes(*rope, o), uint64_t(2 * 100 * 16 * 8));
  EXPECT_GE(Similarity::memory_bytes(*alibi, o), uint64_t(4 * 199 * 8));
  EXPECT_GE(Similarity::memory_bytes(absolute_bias, o), uint64_t(4 * 100 * 100 * 8));
  // Relative storage is what makes a long ALiBi study affordable.
  EXPECT_LT(Similarity::memory_bytes(*alibi, o), Similarity::memory_bytes(absolute_bias, o));
}

}  // namespace
}  // namespace posbench
