// Consistency of the bfloat16 speed kernels (harness/kernels/simd_impl.h, reference.cpp, ops.cpp):
// every instruction-set instantiation against the reference kernels on odd sizes and 2-byte
// aligned data, results independent of the thread count, in-place rotation equal to
// out-of-place rotation, and the rounding inside each ISA unit equal to a nearest-bfloat16
// search written here without the bit trick. (The accuracy contract against float64 values is
// tested in bfloat16_test.cpp.)
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "encoders/rng.h"
#include "harness/kernels/bfloat16.h"
#include "harness/kernels/ops.h"
#include "harness/kernels/reference.h"
#include "harness/kernels/simd_arch.h"
#include "tests/harness/kernels/kernel_test_util.h"

namespace posbench::kernels {
namespace {

using kernel_test::for_each_supported;
using kernel_test::make;
using kernel_test::Unaligned;

void fill_normal_bf16(bfloat16* p, int64_t n, const char* stream, double sigma = 1.0) {
  Rng rng(11, stream);
  for (int64_t i = 0; i < n; ++i) p[i] = to_bfloat16(float(sigma * rng.normal()));
}

// Distance in units in the last place of bfloat16 (bit patterns of finite values, across zero
// counted through it).
int64_t ulps(bfloat16 a, bfloat16 b) {
  auto ordinal = [](bfloat16 x) {
    return (x.bits & 0x8000u) ? -int64_t(x.bits & 0x7FFFu) : int64_t(x.bits);
  };
  return std::abs(ordinal(a) - ordinal(b));
}

// Largest ulp distance over n elements, and whether all bits are equal.
int64_t max_ulps(const bfloat16* a, const bfloat16* b, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, ulps(a[i], b[i]));
  return m;
}
bool same_bits(const bfloat16* a, const bfloat16* b, int64_t n) {
  return std::memcmp(a, b, size_t(n) * sizeof(bfloat16)) == 0;
}

// The bfloat16 nearest to x, ties to the even significand, by locating x between multiples of
// the bfloat16 spacing at its magnitude (2^(e - 8) for 8 significant bits, at least 2^-133,
// the subnormal spacing); NaN -> any NaN (checked separately).
uint16_t nearest_bf16(double x) {
  const uint16_t sign = std::signbit(x) ? 0x8000u : 0u;
  const double ax = std::abs(x);
  if (std::isinf(ax)) return sign | 0x7F80u;
  if (ax == 0) return sign;
  int e = 0;
  std::frexp(ax, &e);  // ax in [2^(e-1), 2^e)
  const double spacing = std::ldexp(1.0, std::max(e - 8, -133));
  double q = std::floor(ax / spacing);  // exact: division by a power of two
  const double rem = ax / spacing - q;
  if (rem > 0.5 || (rem == 0.5 && std::fmod(q, 2.0) == 1.0)) q += 1;
  const double r = q * spacing;
  if (r >= std::ldexp(1.0, 128)) return sign | 0x7F80u;
  return sign | uint16_t(std::bit_cast<uint32_t>(float(r)) >> 16);
}

// float64 values for the rounding checks: every bfloat16 neighbourhood (all 2^16 top halves of a
// float32 with low halves at and around the tie, the extremes), then random float64s spread
// over all exponents.
std::vector<double> rounding_inputs() {
  std::vector<double> v;
  for (uint32_t hi = 0; hi < 0x10000u; ++hi)
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu})
      v.push_back(double(std::bit_cast<float>(hi << 16 | lo)));
  Rng rng(3, "bf16/rounding");
  for (int i = 0; i < 200000; ++i) {
    const double m = rng.uniform() * 2 - 1;
    const int e = int(rng.uniform() * 300) - 150;
    v.push_back(std::ldexp(m, e));
  }
  // Exactly between two bfloat16s in float64, but not representable in float32 (rounding
  // through float32 first would go wrong here), and just off the ties.
  for (uint32_t hi : {0x3F80u, 0x3F81u, 0x4000u, 0xC2F7u, 0x0080u})
    for (double d : {0.0, 1e-12, -1e-12}) {
      const double lo = double(std::bit_cast<float>(hi << 16));
      const double up = double(std::bit_cast<float>((hi + 1) << 16));
      v.push_back((lo + up) / 2 * (1 + d));
    }
  v.push_back(std::numeric_limits<double>::max());
  v.push_back(-1e300);
  v.push_back(1e-300);
  return v;
}

TEST(Bf16Kernels, DoubleToBfloat16RoundsOnceToNearestEven) {
  for (double x : rounding_inputs()) {
    if (std::isnan(x)) continue;
    ASSERT_EQ(double_to_bfloat16(x).bits, nearest_bf16(x)) << std::hexfloat << x;
    if (float(x) == x) {
      ASSERT_EQ(to_bfloat16(float(x)).bits, nearest_bf16(x)) << std::hexfloat << x;
    }
  }
  const bfloat16 n = double_to_bfloat16(-std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(std::isnan(to_float(n)));
  EXPECT_TRUE(std::signbit(to_float(n)));
  EXPECT_NE(n.bits & 0x40u, 0u);  // quiet
}

// The conversions compiled into each ISA unit (Convert: from float64, rounded once; the add)
// give the same bits as the baseline ones, on every rounding input.
TEST(Bf16Kernels, EveryInstructionSetRoundsLikeTheBaseline) {
  const std::vector<double> src = rounding_inputs();
  const int64_t n = int64_t(src.size());
  std::vector<bfloat16> want(src.size()), add_want(src.size());
  for (int64_t i = 0; i < n; ++i) {
    want[size_t(i)] = double_to_bfloat16(src[size_t(i)]);
    add_want[size_t(i)] = to_bfloat16(to_float(want[size_t(i)]) +
                                      to_float(double_to_bfloat16(-0.75 * src[size_t(i)])));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(src[size_t(i)])) continue;
    ASSERT_EQ(want[size_t(i)].bits, nearest_bf16(src[size_t(i)]))
        << std::hexfloat << src[size_t(i)];
  }
  const int ran = for_each_supported([&](auto arch, const char* name) {
    SCOPED_TRACE(name);
    Unaligned<bfloat16> got(n);
    Convert{}(arch, ConvertArgs<bfloat16>{src.data(), got.data(), n, false, 1.0});
    EXPECT_TRUE(same_bits(got.data(), want.data(), n)) << "convert";
    Convert{}(arch, ConvertArgs<bfloat16>{src.data(), got.data(), n, true, -0.75});
    EXPECT_TRUE(same_bits(got.data(), add_want.data(), n)) << "convert add";
    // The same through the reference kernel.
    Unaligned<bfloat16> ref(n);
    reference_convert(ConvertArgs<bfloat16>{src.data(), ref.data(), n, false, 1.0});
    EXPECT_TRUE(same_bits(ref.data(), want.data(), n)) << "reference convert";
  });
  EXPECT_GE(ran, 1);
}

// Every ISA instantiation of the bfloat16 kernels against the reference kernels.
TEST(Bf16Kernels, EveryInstructionSetAgreesWithTheReference) {
  const bfloat16 one = to_bfloat16(1.0f), minus_one = to_bfloat16(-1.0f);
  const int ran = for_each_supported([&](auto arch, const char* name) {
    SCOPED_TRACE(name);
    // sin/cos tables: interleaved (stride 2), concatenated (stride 1, several chunks), scaled.
    for (int64_t pairs : {int64_t(1), int64_t(37), int64_t(300)})
      for (int64_t stride : {int64_t(1), int64_t(2)}) {
        const int64_t rows = 7, width = 2 * pairs;
        std::vector<int64_t> pos(rows);
        for (int64_t t = 0; t < rows; ++t) pos[size_t(t)] = 1000 * t + 3;
        std::vector<double> inv(size_t((pairs + kTableChunk - 1) / kTableChunk * kTableChunk), 0.0);
        for (int64_t i = 0; i < pairs; ++i)
          inv[size_t(i)] = std::pow(10000.0, -2.0 * double(i) / double(width));
        Unaligned<bfloat16> got(rows * width), want(rows * width);
        SincosTableArgs<bfloat16> a;
        a.positions = pos.data();
        a.rows = rows;
        a.inv_freq = inv.data();
        a.pairs = pairs;
        a.magnitude = stride == 2 ? 0.75 : 1.0;
        a.row_stride = width;
        a.elem_stride = stride;
        a.threads = 2;
        for (Unaligned<bfloat16>* out : {&got, &want}) {
          a.sin_out = out->data();
          a.cos_out = stride == 2 ? out->data() + 1 : out->data() + pairs;
          if (out == &got)
            SincosTable{}(arch, a);
          else
            reference_sincos_table(a);
        }
        EXPECT_LE(max_ulps(got.data(), want.data(), rows * width), 1)
            << "sincos pairs " << pairs << " stride " << stride;
      }
    // rotation: both pairings, head widths from 2 to beyond one float32 block (kBf16Block = 256
    // pairs), partial rotary, in place and out of place.
    for (bool interleaved : {false, true})
      for (int64_t head_dim : {2, 6, 64, 80, 128, 256, 1100})
        for (int64_t rd : {head_dim, head_dim / 4 * 2}) {
          if (rd < 2) continue;
          // 40 x 128 and 5 x 1100 channels per row exceed one conversion span (4096 elements),
          // so rows go in several groups of heads, the last one shorter.
          const int64_t heads = head_dim == 128 ? 40 : head_dim == 1100 ? 5 : 3;
          const int64_t rows = 7, half = rd / 2, n = rows * heads * head_dim;
          Unaligned<bfloat16> x(n), y(n), z(n), c(rows * half), s(rows * half);
          fill_normal_bf16(x.data(), n, "bf16/x");
          fill_normal_bf16(c.data(), rows * half, "bf16/c");
          fill_normal_bf16(s.data(), rows * half, "bf16/s");
          std::memcpy(z.data(), x.data(), size_t(n) * sizeof(bfloat16));
          RotateArgs<bfloat16> a{x.data(), y.data(),    rows,     heads,    head_dim,
                                 rd,       interleaved, c.data(), s.data(), 2};
          Rotate{}(arch, a);  // out of place into y
          a.src = a.dst = z.data();
          reference_rotate(a);  // in place in z
          const std::string what = "rotate interleaved " + std::to_string(interleaved) +
                                   " head_dim " + std::to_string(head_dim) + " rd " +
                                   std::to_string(rd);
          EXPECT_LE(max_ulps(y.data(), z.data(), n), 1) << what;
          a.src = a.dst = x.data();
          Rotate{}(arch, a);  // in place in x: the same bits as out of place
          EXPECT_TRUE(same_bits(x.data(), y.data(), n)) << what;
        }
    // axpy (dst == x too), relative bias, both bit-identical to the reference: x + (+-1) y in
    // float32 is exact before the one rounding, whatever the instruction set.
    {
      const int64_t n = 70001;  // > kElementsPerTask: two tasks, odd tail
      Unaligned<bfloat16> x(n), y(n), d1(n), d2(n);
      fill_normal_bf16(x.data(), n, "bf16/ax");
      fill_normal_bf16(y.data(), n, "bf16/ay", 0.01);
      for (bfloat16 scale : {one, minus_one}) {
        AxpyArgs<bfloat16> a{d1.data(), x.data(), y.data(), n, scale, 2};
        Axpy{}(arch, a);
        a.dst = d2.data();
        reference_axpy(a);
        EXPECT_TRUE(same_bits(d1.data(), d2.data(), n)) << "axpy";
      }
      Unaligned<bfloat16> x2(n);
      std::memcpy(x2.data(), x.data(), size_t(n) * sizeof(bfloat16));
      Axpy{}(arch, AxpyArgs<bfloat16>{x2.data(), x2.data(), y.data(), n, minus_one, 2});
      EXPECT_TRUE(same_bits(x2.data(), d2.data(), n)) << "axpy in place";
    }
    for (int64_t m : {1, 13, 300}) {
      const int64_t heads = 3;
      Unaligned<bfloat16> rel(heads * (2 * m - 1)), o1(heads * m * m), o2(heads * m * m);
      fill_normal_bf16(rel.data(), heads * (2 * m - 1), "bf16/rel");
      fill_normal_bf16(o1.data(), heads * m * m, "bf16/logits");
      std::memcpy(o2.data(), o1.data(), size_t(heads * m * m) * sizeof(bfloat16));
      for (bool add : {true, false}) {
        RelativeBiasArgs<bfloat16> r{rel.data(), o1.data(), heads, m, add, minus_one, 2};
        RelativeBias{}(arch, r);
        r.out = o2.data();
        reference_relative_bias(r);
        EXPECT_TRUE(same_bits(o1.data(), o2.data(), heads * m * m))
            << "relative bias add " << add << " n " << m;
      }
    }
  });
  EXPECT_GE(ran, 1);
}

// The ops (harness/kernels/ops.h) for bfloat16: the same bits with 1 and 2 threads, simd within
// one ulp of the reference, on the closed-form and the generic paths.
template <class Run>
void check_threads_and_impls(const char* what, int64_t n, Run run) {
  Unaligned<bfloat16> out[2][2] = {{Unaligned<bfloat16>(n), Unaligned<bfloat16>(n)},
                                   {Unaligned<bfloat16>(n), Unaligned<bfloat16>(n)}};
  for (int k = 0; k < 2; ++k)
    for (int threads : {1, 2})
      run(k == 0 ? Impl::reference : Impl::simd, threads, out[k][threads - 1].data());
  for (int k = 0; k < 2; ++k)
    EXPECT_TRUE(same_bits(out[k][0].data(), out[k][1].data(), n))
        << what << " " << (k == 0 ? "reference" : "simd") << ": 1 vs 2 threads";
  EXPECT_LE(max_ulps(out[0][0].data(), out[1][0].data(), n), 1) << what << ": simd vs reference";
}

TEST(Bf16Kernels, OpsDoNotDependOnTheThreadCount) {
  for (int64_t seq : {1, 7, 1000}) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    auto sinusoidal = make("sinusoidal");
    const int64_t dim = 80;
    AdditiveTable<bfloat16> table(*sinusoidal, seq, dim);
    check_threads_and_impls("additive table", seq * dim, [&](Impl impl, int threads, bfloat16* o) {
      table.run(impl, threads, o);
    });
    for (bool closed : {true, false}) {
      auto rope = make("rope", {{"rotary_fraction", 0.5}});
      kernel_test::TestRotary generic(RotaryPairing::interleaved);
      const Encoder& enc = closed ? *rope : generic;
      const int64_t head_dim = 128, heads = 4, rd = enc.rotary_dims(head_dim), half = rd / 2;
      RotaryTable<bfloat16> rt(enc, seq, head_dim, Role::key);
      EXPECT_EQ(rt.closed_form(), closed);
      check_threads_and_impls("rotary cos", seq * half, [&](Impl impl, int threads, bfloat16* o) {
        std::vector<bfloat16> sin(size_t(seq * half));
        rt.run(impl, threads, o, sin.data());
      });
      Unaligned<bfloat16> c(seq * half), s(seq * half), x(seq * heads * head_dim);
      rt.run(Impl::reference, 1, c.data(), s.data());
      fill_normal_bf16(x.data(), seq * heads * head_dim, "bf16/q");
      check_threads_and_impls("rotate", seq * heads * head_dim,
                              [&](Impl impl, int threads, bfloat16* o) {
                                rotate(impl, threads, x.data(), o, seq, heads, head_dim, rd,
                                       enc.rotary_pairing(), c.data(), s.data());
                              });
    }
    for (bool relative : {true, false}) {
      auto alibi = make("alibi");
      kernel_test::TestBias generic;
      const Encoder& enc = relative ? *alibi : generic;
      const int64_t heads = 2;
      BiasOp<bfloat16> op(enc, seq, heads, 2);
      EXPECT_EQ(op.relative(), relative);
      check_threads_and_impls(
          "bias materialize", heads * seq * seq,
          [&](Impl impl, int threads, bfloat16* o) { op.materialize(impl, threads, o); });
      check_threads_and_impls("bias add", heads * seq * seq,
                              [&](Impl impl, int threads, bfloat16* o) {
                                fill_normal_bf16(o, heads * seq * seq, "bf16/logits");
                                op.add(impl, threads, o, to_bfloat16(-1.0f));
                              });
    }
  }
}

// Channels past rotary_dims: copied bit for bit out of place, untouched in place (NaN payloads
// included, which a float round trip would change).
TEST(Bf16Kernels, RotateLeavesTheOtherChannelsBitForBit) {
  const int64_t rows = 5, heads = 2, head_dim = 10, rd = 6, half = 3, n = rows * heads * head_dim;
  for (Impl impl : {Impl::reference, Impl::simd})
    for (RotaryPairing pairing : {RotaryPairing::half, RotaryPairing::interleaved}) {
      Unaligned<bfloat16> x(n), y(n), c(rows * half), s(rows * half);
      fill_normal_bf16(x.data(), n, "bf16/rest");
      for (int64_t k = 0; k < rows * half; ++k) c[k] = to_bfloat16(1.0f), s[k] = bfloat16{};
      for (int64_t r = 0; r < rows * heads; ++r) x[r * head_dim + rd + 1] = bfloat16{0x7F81};
      for (int64_t k = 0; k < n; ++k) y[k] = bfloat16{0x1234};
      rotate(impl, 2, x.data(), y.data(), rows, heads, head_dim, rd, pairing, c.data(), s.data());
      EXPECT_TRUE(same_bits(x.data(), y.data(), n)) << to_string(impl);  // identity rotation
      rotate(impl, 2, x.data(), x.data(), rows, heads, head_dim, rd, pairing, c.data(), s.data());
      EXPECT_TRUE(same_bits(x.data(), y.data(), n)) << to_string(impl);
      EXPECT_EQ(x[rd + 1].bits, 0x7F81u);
    }
}

}  // namespace
}  // namespace posbench::kernels
