#pragma once
// Helpers shared by the kernel tests: building registered schemes, unaligned buffers, seeded
// data, and small test-only schemes that have no closed form (they exercise the generic paths).

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "encoders/registry.h"
#include "encoders/rng.h"

namespace posbench::kernel_test {

inline std::unique_ptr<Encoder> make(const std::string& name, const nlohmann::json& given = {}) {
  const EncoderInfo& info = EncoderRegistry::instance().get(name, "encoder");
  Diagnostics diag;
  nlohmann::json resolved = resolve_params(
      info.params, given.is_null() ? nlohmann::json::object() : given, "params", diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return info.factory(Params(resolved));
}

// A vector whose data() is deliberately misaligned: element 0 sits one element past a 64-byte
// boundary (the kernels must not assume alignment).
template <class T>
class Unaligned {
 public:
  explicit Unaligned(int64_t n) : storage_(size_t(n) + 64 / sizeof(T) + 1) {
    const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    const size_t skip = ((64 - addr % 64) % 64) / sizeof(T) + 1;
    data_ = storage_.data() + skip;
    n_ = n;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  int64_t size() const { return n_; }

 private:
  std::vector<T> storage_;
  T* data_;
  int64_t n_;
};

template <class T>
void fill_normal(T* p, int64_t n, const char* stream) {
  Rng rng(7, stream);
  for (int64_t i = 0; i < n; ++i) p[i] = T(rng.normal());
}

// theta_i = base^(-2i/d) in long double (the papers' frequency formula).
inline long double frequency(long double base, int64_t i, int64_t d) {
  return std::exp(-(2.0L * (long double)i / (long double)d) * std::log(base));
}

// A rotary scheme without a closed form, xPos-like: pair i at position p of role r has
// coefficient zeta_i^(+-p/64) (cos, sin)(p theta_i), zeta_i = (2i/d' + 0.4) / 1.4, + for
// queries and - for keys; theta_i = 10000^(-2i/d'). Pairing configurable, all channels rotate.
class TestRotary final : public Encoder {
 public:
  explicit TestRotary(RotaryPairing pairing) : pairing_(pairing) {}
  Family family() const override { return Family::rotary; }
  void check_shape(int64_t, int64_t) const override {}
  int64_t rotary_dims(int64_t head_dim) const override { return head_dim / 2 * 2; }
  RotaryPairing rotary_pairing() const override { return pairing_; }
  void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                           const RotaryContext& ctx, double* c, double* s) const override {
    const int64_t half = rotary_dims(head_dim) / 2;
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const long double v = coefficient_magnitude(positions[t], i, half, ctx.role);
        const long double angle = (long double)positions[t] * frequency(10000.0L, i, 2 * half);
        c[t * half + i] = double(v * std::cos(angle));
        s[t * half + i] = double(v * std::sin(angle));
      }
  }
  static long double coefficient_magnitude(int64_t p, int64_t i, int64_t half, Role role) {
    const long double zeta = (2.0L * i / (2.0L * half) + 0.4L) / 1.4L;
    return std::pow(zeta, (role == Role::query ? 1.0L : -1.0L) * (long double)p / 64.0L);
  }

 private:
  RotaryPairing pairing_;
};

// A bias that is not a function of i - j: b_h(i, j) = sin(0.1 i + h) cos(0.05 j) - 0.01 h j.
class TestBias final : public Encoder {
 public:
  Family family() const override { return Family::bias; }
  void check_shape(int64_t, int64_t) const override {}
  static double value(int64_t h, int64_t i, int64_t j) {
    return std::sin(0.1 * double(i) + double(h)) * std::cos(0.05 * double(j)) -
           0.01 * double(h) * double(j);
  }
  void bias(std::span<const int64_t> q, std::span<const int64_t> k, int64_t heads,
            double* out) const override {
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < k.size(); ++j)
          out[(size_t(h) * q.size() + i) * k.size() + j] = value(h, q[i], k[j]);
  }
};

// Calls f(arch, name) for every architecture of kernels::SimdArchs the CPU supports (each
// per-ISA instantiation is tested directly, not only the one the dispatcher picks); returns
// how many ran.
template <class F>
int for_each_supported(F&& f) {
  const auto a = xsimd::available_architectures();
  int ran = 0;
  if (a.avx512f && a.avx512cd && a.avx512dq && a.avx512bw) f(xsimd::avx512bw{}, "avx512bw"), ++ran;
  if (a.avx2 && a.fma3_avx2) f(xsimd::avx2{}, "avx2"), ++ran;
  if (a.sse4_2) f(xsimd::sse4_2{}, "sse4.2"), ++ran;
  if (a.sse2) f(xsimd::sse2{}, "sse2"), ++ran;
  return ran;
}

// ALiBi's slopes from the paper (Press et al. 2022): m_h = 2^(-8 (h + 1) / H) for H a power of
// two; otherwise those of the largest power of two c <= H, then every other slope of 2c.
inline std::vector<double> alibi_slopes(int64_t heads) {
  auto pow2 = [](int64_t n) {
    std::vector<double> s;
    for (int64_t h = 0; h < n; ++h) s.push_back(std::pow(2.0, -8.0 * double(h + 1) / double(n)));
    return s;
  };
  int64_t c = 1;
  while (c * 2 <= heads) c *= 2;
  std::vector<double> s = pow2(c);
  const std::vector<double> extra = pow2(2 * c);
  for (int64_t k = 0; k < heads - c; ++k) s.push_back(extra[size_t(2 * k)]);
  return s;
}

}  // namespace posbench::kernel_test
