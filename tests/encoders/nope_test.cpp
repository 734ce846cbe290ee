// NoPE (Kazemnejad et al. 2023): no positional information. Adding it changes nothing, bit for
// bit, and the composed logit is the plain dot product q . k.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/registry.h"
#include "encoders/rng.h"
#include "harness/analysis/apply.h"
#include "harness/analysis/attention_logit.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;

std::unique_ptr<Encoder> make_nope() { return test::make_scheme("nope", json::object()); }

const std::vector<int64_t> kPositions = {0, 1, 2, 1000, 123456789};

TEST(Nope, TableIsAllZero) {
  auto enc = make_nope();
  EXPECT_EQ(enc->family(), Family::additive);
  const int64_t dim = 12;
  std::vector<double> t(kPositions.size() * dim, 42.0);
  positional_table<double>(*enc, kPositions, dim, t.data());
  for (double v : t) EXPECT_EQ(v, 0.0);
  std::vector<float> tf(kPositions.size() * dim, 42.0f);
  positional_table<float>(*enc, kPositions, dim, tf.data());
  for (float v : tf) EXPECT_EQ(v, 0.0f);
}

template <class T>
void check_bit_identical() {
  auto enc = make_nope();
  const int64_t dim = 8;
  Rng rng(9, "nope_test/x");
  std::vector<T> x;
  for (double v : rng.normal_vector(int64_t(kPositions.size()) * dim)) x.push_back(T(v * 1e3));
  // Values whose bits are easy to disturb: signed zeros, extremes, denormals.
  x[0] = T(-0.0);
  x[1] = T(0.0);
  x[2] = std::numeric_limits<T>::denorm_min();
  x[3] = -std::numeric_limits<T>::denorm_min();
  x[4] = std::numeric_limits<T>::max();
  x[5] = std::numeric_limits<T>::lowest();
  x[6] = std::numeric_limits<T>::infinity();
  x[7] = std::numeric_limits<T>::epsilon();
  const std::vector<T> before = x;
  add_positional<T>(*enc, kPositions, dim, x.data());
  ASSERT_EQ(std::memcmp(before.data(), x.data(), x.size() * sizeof(T)), 0);
  EXPECT_TRUE(std::signbit(x[0]));  // -0.0 stays -0.0
}

TEST(Nope, AddPositionalLeavesInputBitIdentical) {
  check_bit_identical<double>();
  check_bit_identical<float>();
}

TEST(Nope, LogitIsThePlainDotProduct) {
  auto enc = make_nope();
  const int64_t dim = 16;
  Rng rng(2, "nope_test/qk");
  for (int trial = 0; trial < 5; ++trial) {
    const std::vector<double> q = rng.normal_vector(dim), k = rng.normal_vector(dim);
    double dot = 0;
    for (int64_t c = 0; c < dim; ++c) dot += q[c] * k[c];
    for (auto [m, n] :
         std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {5, 3}, {3, 5}, {0, 1000000}}) {
      LogitShape shape{dim, 1, 0};
      EXPECT_EQ(attention_logit(*enc, shape, 0, q, k, m, n), dot) << m << "," << n;
    }
  }
}

TEST(Nope, ShapeAndParams) {
  auto enc = make_nope();
  EXPECT_NO_THROW(enc->check_shape(1, 1));
  EXPECT_THROW(enc->check_shape(0, 1), UserError);
  const EncoderInfo& info = EncoderRegistry::instance().get("nope", "encoder");
  EXPECT_TRUE(info.params.empty());
  Diagnostics diag;
  resolve_params(info.params, json{{"base", 1}}, "params", diag);  // nothing to set
  EXPECT_FALSE(diag.ok());
}

}  // namespace
}  // namespace posbench
