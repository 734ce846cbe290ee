// Fuzz target: a .npy file's bytes, through encoders/npy.h as `apply` and the schemes with
// weight files use it: read_npy_header, then read_npy (with a size limit, as apply passes
// --max-memory).
//
// Expected: a UserError naming the file. A finding: any other exception, a sanitizer report, the
// header and the full read disagreeing (one accepts what the other refuses for a reason other
// than the data: NaN/inf or the size limit), an array that does not match its header, or one
// that does not survive write -> read bit for bit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "encoders/error.h"
#include "encoders/npy.h"
#include "tests/fuzz/fuzz_util.h"

using namespace posbench;

namespace {

constexpr uint64_t kMaxBytes = uint64_t(64) << 20;

bool same(const NpyArray& a, const NpyArray& b) {
  if (a.dtype != b.dtype || a.shape != b.shape) return false;
  // Bit patterns, not values (-0.0 == 0.0); no memcmp: an empty vector's data() may be null.
  const auto bits = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  return a.dtype == NpyDtype::float32 ? bits(a.f32) == bits(b.f32) : bits(a.f64) == bits(b.f64);
}

void check(const std::string& bytes) {
  const auto file = fuzz::scratch_file("in.npy", bytes);
  NpyHeader header;
  const bool header_ok = fuzz::expect_user_errors_only([&] { header = read_npy_header(file); });
  NpyArray a;
  bool read_ok = false;
  std::string read_error;
  try {
    a = read_npy(file, kMaxBytes);
    read_ok = true;
  } catch (const UserError& e) {
    fuzz::check_user_error(e);
    read_error = e.what();
  } catch (const std::exception& e) {
    fuzz::fail(std::string("read_npy: unexpected exception: ") + e.what());
  }
  if (read_ok && !header_ok) fuzz::fail("read_npy accepts a file read_npy_header refuses");
  if (!read_ok) {
    // The header was fine: only the data (NaN/inf) or the limit may refuse the file.
    if (header_ok && header.data_bytes <= kMaxBytes &&
        read_error.find("expected finite values only") == std::string::npos)
      fuzz::fail("read_npy refuses a file whose header is valid: " + read_error);
    return;
  }
  const uint64_t item = npy_item_size(a.dtype);
  const uint64_t n = a.dtype == NpyDtype::float32 ? a.f32.size() : a.f64.size();
  if (a.dtype != header.dtype || a.shape != header.shape || n * item != header.data_bytes ||
      uint64_t(a.size()) != n || header.data_offset + header.data_bytes != bytes.size())
    fuzz::fail("read_npy's array does not match read_npy_header's header");
  // Written back (as write_npy does) and read again: the same array, bit for bit.
  const auto again_file = fuzz::scratch_file("again.npy", npy_bytes(a));
  NpyArray again;
  if (!fuzz::expect_user_errors_only([&] { again = read_npy(again_file); }))
    fuzz::fail("read_npy refuses what npy_bytes wrote");
  if (!same(a, again)) fuzz::fail("npy_bytes -> read_npy does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
