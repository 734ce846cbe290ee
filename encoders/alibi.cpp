// alibi — Press et al. 2022, "Train Short, Test Long: Attention with Linear Biases":
//   b_h(i, j) = -m_h * |i - j|.
// Slopes for n heads, n a power of two: m_h = 2^(-8(h+1)/n). Otherwise (the paper's code):
// the slopes for c = 2^floor(log2 n) heads, then the slopes for 2c heads at even indices
// 0, 2, 4, ..., the first n - c of them. `slopes` overrides them (length must equal heads).
// (The paper uses the causal form -m(i - j), j <= i; |i - j| extends it symmetrically.)
#include <cmath>
#include <vector>

#include "encoders/registry.h"

namespace posbench {
namespace {

std::vector<double> power_of_two_slopes(int64_t n) {
  std::vector<double> s(n);
  for (int64_t h = 0; h < n; ++h) s[h] = std::pow(2.0, -8.0 * double(h + 1) / double(n));
  return s;
}

std::vector<double> alibi_slopes(int64_t n) {
  int64_t c = 1;
  while (c * 2 <= n) c *= 2;
  std::vector<double> s = power_of_two_slopes(c);
  if (c == n) return s;
  std::vector<double> extra = power_of_two_slopes(2 * c);
  for (int64_t k = 0; k < n - c; ++k) s.push_back(extra[2 * k]);
  return s;
}

class Alibi final : public Encoder {
 public:
  explicit Alibi(const Params& p) {
    if (p.has("slopes")) custom_slopes_ = p.numbers("slopes");
  }

  Family family() const override { return Family::bias; }

  void check_shape(int64_t, int64_t heads) const override {
    if (heads <= 0) throw UserError("", "alibi needs heads >= 1; got " + std::to_string(heads));
    if (!custom_slopes_.empty() && int64_t(custom_slopes_.size()) != heads)
      throw UserError("slopes", "has " + std::to_string(custom_slopes_.size()) +
                                    " values, expected one per head (" + std::to_string(heads) +
                                    ")");
  }

  bool bias_is_relative() const override { return true; }

  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    check_shape(0, heads);
    const std::vector<double> m = custom_slopes_.empty() ? alibi_slopes(heads) : custom_slopes_;
    const size_t nq = q_positions.size(), nk = k_positions.size();
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < nq; ++i)
        for (size_t j = 0; j < nk; ++j)
          out[(h * nq + i) * nk + j] =
              -m[h] * std::abs(double(q_positions[i]) - double(k_positions[j]));
  }

 private:
  std::vector<double> custom_slopes_;
};

const EncoderRegistration kRegistration{{
    .name = "alibi",
    .family = Family::bias,
    .description = "linear attention bias -m_h |i - j| (Press et al. 2022)",
    .version = 1,
    .params =
        {
            ParamSpec::number_list("slopes", nullptr,
                                   "per-head slopes m_h overriding the geometric default; length "
                                   "must equal heads")
                .above(0),
        },
    .factory = [](const Params& p) { return std::make_unique<Alibi>(p); },
}};

}  // namespace
}  // namespace posbench
