#pragma once
// Overflow-checked size arithmetic, for element and byte counts computed from sizes a user gave
// (shapes, lengths, list lengths, file headers). A CheckedSize is a 64-bit count that remembers
// whether any step of its computation overflowed or started from a negative number, so a formula
// reads as written and is checked once, where its value is used:
//
//   const CheckedSize bytes = CheckedSize(heads) * seq * seq * sizeof(float) + slack;
//   if (!bytes.at_most(limit)) throw UserError("shapes[0]", "... too large");
//
// __builtin_add_overflow / __builtin_mul_overflow do the checks. Private to posbench (not part
// of the installed SDK); used by the schemes, npy.cpp and the harness.
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace posbench {

class CheckedSize {
 public:
  constexpr CheckedSize() = default;
  // Any integer; a negative one is not a size, so everything computed from it is invalid.
  template <std::integral I>
  constexpr CheckedSize(I v)  // NOLINT(google-explicit-constructor): reads as arithmetic
      : value_(std::cmp_less(v, 0) ? 0 : static_cast<uint64_t>(v)), ok_(!std::cmp_less(v, 0)) {}

  friend constexpr CheckedSize operator+(CheckedSize a, CheckedSize b) {
    CheckedSize r;
    r.ok_ = !__builtin_add_overflow(a.value_, b.value_, &r.value_) && a.ok_ && b.ok_;
    return r;
  }
  friend constexpr CheckedSize operator*(CheckedSize a, CheckedSize b) {
    CheckedSize r;
    r.ok_ = !__builtin_mul_overflow(a.value_, b.value_, &r.value_) && a.ok_ && b.ok_;
    return r;
  }
  constexpr CheckedSize& operator+=(CheckedSize b) { return *this = *this + b; }
  constexpr CheckedSize& operator*=(CheckedSize b) { return *this = *this * b; }

  // True if every step stayed within 64 bits (and no operand was negative).
  constexpr bool ok() const { return ok_; }
  // The count, or nullopt if it overflowed.
  constexpr std::optional<uint64_t> value() const {
    return ok_ ? std::optional<uint64_t>(value_) : std::nullopt;
  }
  // The count if it did not overflow and is at most `limit`, else nullopt.
  constexpr std::optional<uint64_t> at_most(uint64_t limit) const {
    return ok_ && value_ <= limit ? std::optional<uint64_t>(value_) : std::nullopt;
  }
  // For memory estimates: the count, or the largest uint64 (more than any memory limit) if it
  // overflowed, so the memory guard refuses it instead of seeing a wrapped, small number.
  constexpr uint64_t saturated() const {
    return ok_ ? value_ : std::numeric_limits<uint64_t>::max();
  }

 private:
  uint64_t value_ = 0;
  bool ok_ = true;
};

}  // namespace posbench
