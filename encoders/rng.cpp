#include "encoders/rng.h"

#include <cmath>
#include <numbers>

namespace posbench {

// FNV-1a: a fixed, documented hash so stream seeds never change between builds.
static uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

Rng::Rng(uint64_t seed, std::string_view stream) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(fnv1a(stream)),
                    uint32_t(fnv1a(stream) >> 32)};
  engine_.seed(seq);
}

double Rng::uniform() { return double(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2 * std::numbers::pi * u2);
  has_spare_ = true;
  return r * std::cos(2 * std::numbers::pi * u2);
}

std::vector<double> Rng::normal_vector(int64_t n, double stddev) {
  std::vector<double> v(n);
  for (auto& x : v) x = stddev * normal();
  return v;
}

std::vector<double> Rng::unit_vector(int64_t n) {
  std::vector<double> v = normal_vector(n);
  double norm = 0;
  for (double x : v) norm += x * x;
  norm = std::sqrt(norm);
  for (auto& x : v) x /= norm;
  return v;
}

}  // namespace posbench
