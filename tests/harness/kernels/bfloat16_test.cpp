// bfloat16 storage (harness/kernels/bfloat16.h) and the speed kernels instantiated for it
// (harness/kernels/ops.h), against values computed here in float64 from the formulas:
//   sinusoidal (Vaswani et al. 2017): PE(p, 2i) = sin(p base^(-2i/d)), PE(p, 2i+1) = cos(...)
//                                     ("concat": sin in column i, cos in column i + d/2);
//   RoPE (Su et al. 2021): cos/sin(p theta_i), theta_i = base^(-2i/d'), d' = rotated channels;
//     pair (a, b) becomes (a c - b s, a s + b c), pairs (i, i + d'/2) or (2i, 2i + 1);
//   ALiBi (Press et al. 2022): b_h(i, j) = -m_h |i - j|, m_h = 2^(-8(h+1)/H) for H a power of
//     two, else the slopes of c = 2^floor(log2 H) heads then the first H - c even-indexed slopes
//     of 2c heads (the paper's code, as in encoders/alibi.cpp);
//   axpy: x + scale y.
//
// How an output is judged. The kernels compute in float32 and round once to bfloat16, to nearest
// with ties to even. A float32 result x within e of the exact value v (e: the float32 allowance
// of the spec for the op) therefore rounds to a bfloat16 y with
//     nearest_even(v - e) <= y <= nearest_even(v + e)
// (rounding is monotonic), and that window is what every output is checked against, with
// nearest_even written here on float64 (bf16_bits_of), independently of bfloat16.h. It implies
// |y - v| <= 2^-8 |v| + e (1 + 2^-8): bfloat16 has 8 significant bits, so correct rounding alone
// can be off by 2^-8 |v| just above a power of two (0x1.01p0 - tiny rounds to 1), twice the
// 2^-9 |v| of the shared spec, which no correctly rounded kernel could meet. Otherwise the window
// is as narrow as one rounding of a float32 result allows: truncation, ties away from zero (unless
// v is within e of a tie) or a second rounding through bfloat16 fail. The allowances e are the
// spec's, plus float32 relative terms (2^-22 |b|) for ALiBi, whose |b| reaches hundreds.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "harness/kernels/bfloat16.h"
#include "harness/kernels/ops.h"
#include "harness/kernels/simd.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::make;

const std::vector<int64_t> kSeqs = {1, 7, 1000};
const std::vector<int64_t> kDims = {2, 6, 64, 80, 128, 256};
const std::vector<Impl> kImpls = {Impl::reference, Impl::simd};

constexpr bfloat16 kPlusOne{0x3F80};
constexpr bfloat16 kMinusOne{0xBF80};

// ---- an independent bfloat16 model --------------------------------------------------------------

float f32(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t bits32(float x) { return std::bit_cast<uint32_t>(x); }

// The value of a bfloat16 pattern (the top half of a float32).
float value(bfloat16 x) { return f32(uint32_t(x.bits) << 16); }

bool is_nan_bits(uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x007F) != 0; }

// x rounded to the nearest bfloat16, ties to even, straight from float64: within the binade
// [2^k, 2^(k+1)) (k >= -126; below that the subnormal spacing) the spacing is 2^(k-7), so
// x / spacing rounded to the nearest integer (ties to even: nearbyint in the default rounding
// mode) is the significand; results of 2^128 or more overflow to infinity.
uint16_t bf16_bits_of(double x) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return sign | 0x7FC0;
  const double a = std::abs(x);
  if (std::isinf(a)) return sign | 0x7F80;
  if (a == 0) return sign;
  int e = 0;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  const double spacing = std::ldexp(1.0, std::max(e - 1, -126) - 7);
  const double r = std::nearbyint(a / spacing) * spacing;
  if (r >= 0x1p128) return sign | 0x7F80;
  return sign | uint16_t(bits32(float(r)) >> 16);  // r is a bfloat16 number: exact in float
}

std::string hex16(uint16_t b) {
  std::ostringstream s;
  s << "0x" << std::hex << std::uppercase << std::setw(4) << std::setfill('0') << b;
  return s.str();
}

std::string show(bfloat16 x) {
  std::ostringstream s;
  s << hex16(x.bits) << " (" << std::setprecision(9) << value(x) << ")";
  return s.str();
}

// The outputs a once-rounded float32 result within e of v may take (see the top of the file).
struct Window {
  float lo = 0, hi = 0;
  double v = 0, e = 0;
};

Window window(double v, double e) {
  return {value(bfloat16{bf16_bits_of(v - e)}), value(bfloat16{bf16_bits_of(v + e)}), v, e};
}

bool inside(bfloat16 y, const Window& w) { return w.lo <= value(y) && value(y) <= w.hi; }

std::string explain(bfloat16 y, const Window& w) {
  std::ostringstream s;
  s << std::setprecision(12) << "got " << show(y) << ", exact v = " << w.v
    << ", float32 allowance e = " << w.e << ", allowed [nearest_even(v - e), nearest_even(v + e)]"
    << " = [" << w.lo << ", " << w.hi << "], |y - v| = " << std::abs(double(value(y)) - w.v)
    << " vs 2^-8 |v| + e = " << std::ldexp(std::abs(w.v), -8) + w.e;
  return s.str();
}

// Counts failures and keeps the first few, so a broken kernel gives a short report.
class Failures {
 public:
  // `describe` is called for the first few failures only (a string per failing element of a
  // million-element output would take seconds).
  template <class F>
  void add(F&& describe) {
    if (count_++ < 4) first_ += "\n  " + std::string(describe());
  }
  int64_t count() const { return count_; }
  const std::string& first() const { return first_; }

 private:
  int64_t count_ = 0;
  std::string first_;
};

// bfloat16 data that sits `misalign` elements (2 bytes each; odd: only 2-byte aligned) past a
// 64-byte boundary, with sentinel elements on both sides that no kernel may write.
class Guarded {
 public:
  static constexpr int64_t kGuard = 32;
  static constexpr uint16_t kSentinel = 0x7FA5;  // a signalling-NaN pattern

  Guarded(int64_t n, int64_t misalign)
      : n_(n), storage_(size_t(n + 2 * kGuard + 32 + misalign), bfloat16{kSentinel}) {
    const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    first_ = int64_t((64 - addr % 64) % 64) / 2 + kGuard + misalign;
  }
  bfloat16* data() { return storage_.data() + first_; }
  const bfloat16* data() const { return storage_.data() + first_; }
  bfloat16& operator[](int64_t k) { return data()[k]; }
  int64_t size() const { return n_; }
  void assign(const std::vector<bfloat16>& v) {
    for (int64_t k = 0; k < n_; ++k) data()[k] = v[size_t(k)];
  }
  std::vector<bfloat16> contents() const { return {data(), data() + n_}; }
  bool guards_intact() const {
    for (int64_t k = 0; k < int64_t(storage_.size()); ++k)
      if ((k < first_ || k >= first_ + n_) && storage_[size_t(k)].bits != kSentinel) return false;
    return true;
  }

 private:
  int64_t n_;
  std::vector<bfloat16> storage_;
  int64_t first_ = 0;
};

// Seeded N(0, 1) * scale draws rounded to bfloat16.
std::vector<bfloat16> random_bf16(int64_t n, const char* stream, double scale) {
  Rng rng(7, stream);
  std::vector<bfloat16> v(static_cast<size_t>(n));
  for (auto& x : v) x = bfloat16{bf16_bits_of(scale * rng.normal())};
  return v;
}

// Position of a bfloat16 on the number line in units of its last place: neighbours differ by
// 1, +0 and -0 are both 0.
int32_t ordinal(bfloat16 x) {
  const int32_t m = x.bits & 0x7FFF;
  return (x.bits & 0x8000) ? -m : m;
}

void expect_in_windows(const bfloat16* y, const std::vector<Window>& want,
                       const std::string& what) {
  Failures bad;
  for (size_t k = 0; k < want.size(); ++k)
    if (!inside(y[k], want[k]))
      bad.add([&] { return "element " + std::to_string(k) + ": " + explain(y[k], want[k]); });
  EXPECT_EQ(bad.count(), 0) << what << ": outputs outside the once-rounded float32 window"
                            << bad.first();
}

void expect_identical(const std::vector<bfloat16>& a, const std::vector<bfloat16>& b,
                      const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  Failures bad;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].bits != b[k].bits)
      bad.add(
          [&] { return "element " + std::to_string(k) + ": " + show(a[k]) + " vs " + show(b[k]); });
  EXPECT_EQ(bad.count(), 0) << what << ": not bit-identical" << bad.first();
}

void expect_within_one_ulp(const std::vector<bfloat16>& simd, const std::vector<bfloat16>& ref,
                           const std::string& what) {
  ASSERT_EQ(simd.size(), ref.size());
  Failures bad;
  for (size_t k = 0; k < simd.size(); ++k)
    if (is_nan_bits(simd[k].bits) || is_nan_bits(ref[k].bits) ||
        std::abs(ordinal(simd[k]) - ordinal(ref[k])) > 1)
      bad.add([&] {
        return "element " + std::to_string(k) + ": simd " + show(simd[k]) + " vs reference " +
               show(ref[k]);
      });
  EXPECT_EQ(bad.count(), 0) << what << ": simd and reference more than 1 bfloat16 ulp apart"
                            << bad.first();
}

// Runs an op writing outputs of the sizes of `want` (one window per element) for both
// implementations and 1 and 2 threads into guarded, 2-byte-aligned buffers, and checks: every
// output within its window (1 thread; 2 threads must then be bit-identical to it), no write
// outside the outputs, simd within 1 ulp of reference. `run` may fill the buffers with inputs
// before calling the op.
using Runner = std::function<void(Impl, int, std::vector<Guarded>&)>;

void check_op(const std::vector<std::vector<Window>>& want, const Runner& run,
              const std::string& what) {
  std::vector<std::vector<bfloat16>> by_impl[2];
  for (size_t m = 0; m < kImpls.size(); ++m) {
    std::vector<std::vector<bfloat16>> by_threads[2];
    for (int threads : {1, 2}) {
      const std::string label =
          what + " " + to_string(kImpls[m]) + " threads " + std::to_string(threads);
      std::vector<Guarded> out;
      for (size_t o = 0; o < want.size(); ++o)
        out.emplace_back(int64_t(want[o].size()), int64_t(2 * o + 1));
      run(kImpls[m], threads, out);
      for (size_t o = 0; o < want.size(); ++o) {
        EXPECT_TRUE(out[o].guards_intact()) << label << ": wrote outside output " << o;
        if (threads == 1)
          expect_in_windows(out[o].data(), want[o], label + " output " + std::to_string(o));
        by_threads[threads - 1].push_back(out[o].contents());
      }
    }
    for (size_t o = 0; o < want.size(); ++o)
      expect_identical(
          by_threads[0][o], by_threads[1][o],
          what + " " + to_string(kImpls[m]) + " output " + std::to_string(o) + ", 1 vs 2 threads");
    by_impl[m] = by_threads[0];
  }
  for (size_t o = 0; o < want.size(); ++o)
    expect_within_one_ulp(by_impl[1][o], by_impl[0][o], what + " output " + std::to_string(o));
}

// ---- conversion -------------------------------------------------------------------------------

struct RoundingCase {
  uint32_t in;   // float32 bits
  uint16_t out;  // expected bfloat16 bits
  const char* why;
};

const std::vector<RoundingCase> kRoundingCases = {
    {0x3F800000, 0x3F80, "1 (exact)"},
    {0xC0000000, 0xC000, "-2 (exact)"},
    {0x3E800000, 0x3E80, "0.25 (exact)"},
    {0x40490000, 0x4049, "3.140625 (exact)"},
    {0x40490FDB, 0x4049, "pi rounds down"},
    {0x3F808000, 0x3F80, "1 + 2^-8: tie, to even below"},
    {0x3F818000, 0x3F82, "1 + 3 2^-8: tie, to even above"},
    {0xBF808000, 0xBF80, "-(1 + 2^-8): tie, to even"},
    {0xBF818000, 0xBF82, "-(1 + 3 2^-8): tie, to even"},
    {0x3F808001, 0x3F81, "just above a tie rounds up"},
    {0x3F807FFF, 0x3F80, "just below a tie rounds down"},
    {0x3F818001, 0x3F82, "just above a tie (odd below)"},
    {0x3F817FFF, 0x3F81, "just below a tie (odd below)"},
    {0x3FFF8000, 0x4000, "tie carrying into the exponent: 2"},
    {0x3FFF7FFF, 0x3FFF, "just below that tie"},
    {0x7F7FFFFF, 0x7F80, "largest float: above the last tie, overflows to inf"},
    {0xFF7FFFFF, 0xFF80, "-largest float: -inf"},
    {0x7F7F8000, 0x7F80, "tie between the largest bf16 (odd) and 2^128: inf"},
    {0x7F7F7FFF, 0x7F7F, "just below that tie: the largest bf16"},
    {0x7F7E8000, 0x7F7E, "tie below an even large bf16 stays finite"},
    {0x00000000, 0x0000, "+0"},
    {0x80000000, 0x8000, "-0 keeps its sign"},
    {0x7F800000, 0x7F80, "+inf"},
    {0xFF800000, 0xFF80, "-inf"},
    {0x00800000, 0x0080, "smallest normal float"},
    {0x00010000, 0x0001, "2^-133: smallest bf16 subnormal (exact)"},
    {0x00008000, 0x0000, "2^-134: tie between 0 and 2^-133, to even 0"},
    {0x00008001, 0x0001, "just above 2^-134"},
    {0x00018000, 0x0002, "subnormal tie, to even above"},
    {0x80018000, 0x8002, "negative subnormal tie"},
    {0x00000001, 0x0000, "smallest float subnormal underflows to 0"},
    {0x80000001, 0x8000, "-smallest float subnormal underflows to -0"},
    {0x007FFFFF, 0x0080, "largest float subnormal rounds up to the smallest normal"},
    {0x007F7FFF, 0x007F, "largest bf16 subnormal"},
};

TEST(BFloat16Conversion, RoundsToNearestEvenOnHandPickedValues) {
  for (const RoundingCase& c : kRoundingCases) {
    const float x = f32(c.in);
    EXPECT_EQ(hex16(to_bfloat16(x).bits), hex16(c.out))
        << c.why << ": to_bfloat16(" << std::setprecision(10) << x << ")";
    // The test's own rounding model must agree with the hand-derived answers.
    EXPECT_EQ(hex16(bf16_bits_of(double(x))), hex16(c.out)) << "test oracle, " << c.why;
  }
}

TEST(BFloat16Conversion, ToFloatIsTheTopHalfOfAFloat32) {
  EXPECT_EQ(to_float(bfloat16{0x3F80}), 1.0f);
  EXPECT_EQ(to_float(bfloat16{0xC000}), -2.0f);
  EXPECT_EQ(to_float(bfloat16{0x4049}), 3.140625f);
  EXPECT_EQ(to_float(bfloat16{0x3E80}), 0.25f);
  EXPECT_EQ(to_float(bfloat16{0x7F7F}), 0x1.FEp127f);  // largest finite bfloat16
  EXPECT_EQ(to_float(bfloat16{0x0080}), 0x1p-126f);    // smallest normal
  EXPECT_EQ(to_float(bfloat16{0x0001}), 0x1p-133f);    // smallest subnormal
  EXPECT_EQ(to_float(bfloat16{0x807F}), -0x1.FCp-127f);
  EXPECT_EQ(to_float(bfloat16{0x7F80}), std::numeric_limits<float>::infinity());
  EXPECT_EQ(to_float(bfloat16{0xFF80}), -std::numeric_limits<float>::infinity());
  const float nz = to_float(bfloat16{0x8000});
  EXPECT_TRUE(nz == 0.0f && std::signbit(nz));
  EXPECT_TRUE(std::isnan(to_float(bfloat16{0x7FC0})));
  EXPECT_TRUE(std::isnan(to_float(bfloat16{0xFF81})));
  // Exact for every pattern: bits << 16.
  Failures bad;
  for (uint32_t b = 0; b < 65536; ++b)
    if (bits32(to_float(bfloat16{uint16_t(b)})) != b << 16)
      bad.add([&] { return hex16(uint16_t(b)); });
  EXPECT_EQ(bad.count(), 0) << "to_float is not bits << 16 for" << bad.first();
}

TEST(BFloat16Conversion, NaNStaysAQuietNaNOfTheSameSign) {
  // Plain rounding of the bit patterns would turn several of these into inf (0x7F800001,
  // 0x7F808000: the payload is below bit 16) or carry into the sign bit (0x7FFFFFFF -> -0,
  // 0xFFFFFFFF -> +0).
  for (uint32_t in : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFF800001u, 0x7F808000u, 0x7F80FFFFu,
                      0x7FBFFFFFu, 0x7FFFFFFFu, 0xFFFFFFFFu, 0x7FA50000u}) {
    const float x = f32(in);
    ASSERT_TRUE(std::isnan(x));
    const uint16_t b = to_bfloat16(x).bits;
    EXPECT_TRUE(is_nan_bits(b)) << "float bits 0x" << std::hex << in << " -> " << hex16(b);
    EXPECT_TRUE(b & 0x0040) << "not quiet: float bits 0x" << std::hex << in << " -> " << hex16(b);
    EXPECT_EQ(b & 0x8000, (in >> 16) & 0x8000)
        << "sign lost: float bits 0x" << std::hex << in << " -> " << hex16(b);
  }
}

TEST(BFloat16Conversion, EveryBitPatternRoundTrips) {
  Failures bad, nan_bad;
  int64_t nans = 0;
  for (uint32_t b = 0; b < 65536; ++b) {
    const bfloat16 x{uint16_t(b)};
    const bfloat16 back = to_bfloat16(to_float(x));
    if (is_nan_bits(x.bits)) {
      ++nans;
      if (!is_nan_bits(back.bits) || !(back.bits & 0x0040) ||
          (back.bits & 0x8000) != (x.bits & 0x8000))
        nan_bad.add([&] { return hex16(x.bits) + " -> " + hex16(back.bits); });
    } else if (back.bits != x.bits) {
      bad.add([&] { return hex16(x.bits) + " -> " + hex16(back.bits); });
    }
  }
  EXPECT_EQ(nans, 2 * 127);  // 2 signs, 127 non-zero payloads
  EXPECT_EQ(bad.count(), 0) << "non-NaN patterns that do not round-trip" << bad.first();
  EXPECT_EQ(nan_bad.count(), 0) << "NaN patterns not giving a quiet NaN of the same sign"
                                << nan_bad.first();
}

// Every upper half with low halves at and around the rounding boundary (0x0000, 0x0001, 0x7FFF,
// 0x8000, 0x8001, 0xFFFF) and one random low half: normals, subnormals, overflow, both signs.
TEST(BFloat16Conversion, MatchesNearestEvenFromFloat64ForAllBinades) {
  Rng rng(7, "bfloat16_test/low");
  Failures bad;
  for (uint32_t hi = 0; hi < 65536; ++hi) {
    const uint32_t random_low = uint32_t(rng.uniform() * 65536.0) & 0xFFFF;
    for (uint32_t low : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu, random_low}) {
      const float x = f32(hi << 16 | low);
      if (std::isnan(x)) continue;
      const uint16_t got = to_bfloat16(x).bits, want = bf16_bits_of(double(x));
      if (got != want) {
        std::ostringstream s;
        s << "float bits 0x" << std::hex << (hi << 16 | low) << ": got " << hex16(got)
          << ", nearest even " << hex16(want);
        bad.add([&] { return s.str(); });
      }
    }
  }
  EXPECT_EQ(bad.count(), 0) << "to_bfloat16 differs from round to nearest even" << bad.first();
}

// ---- tables -----------------------------------------------------------------------------------

// Float32 allowance of the tables (the float32 tables' contract).
constexpr double kTableSlack = 2e-6;

void check_sinusoidal(bool concat) {
  auto enc = make("sinusoidal", {{"layout", concat ? "concat" : "interleaved"}});
  for (int64_t seq : kSeqs)
    for (int64_t dim : kDims) {
      const int64_t half = dim / 2;
      std::vector<Window> want(size_t(seq * dim));
      for (int64_t p = 0; p < seq; ++p)
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(p) * std::pow(10000.0, -2.0 * double(i) / double(dim));
          want[size_t(p * dim + (concat ? i : 2 * i))] = window(std::sin(angle), kTableSlack);
          want[size_t(p * dim + (concat ? i + half : 2 * i + 1))] =
              window(std::cos(angle), kTableSlack);
        }
      const AdditiveTable<bfloat16> table(*enc, seq, dim);
      check_op(
          {want},
          [&](Impl impl, int threads, std::vector<Guarded>& out) {
            table.run(impl, threads, out[0].data());
          },
          std::string("sinusoidal ") + (concat ? "concat" : "interleaved") + " seq " +
              std::to_string(seq) + " dim " + std::to_string(dim));
    }
}

TEST(BFloat16Tables, SinusoidalInterleaved) { check_sinusoidal(false); }
TEST(BFloat16Tables, SinusoidalConcat) { check_sinusoidal(true); }

void check_rope_table(double fraction, double base) {
  auto enc = make("rope", {{"rotary_fraction", fraction}, {"base", base}});
  for (int64_t seq : kSeqs)
    for (int64_t head_dim : kDims) {
      const int64_t rd = int64_t(std::floor(fraction * double(head_dim))) / 2 * 2;
      if (rd < 2) continue;
      const int64_t half = rd / 2;
      std::vector<Window> want_cos(size_t(seq * half)), want_sin(want_cos.size());
      for (int64_t p = 0; p < seq; ++p)
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(p) * std::pow(base, -2.0 * double(i) / double(rd));
          want_cos[size_t(p * half + i)] = window(std::cos(angle), kTableSlack);
          want_sin[size_t(p * half + i)] = window(std::sin(angle), kTableSlack);
        }
      const RotaryTable<bfloat16> table(*enc, seq, head_dim, Role::query);
      ASSERT_EQ(table.pairs(), half);
      check_op(
          {want_cos, want_sin},
          [&](Impl impl, int threads, std::vector<Guarded>& out) {
            table.run(impl, threads, out[0].data(), out[1].data());
          },
          "rope cache fraction " + std::to_string(fraction) + " seq " + std::to_string(seq) +
              " head_dim " + std::to_string(head_dim));
    }
}

TEST(BFloat16Tables, Rope) { check_rope_table(1.0, 10000.0); }
TEST(BFloat16Tables, RopePartialRotation) { check_rope_table(0.5, 500000.0); }

// ---- rotate -----------------------------------------------------------------------------------

void check_rotate(RotaryPairing pairing) {
  const bool interleaved = pairing == RotaryPairing::interleaved;
  // 0.3: rotary_dims < head_dim with an odd number of pairs (9, 19, 38) for 64, 128, 256.
  const std::vector<int64_t> kHeads = {3, 2, 1, 2, 1, 1};  // per head_dim, for the run time
  for (double fraction : {1.0, 0.3})
    for (size_t d = 0; d < kDims.size(); ++d) {
      const int64_t head_dim = kDims[d], heads = kHeads[d];
      const int64_t rd = int64_t(std::floor(fraction * double(head_dim))) / 2 * 2;
      if (rd < 2) continue;
      const int64_t half = rd / 2;
      for (int64_t seq : kSeqs) {
        const int64_t n = seq * heads * head_dim;
        const std::string what = std::string(interleaved ? "interleaved" : "half") + " seq " +
                                 std::to_string(seq) + " heads " + std::to_string(heads) +
                                 " head_dim " + std::to_string(head_dim) + " rotary_dims " +
                                 std::to_string(rd);
        // Inputs: x ~ N(0, 1) and the RoPE cache, all bfloat16.
        const std::vector<bfloat16> x = random_bf16(n, "bfloat16_test/rotate", 1.0);
        std::vector<bfloat16> c(size_t(seq * half)), s(c.size());
        for (int64_t p = 0; p < seq; ++p)
          for (int64_t i = 0; i < half; ++i) {
            const double angle = double(p) * std::pow(10000.0, -2.0 * double(i) / double(rd));
            c[size_t(p * half + i)] = bfloat16{bf16_bits_of(std::cos(angle))};
            s[size_t(p * half + i)] = bfloat16{bf16_bits_of(std::sin(angle))};
          }
        // Expected from the widened inputs; channels past rd are copies.
        std::vector<Window> want(static_cast<size_t>(n));
        std::vector<bool> rotated(size_t(n), false);
        for (int64_t p = 0; p < seq; ++p)
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < half; ++i) {
              const int64_t off = (p * heads + h) * head_dim;
              const size_t ia = size_t(off + (interleaved ? 2 * i : i));
              const size_t ib = size_t(off + (interleaved ? 2 * i + 1 : i + half));
              const double a = value(x[ia]), b = value(x[ib]);
              const double cp = value(c[size_t(p * half + i)]), sp = value(s[size_t(p * half + i)]);
              const double e = std::ldexp(std::abs(a) + std::abs(b), -20);
              want[ia] = window(a * cp - b * sp, e);
              want[ib] = window(a * sp + b * cp, e);
              rotated[ia] = rotated[ib] = true;
            }

        std::vector<bfloat16> result[2][2][2];  // [impl][in place][threads - 1]
        for (size_t m = 0; m < kImpls.size(); ++m)
          for (bool in_place : {false, true})
            for (int threads : {1, 2}) {
              const std::string label = what + " " + to_string(kImpls[m]) + " threads " +
                                        std::to_string(threads) +
                                        (in_place ? " in place" : " out of place");
              Guarded src(n, 1), dst(n, 3), cb(seq * half, 5), sb(seq * half, 7);
              src.assign(x);
              cb.assign(c);
              sb.assign(s);
              bfloat16* out = in_place ? src.data() : dst.data();
              rotate<bfloat16>(kImpls[m], threads, src.data(), out, seq, heads, head_dim, rd,
                               pairing, cb.data(), sb.data());
              EXPECT_TRUE(src.guards_intact() && dst.guards_intact() && cb.guards_intact() &&
                          sb.guards_intact())
                  << label << ": wrote outside its arrays";
              expect_identical(cb.contents(), c, label + ": cos cache changed");
              expect_identical(sb.contents(), s, label + ": sin cache changed");
              if (!in_place) expect_identical(src.contents(), x, label + ": src changed");
              Failures bad;  // 1 thread against the formula; 2 threads must match it bit for bit
              for (int64_t k = 0; k < (threads == 1 ? n : 0); ++k) {
                if (rotated[size_t(k)]) {
                  if (!inside(out[k], want[size_t(k)]))
                    bad.add([&] {
                      return "element " + std::to_string(k) + ": " +
                             explain(out[k], want[size_t(k)]);
                    });
                } else if (out[k].bits != x[size_t(k)].bits) {
                  bad.add([&] {
                    return "element " + std::to_string(k) + " (channel " +
                           std::to_string(k % head_dim) + ", past rotary_dims): got " +
                           show(out[k]) + ", input " + show(x[size_t(k)]);
                  });
                }
              }
              EXPECT_EQ(bad.count(), 0) << label << bad.first();
              result[m][in_place][threads - 1].assign(out, out + n);
            }
        for (size_t m = 0; m < kImpls.size(); ++m)
          for (int in_place : {0, 1})
            expect_identical(result[m][in_place][0], result[m][in_place][1],
                             what + " " + to_string(kImpls[m]) + (in_place ? " in place" : "") +
                                 ", 1 vs 2 threads");
        for (int in_place : {0, 1})
          expect_within_one_ulp(result[1][in_place][0], result[0][in_place][0],
                                what + (in_place ? " in place" : ""));
      }
    }
}

TEST(BFloat16Rotate, HalfPairing) { check_rotate(RotaryPairing::half); }
TEST(BFloat16Rotate, InterleavedPairing) { check_rotate(RotaryPairing::interleaved); }

// ---- axpy -------------------------------------------------------------------------------------

// x and y ~ N(0, 1) scaled by 2^-6 .. 2^6 element by element (sums of unequal magnitudes), with
// exact cancellations (y = x) every 17th element.
TEST(BFloat16Axpy, PlusAndMinusOneOddSizesUnalignedInPlace) {
  for (int64_t n : std::vector<int64_t>{1, 7, 1000, 4099, 2 * kElementsPerTask + 3})
    for (bfloat16 scale : {kPlusOne, kMinusOne}) {
      const double sc = value(scale);
      std::vector<bfloat16> x = random_bf16(n, "bfloat16_test/axpy_x", 1.0);
      std::vector<bfloat16> y = random_bf16(n, "bfloat16_test/axpy_y", 1.0);
      for (int64_t k = 0; k < n; ++k) {
        x[size_t(k)] = bfloat16{bf16_bits_of(std::ldexp(value(x[size_t(k)]), int(k % 13) - 6))};
        y[size_t(k)] = bfloat16{bf16_bits_of(std::ldexp(value(y[size_t(k)]), int(k % 11) - 5))};
        if (k % 17 == 3) y[size_t(k)] = x[size_t(k)];
      }
      std::vector<Window> want(static_cast<size_t>(n));
      for (size_t k = 0; k < size_t(n); ++k) {
        const double a = value(x[k]), b = value(y[k]);
        want[k] = window(a + sc * b, std::ldexp(std::abs(a) + std::abs(b), -20));
      }
      const std::string what = "axpy n " + std::to_string(n) + " scale " + std::to_string(sc);
      // Out of place: outputs dst, then x and y are checked unchanged.
      check_op(
          {want},
          [&](Impl impl, int threads, std::vector<Guarded>& out) {
            Guarded xb(n, 5), yb(n, 7);
            xb.assign(x);
            yb.assign(y);
            axpy<bfloat16>(impl, threads, out[0].data(), xb.data(), yb.data(), n, scale);
            expect_identical(xb.contents(), x, what + ": x changed");
            expect_identical(yb.contents(), y, what + ": y changed");
            EXPECT_TRUE(xb.guards_intact() && yb.guards_intact()) << what;
          },
          what);
      // In place: dst == x.
      check_op(
          {want},
          [&](Impl impl, int threads, std::vector<Guarded>& out) {
            Guarded yb(n, 7);
            out[0].assign(x);
            yb.assign(y);
            axpy<bfloat16>(impl, threads, out[0].data(), out[0].data(), yb.data(), n, scale);
          },
          what + " in place");
    }
}

// ---- bias -------------------------------------------------------------------------------------

using kernel_test::alibi_slopes;

struct BiasCase {
  int64_t heads, n;
};
const std::vector<BiasCase> kBiasCases = {{1, 1},  {1, 7},   {2, 100}, {4, 257},
                                          {8, 33}, {3, 100}, {1, 1000}};

double alibi(const std::vector<double>& m, int64_t h, int64_t i, int64_t j) {
  return -m[size_t(h)] * std::abs(double(i - j));
}

TEST(BFloat16Bias, AlibiMaterialize) {
  auto enc = make("alibi");
  for (const BiasCase& bc : kBiasCases) {
    const int64_t heads = bc.heads, n = bc.n;
    const std::vector<double> m = alibi_slopes(heads);
    std::vector<Window> want(size_t(heads * n * n));
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const double b = alibi(m, h, i, j);
          // float32 allowance: the spec's 2e-6 plus two float32 roundings of b.
          want[size_t((h * n + i) * n + j)] = window(b, 2e-6 + std::ldexp(std::abs(b), -22));
        }
    const BiasOp<bfloat16> op(*enc, n, heads, 2);
    check_op(
        {want},
        [&](Impl impl, int threads, std::vector<Guarded>& out) {
          op.materialize(impl, threads, out[0].data());
        },
        "alibi materialize heads " + std::to_string(heads) + " n " + std::to_string(n));
  }
}

TEST(BFloat16Bias, AlibiAdd) {
  auto enc = make("alibi");
  for (const BiasCase& bc : kBiasCases)
    for (bfloat16 scale : {kPlusOne, kMinusOne}) {
      if (bc.n == 1000 && scale.bits == kPlusOne.bits) continue;  // run time: one scale is enough
      const int64_t heads = bc.heads, n = bc.n, size = heads * n * n;
      const double sc = value(scale);
      const std::vector<double> m = alibi_slopes(heads);
      const std::vector<bfloat16> logits = random_bf16(size, "bfloat16_test/logits", 8.0);
      std::vector<Window> want(static_cast<size_t>(size));
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const size_t k = size_t((h * n + i) * n + j);
            const double b = alibi(m, h, i, j), l = value(logits[k]);
            // b may be rounded to bfloat16 first (half an ulp: at most 2^-8 |b|), then float32
            // arithmetic (two roundings) and the spec's 2e-6.
            const double e =
                std::ldexp(std::abs(b), -8) + std::ldexp(std::abs(l) + std::abs(b), -22) + 2e-6;
            want[k] = window(l + sc * b, e);
          }
      const BiasOp<bfloat16> op(*enc, n, heads, 2);
      check_op(
          {want},
          [&](Impl impl, int threads, std::vector<Guarded>& out) {
            out[0].assign(logits);
            op.add(impl, threads, out[0].data(), scale);
          },
          "alibi add heads " + std::to_string(heads) + " n " + std::to_string(n) + " scale " +
              std::to_string(sc));
    }
}

}  // namespace
}  // namespace posbench::kernels
