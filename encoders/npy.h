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

  int64_t size() const;                   // product of shape
  std::vector<double> as_double() const;  // data widened to float64
};

// Throws UserError on any malformed or unsupported file. `max_bytes` (0: no limit) refuses
// files whose declared data size exceeds it before allocating.
NpyArray read_npy(const std::filesystem::path& file, uint64_t max_bytes = 0);

// What a file's header declares, checked like read_npy (magic, version, header dict, dtype,
// fortran_order, rank >= 1, file size = header + data exactly) but without reading the data,
// so a caller can estimate its memory before loading anything.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::float64;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;  // bytes before the data
  uint64_t data_bytes = 0;   // product of shape * item size
};
NpyHeader read_npy_header(const std::filesystem::path& file);

// Bytes per element: 4 or 8.
size_t npy_item_size(NpyDtype dtype);

// "(3, 4)", "(5,)": a shape as NumPy prints it, for messages and headers.
std::string npy_shape_text(const std::vector<int64_t>& shape);

// The exact bytes write_npy stores (version 1.0 header padded to a multiple of 64, then the
// little-endian data). Throws std::invalid_argument if the data does not match the shape.
std::string npy_bytes(const NpyArray& array);

// Writes atomically (temporary file + link, never overwrites; see harness/run/results_file.h).
void write_npy(const std::filesystem::path& file, const NpyArray& array);

}  // namespace posbench
