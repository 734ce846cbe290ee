#pragma once
// Reading and writing NumPy .npy files (format version 1.0/2.0/3.0), for `posbench apply`
// and for schemes initialised from files (learned tables, T5 buckets, FIRE weights).
// Only little-endian float32 ('<f4') and float64 ('<f8') in C order are accepted; anything
// else (other dtypes, big-endian, fortran_order, truncated data, NaN/inf) is a UserError
// naming the file and the problem.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace posbench {

enum class NpyDtype { float32, float64 };

struct NpyArray {
  NpyDtype dtype = NpyDtype::float64;
  std::vector<int64_t> shape;
  // Exactly one of these holds the data, in C order, according to dtype.
  std::vector<float> f32;
  std::vector<double> f64;

  int64_t size() const;              // product of shape
  std::vector<double> as_double() const;  // data widened to float64
};

// Throws UserError on any malformed or unsupported file. `max_bytes` (0: no limit) refuses
// files whose declared data size exceeds it before allocating.
NpyArray read_npy(const std::filesystem::path& file, uint64_t max_bytes = 0);

// Writes atomically (temporary file + link, never overwrites; see harness/results_file.h).
void write_npy(const std::filesystem::path& file, const NpyArray& array);

}  // namespace posbench
