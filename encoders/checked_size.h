#pragma once
// Overflow-checked size arithmetic: the one helper for element and byte counts computed from
// sizes a user gave (shapes, lengths, dims, heads, list lengths, file headers) and for memory
// estimates (Encoder::memory_bytes, Experiment::memory_bytes). A CheckedSize is a 64-bit
// unsigned count that remembers whether any step of its computation overflowed or started from
// a negative number, so a formula reads as written and is checked once, where it is used:
//
//   const CheckedSize logits = CheckedSize(heads) * seq * seq;       // a user error if too big
//   if (!logits.at_most(limit)) throw UserError("shapes[0]", "... = " + logits.text() + " ...");
//   return (CheckedSize(max_len) * dim * 8).saturated();              // a memory estimate
//
// A memory estimate that overflowed is saturated(): the largest uint64, more than any
// --max-memory, so the memory guard refuses it instead of seeing a wrapped, small number.
// __builtin_add_overflow / __builtin_mul_overflow do the checks. Part of the SDK (installed,
// header-only: plugins compute their memory_bytes() with it too).
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
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
  // The count as a (signed) int64, for indexing and allocation: nullopt if it overflowed or is
  // above INT64_MAX.
  constexpr std::optional<int64_t> as_int64() const {
    const auto v = at_most(uint64_t(std::numeric_limits<int64_t>::max()));
    return v ? std::optional<int64_t>(int64_t(*v)) : std::nullopt;
  }
  // For memory estimates: the count, or the largest uint64 (more than any memory limit) if it
  // overflowed.
  constexpr uint64_t saturated() const {
    return ok_ ? value_ : std::numeric_limits<uint64_t>::max();
  }
  // For messages: the count in decimal, or "more than 2^64" if it overflowed. (Negative
  // operands do not reach a message: every size parameter is declared with a minimum >= 0.)
  std::string text() const { return ok_ ? std::to_string(value_) : "more than 2^64"; }

 private:
  uint64_t value_ = 0;
  bool ok_ = true;
};

}  // namespace posbench
