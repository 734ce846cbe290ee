// CheckedSize (encoders/checked_size.h): exact counts while they fit in 64 bits; an overflow of
// any step, or a negative operand, marks the result (and everything computed from it) invalid;
// saturated() turns an invalid count into the largest uint64 for the memory guard.
#include "encoders/checked_size.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace posbench {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(CheckedSize, ExactWhileItFits) {
  const CheckedSize heads = 8, seq = 4096;
  const CheckedSize logits = heads * seq * seq;
  ASSERT_TRUE(logits.ok());
  EXPECT_EQ(*logits.value(), uint64_t(8) * 4096 * 4096);
  EXPECT_EQ(*(logits * sizeof(float) + 64).value(), uint64_t(8) * 4096 * 4096 * 4 + 64);
  // The largest values themselves are fine.
  EXPECT_EQ((CheckedSize(kMax) * 1).value(), kMax);
  EXPECT_EQ((CheckedSize(kMax - 1) + 1).value(), kMax);
  EXPECT_EQ((CheckedSize(std::numeric_limits<int64_t>::max()) * 2 + 1).value(), kMax);
  // Zero times anything is zero, also for dimensions that are huge on their own.
  EXPECT_EQ((CheckedSize(0) * (int64_t(1) << 62) * (int64_t(1) << 62)).value(), uint64_t(0));
  static_assert((CheckedSize(3) * 4 + 5).value() == uint64_t(17));
}

TEST(CheckedSize, MultiplicationOverflowIsCaught) {
  // seq = 2^32: heads * seq * seq is 2^64 for one head, the speed experiment's case.
  const int64_t seq = int64_t(1) << 32;
  const CheckedSize logits = CheckedSize(int64_t(1)) * seq * seq;
  EXPECT_FALSE(logits.ok());
  EXPECT_FALSE(logits.value().has_value());
  EXPECT_EQ(logits.saturated(), kMax);
  // Just past the top, in the last step.
  EXPECT_FALSE((CheckedSize(kMax / 3 + 1) * 3).ok());
  EXPECT_TRUE((CheckedSize(kMax / 3) * 3).ok());
}

TEST(CheckedSize, AdditionOverflowIsCaught) {
  EXPECT_FALSE((CheckedSize(kMax) + 1).ok());
  EXPECT_FALSE((CheckedSize(kMax / 2 + 1) + CheckedSize(kMax / 2 + 1)).ok());
  CheckedSize total = 0;
  for (int i = 0; i < 4; ++i) total += kMax / 4;
  EXPECT_TRUE(total.ok());
  total += 4;
  EXPECT_FALSE(total.ok());
}

TEST(CheckedSize, AnOverflowStaysInvalid) {
  // Later steps that would bring the wrapped value back into range do not hide it.
  const CheckedSize wrapped = CheckedSize(uint64_t(1) << 63) * 2;  // 2^64: wraps to 0
  EXPECT_FALSE(wrapped.ok());
  EXPECT_FALSE((wrapped + 1).ok());
  EXPECT_FALSE((wrapped * 0).ok());
  EXPECT_FALSE((CheckedSize(0) * wrapped).ok());
  EXPECT_FALSE(wrapped.at_most(kMax).has_value());
  EXPECT_EQ((wrapped + 5).saturated(), kMax);
}

TEST(CheckedSize, NegativeOperandsAreNotSizes) {
  EXPECT_FALSE(CheckedSize(-1).ok());
  EXPECT_FALSE((CheckedSize(int64_t(5)) * int64_t(-2)).ok());
  EXPECT_FALSE((CheckedSize(std::numeric_limits<int64_t>::min()) + 1).ok());
  EXPECT_EQ(CheckedSize(-1).saturated(), kMax);
}

TEST(CheckedSize, AtMostChecksTheLimit) {
  const CheckedSize n = CheckedSize(1) * (int64_t(1) << 36);
  EXPECT_EQ(n.at_most(uint64_t(1) << 36), uint64_t(1) << 36);
  EXPECT_FALSE(n.at_most((uint64_t(1) << 36) - 1).has_value());
  EXPECT_FALSE((n + 1).at_most(uint64_t(1) << 36).has_value());
  EXPECT_EQ(CheckedSize(7).saturated(), uint64_t(7));
}

TEST(CheckedSize, AsInt64IsNulloptAboveInt64Max) {
  constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ((CheckedSize(kI64Max) * 1).as_int64(), kI64Max);
  // 2^63 fits in 64 unsigned bits but not in an int64 (3037000500^2 = 9223372037000250000).
  EXPECT_TRUE((CheckedSize(int64_t(3037000500)) * int64_t(3037000500)).ok());
  EXPECT_FALSE((CheckedSize(int64_t(3037000500)) * int64_t(3037000500)).as_int64());
  EXPECT_FALSE((CheckedSize(kI64Max) + 1).as_int64());
  EXPECT_FALSE((CheckedSize(kMax) * 2).as_int64());
  EXPECT_EQ((CheckedSize(6) * 7).as_int64(), int64_t(42));
}

TEST(CheckedSize, TextForMessages) {
  EXPECT_EQ((CheckedSize(int64_t(3037000500)) * int64_t(3037000500)).text(), "9223372037000250000");
  EXPECT_EQ(CheckedSize(kMax).text(), "18446744073709551615");
  EXPECT_EQ((CheckedSize(kMax) + 1).text(), "more than 2^64");
  EXPECT_EQ(CheckedSize(0).text(), "0");
}

TEST(CheckedSize, SumsOfSaturatedEstimatesStaySaturated) {
  // Memory estimates are added after each was saturated (experiment + scheme): a saturated
  // term must not come back as a small count.
  EXPECT_EQ((CheckedSize(kMax) + uint64_t(1000)).saturated(), kMax);
  EXPECT_EQ((CheckedSize(uint64_t(1000)) + kMax).saturated(), kMax);
  EXPECT_EQ((CheckedSize(uint64_t(1) << 40) + (uint64_t(1) << 41)).saturated(), uint64_t(3) << 40);
}

}  // namespace
}  // namespace posbench
