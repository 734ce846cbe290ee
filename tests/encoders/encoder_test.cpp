// The Encoder interface (encoders/encoder.h): family names; the optional operations of the other
// families refuse with std::logic_error naming the operation and the scheme's family (a bug in
// the caller, never a user mistake); no closed form and no relative bias unless a scheme says so.
#include "encoders/encoder.h"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace posbench {
namespace {

TEST(Family, Names) {
  EXPECT_STREQ(to_string(Family::additive), "additive");
  EXPECT_STREQ(to_string(Family::rotary), "rotary");
  EXPECT_STREQ(to_string(Family::bias), "bias");
}

// A scheme that implements nothing but its family.
class Bare final : public Encoder {
 public:
  explicit Bare(Family f) : family_(f) {}
  Family family() const override { return family_; }
  void check_shape(int64_t, int64_t) const override {}

 private:
  Family family_;
};

// The message of the std::logic_error `f` throws ("<none>" if it throws nothing).
std::string logic_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "<none>";
}

TEST(Encoder, OptionalOperationsOfAnotherFamilyThrowLogicError) {
  const std::vector<int64_t> pos = {0, 1};
  std::vector<double> out(64), c(64), s(64);
  for (Family f : {Family::additive, Family::rotary, Family::bias}) {
    const Bare enc(f);
    const std::string fam = to_string(f);
    EXPECT_EQ(logic_error_of([&] { enc.additive_table(pos, 4, out.data()); }),
              "additive_table is not implemented by a " + fam + " scheme");
    EXPECT_EQ(logic_error_of([&] { enc.rotary_dims(8); }),
              "rotary_dims is not implemented by a " + fam + " scheme");
    EXPECT_EQ(logic_error_of([&] { enc.rotary_pairing(); }),
              "rotary_pairing is not implemented by a " + fam + " scheme");
    EXPECT_EQ(logic_error_of(
                  [&] { enc.rotary_coefficients(pos, 8, RotaryContext{}, c.data(), s.data()); }),
              "rotary_coefficients is not implemented by a " + fam + " scheme");
    EXPECT_EQ(logic_error_of([&] { enc.bias(pos, pos, 2, out.data()); }),
              "bias is not implemented by a " + fam + " scheme");
  }
}

TEST(Encoder, RefusalIsALogicErrorNotAUserError) {
  // UserError is a runtime_error (exit 2); calling the wrong family's operation is a bug.
  const Bare enc(Family::bias);
  std::vector<double> out(8);
  const std::vector<int64_t> pos = {0};
  try {
    enc.additive_table(pos, 2, out.data());
    ADD_FAILURE() << "expected std::logic_error";
  } catch (const UserError&) {
    ADD_FAILURE() << "a UserError";
  } catch (const std::logic_error&) {
  }
}

TEST(Encoder, NoAngularFormAndNoRelativeBiasByDefault) {
  for (Family f : {Family::additive, Family::rotary, Family::bias}) {
    const Bare enc(f);
    EXPECT_FALSE(enc.angular_form(8, RotaryContext{}).has_value());
    EXPECT_FALSE(enc.angular_form(8, RotaryContext{Role::key, 100}).has_value());
    EXPECT_FALSE(enc.bias_is_relative());
  }
}

TEST(Encoder, ImplementedOperationsAreTheSchemes) {
  // A scheme overriding its family's operation is called, not the refusing default.
  class Constant final : public Encoder {
   public:
    Family family() const override { return Family::additive; }
    void check_shape(int64_t, int64_t) const override {}
    void additive_table(std::span<const int64_t> positions, int64_t dim,
                        double* out) const override {
      for (size_t t = 0; t < positions.size(); ++t)
        for (int64_t c = 0; c < dim; ++c) out[t * dim + c] = double(positions[t]) + 0.5 * c;
    }
  };
  const Constant enc;
  const Encoder& base = enc;
  const std::vector<int64_t> pos = {3, 5};
  std::vector<double> out(4);
  base.additive_table(pos, 2, out.data());
  EXPECT_EQ(out, (std::vector<double>{3, 3.5, 5, 5.5}));
  EXPECT_THROW(base.rotary_dims(4), std::logic_error);
}

TEST(RotaryContext, Defaults) {
  const RotaryContext ctx;
  EXPECT_EQ(ctx.role, Role::query);
  EXPECT_EQ(ctx.seq_len, 0);
}

TEST(MemoryBytes, ASchemeKeepsNothingAndLoadsNothingByDefault) {
  struct Bare final : Encoder {
    Family family() const override { return Family::additive; }
    void check_shape(int64_t, int64_t) const override {}
  } bare;
  EXPECT_EQ(bare.memory_bytes(4096, 64), 0u);
  EXPECT_NO_THROW(bare.load());
}

}  // namespace
}  // namespace posbench
