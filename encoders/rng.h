#pragma once
// Seeded random numbers that are identical on every platform: std::mt19937_64's output is
// fixed by the standard, but std::normal_distribution's algorithm is implementation-defined
// (libstdc++ and libc++ give different numbers for the same seed), so the normal draws use
// an explicit Box-Muller transform. Each consumer names its stream ("offset_linearity/u"), so
// adding a draw in one place never shifts the numbers of another.

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace posbench {

class Rng {
 public:
  Rng(uint64_t seed, std::string_view stream);
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)
  std::vector<double> normal_vector(int64_t n, double stddev = 1.0);
  std::vector<double> unit_vector(int64_t n);  // uniform on the sphere S^{n-1}

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace posbench
