#pragma once
// bfloat16 storage for the speed kernels: the top 16 bits of a float32 (sign, 8 exponent bits,
// 7 mantissa bits). Storage only: kernels widen to float32 (exact), compute in float32 (angles
// in float64, as for float) and round once to bfloat16 on store, to nearest with ties to even.
//
// The conversions are compiled into the per-ISA kernel units as well (harness/kernels/
// simd_impl.h), each with its own -m flags. So that the linker can never pick an AVX-512 copy of
// one of these inline functions for baseline code (or the reverse), they live in an inline
// namespace whose name the includer may choose: simd_impl.h defines POSBENCH_BF16_NAMESPACE to a
// per-ISA name before including this header, every other unit gets `bf16_baseline`. The
// namespace is inline, so callers write posbench::kernels::to_float etc. either way.

#include <bit>
#include <cstdint>
#include <type_traits>

#ifndef POSBENCH_BF16_NAMESPACE
#define POSBENCH_BF16_NAMESPACE bf16_baseline
#endif

namespace posbench::kernels {

struct bfloat16 {
  uint16_t bits = 0;
};
static_assert(sizeof(bfloat16) == 2 && std::is_trivially_copyable_v<bfloat16>);

// 1 in storage type T, as a constant outside the per-ISA inline namespace below, so that default
// member initialisers using it (simd.h) are the same in every translation unit.
template <class T>
inline constexpr T kOne = T(1);
template <>
inline constexpr bfloat16 kOne<bfloat16> = bfloat16{0x3F80};

// The type a kernel computes in for storage type T: float32 for bfloat16, T otherwise.
template <class T>
struct compute_type {
  using type = T;
};
template <>
struct compute_type<bfloat16> {
  using type = float;
};
template <class T>
using compute_t = typename compute_type<T>::type;

inline namespace POSBENCH_BF16_NAMESPACE {

// Exact: the bits are the top half of the float32.
constexpr float to_float(bfloat16 x) { return std::bit_cast<float>(uint32_t(x.bits) << 16); }

// Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit, keep the top half (a
// carry into the exponent is the correct rounding up, up to inf). NaN -> quiet NaN of the same
// sign (the rounding could otherwise carry a NaN into inf). Written as a select before one shift,
// with the NaN test as a float compare: loops of it vectorise to ~30% fewer instructions than
// with an integer NaN test or a select after the shift.
constexpr bfloat16 to_bfloat16(float x) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  const uint32_t r = x != x ? u | 0x00400000u : u + 0x7FFFu + ((u >> 16) & 1u);
  return bfloat16{uint16_t(r >> 16)};
}

// float64 -> bfloat16 rounded once (to nearest, ties to even), not twice through float32:
// float32(x) is first made round-to-odd (if inexact and its last bit is even, step to the
// neighbour on the other side of x, which is odd), which keeps the information "x lies strictly
// between two float32s" in the last bit; float32 has 16 more bits than bfloat16, so the second
// rounding then gives the correctly rounded bfloat16 (the standard round-to-odd argument).
constexpr bfloat16 double_to_bfloat16(double x) {
  const float f = float(x);
  uint32_t u = std::bit_cast<uint32_t>(f);
  const double back = double(f);
  if (back != x && x == x && (u & 1u) == 0u) {
    const bool below = (back < 0 ? -back : back) < (x < 0 ? -x : x);
    u = below ? u + 1u : u - 1u;  // sign-magnitude: +1 is one step away from zero
  }
  return to_bfloat16(std::bit_cast<float>(u));
}

// Generic forms for code templated on the storage type T (float, double or bfloat16).
// NB: never write T(x) for T = bfloat16: C++20 aggregate initialisation from parentheses turns
// T(1) into the bit pattern 1.
constexpr float widen(bfloat16 x) { return to_float(x); }
constexpr float widen(float x) { return x; }
constexpr double widen(double x) { return x; }

// The compute value rounded to the storage type (identity for float and double).
template <class T>
constexpr T narrow(compute_t<T> x) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return to_bfloat16(x);
  else
    return x;
}

// A float64 value rounded once to the storage type.
template <class T>
constexpr T from_double(double x) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return double_to_bfloat16(x);
  else
    return T(x);
}

}  // namespace POSBENCH_BF16_NAMESPACE
}  // namespace posbench::kernels
