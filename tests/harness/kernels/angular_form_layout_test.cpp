// Encoder::AngularForm::columns: the additive kernels use the column layout a scheme declares
// (they no longer try both), check it against the scheme's own table, and take the generic path
// when the declaration is missing or wrong. Rotary forms declare no columns.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "harness/kernels/ops.h"
#include "tests/harness/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::make;
using test::has;

// An additive scheme whose table is sin/cos(p * 0.1^(i+1)) in `actual` layout and whose
// angular_form declares `declared`.
class DeclaredLayout final : public Encoder {
 public:
  DeclaredLayout(SinCosLayout actual, std::optional<SinCosLayout> declared)
      : actual_(actual), declared_(declared) {}
  Family family() const override { return Family::additive; }
  void check_shape(int64_t, int64_t) const override {}
  void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const override {
    const int64_t half = dim / 2;
    const bool concat = actual_ == SinCosLayout::sin_then_cos;
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * freq(i);
        out[t * size_t(dim) + size_t(concat ? i : 2 * i)] = std::sin(angle);
        out[t * size_t(dim) + size_t(concat ? i + half : 2 * i + 1)] = std::cos(angle);
      }
  }
  std::optional<AngularForm> angular_form(int64_t dim, const RotaryContext&) const override {
    AngularForm form;
    for (int64_t i = 0; i < dim / 2; ++i) form.inv_freq.push_back(freq(i));
    form.columns = declared_;
    return form;
  }

 private:
  static double freq(int64_t i) { return std::pow(0.1, double(i + 1)); }
  SinCosLayout actual_;
  std::optional<SinCosLayout> declared_;
};

TEST(KernelAngularForm, SinusoidalDeclaresTheLayoutItUses) {
  for (bool concat : {false, true}) {
    auto enc = make("sinusoidal", {{"layout", concat ? "concat" : "interleaved"}});
    const auto form = enc->angular_form(8, RotaryContext{});
    ASSERT_TRUE(form.has_value());
    ASSERT_TRUE(form->columns.has_value());
    EXPECT_EQ(*form->columns,
              concat ? SinCosLayout::sin_then_cos : SinCosLayout::sin_cos_interleaved);
    std::string why;
    const auto additive = additive_closed_form(*enc, 64, 8, &why);
    ASSERT_TRUE(additive.has_value()) << why;
    EXPECT_EQ(additive->concat, concat);
  }
}

TEST(KernelAngularForm, DeclaredLayoutIsUsedNotGuessed) {
  const auto interleaved = SinCosLayout::sin_cos_interleaved, halves = SinCosLayout::sin_then_cos;
  for (SinCosLayout layout : {interleaved, halves}) {
    SCOPED_TRACE(to_string(layout));
    const DeclaredLayout right(layout, layout);
    std::string why;
    const auto form = additive_closed_form(right, 64, 8, &why);
    ASSERT_TRUE(form.has_value()) << why;
    EXPECT_EQ(form->concat, layout == halves);
    AdditiveTable<double> table(right, 64, 8);
    EXPECT_TRUE(table.closed_form()) << table.method();

    // Declared the other layout: not silently re-guessed; the generic path, saying why.
    const DeclaredLayout wrong(layout, layout == halves ? interleaved : halves);
    EXPECT_FALSE(additive_closed_form(wrong, 64, 8, &why).has_value());
    EXPECT_TRUE(has(why, "declared columns")) << why;
    AdditiveTable<double> fallback(wrong, 64, 8);
    EXPECT_FALSE(fallback.closed_form()) << fallback.method();
    std::vector<double> got(64 * 8), expected(64 * 8);
    fallback.run(Impl::reference, 1, got.data());
    std::vector<int64_t> positions(64);
    for (int64_t p = 0; p < 64; ++p) positions[size_t(p)] = p;
    wrong.additive_table(positions, 8, expected.data());
    EXPECT_EQ(got, expected);

    // No declaration: the generic path too.
    const DeclaredLayout silent(layout, std::nullopt);
    EXPECT_FALSE(additive_closed_form(silent, 64, 8, &why).has_value());
    EXPECT_TRUE(has(why, "states no column layout")) << why;
  }
}

TEST(KernelAngularForm, RopeFormHasNoColumns) {
  for (const char* layout : {"half", "interleaved"}) {
    auto enc = make("rope", {{"layout", layout}});
    const auto form = enc->angular_form(16, RotaryContext{});
    ASSERT_TRUE(form.has_value()) << layout;
    EXPECT_FALSE(form->columns.has_value()) << layout;
    std::string why;
    EXPECT_TRUE(rotary_closed_form(*enc, 64, 16, RotaryContext{}, &why).has_value()) << why;
  }
}

}  // namespace
}  // namespace posbench::kernels
