// .npy reader/writer after the NumPy format specification (numpy/lib/format.py, NEP 1):
//   bytes 0-5   magic "\x93NUMPY"
//   bytes 6-7   format version major, minor: 1.0 (2-byte header length), 2.0 / 3.0 (4-byte)
//   then        little-endian header length, then the header: a Python dict literal
//               {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//               padded with spaces and ended by '\n' so the data starts at a multiple of 64
//   then        the data, C order, exactly product(shape) * itemsize bytes.
#include "encoders/npy.h"

#include <fmt/format.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string_view>

#include "encoders/checked_size.h"
#include "encoders/error.h"
#include "encoders/files.h"

namespace posbench {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "npy.cpp copies little-endian data as is; add byte swapping for this platform");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;
constexpr const char* kExpectedDict =
    "a dict like {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw UserError(file.string() + ": " + what);
}

// The header as text for a message: printable ASCII as is, other bytes as \xNN, elided
// past 120 characters.
std::string printable(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, 120)) {
    if (c >= 0x20 && c < 0x7f)
      out += char(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out + (text.size() > 120 ? "...\"" : "\"");
}

// A parsed header value: a string, a bool or a tuple of non-negative integers.
struct Value {
  enum Kind { string, boolean, tuple } kind = string;
  std::string text;
  bool flag = false;
  std::vector<int64_t> items;
};

// Parses the subset of Python literal syntax the .npy header uses.
class HeaderParser {
 public:
  HeaderParser(const fs::path& file, std::string_view text) : file_(file), s_(text) {}

  std::map<std::string, Value> parse() {
    std::map<std::string, Value> out;
    skip_ws();
    expect('{');
    skip_ws();
    while (peek() != '}') {
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      Value v = parse_value();
      if (!out.emplace(key, std::move(v)).second) bad("key '" + key + "' appears twice");
      skip_ws();
      if (peek() == ',') {
        ++i_;
        skip_ws();
      } else if (peek() != '}') {
        bad("expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ++i_;
    skip_ws();
    if (i_ != s_.size()) bad("unexpected text after the closing '}'");
    return out;
  }

 private:
  [[noreturn]] void bad(const std::string& why) const {
    std::string_view text = s_;
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
    fail(file_, "malformed header " + printable(text) + " (" + why + " at character " +
                    std::to_string(i_) + "), expected " + kExpectedDict);
  }
  char peek() const {
    if (i_ >= s_.size()) bad("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++i_;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    ++i_;
    std::string out;
    while (peek() != q) {
      if (s_[i_] == '\\') bad("escape sequences are not supported");
      out += s_[i_++];
    }
    ++i_;
    return out;
  }
  int64_t parse_int() {
    if (peek() < '0' || peek() > '9') bad("expected a non-negative integer");
    int64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) bad("dimension too large");
      v = v * 10 + (s_[i_++] - '0');
    }
    return v;
  }
  Value parse_value() {
    Value v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = Value::string;
      v.text = parse_string();
    } else if (c == '(') {
      v.kind = Value::tuple;
      ++i_;
      skip_ws();
      bool trailing_comma = false;
      while (peek() != ')') {
        v.items.push_back(parse_int());
        skip_ws();
        trailing_comma = false;
        if (peek() == ',') {
          ++i_;
          skip_ws();
          trailing_comma = true;
        } else if (peek() != ')') {
          bad("expected ',' or ')' in a tuple");
        }
      }
      // "(3)" is the integer 3 in Python, not a tuple; NumPy writes "(3,)".
      if (v.items.size() == 1 && !trailing_comma) bad("a 1-tuple needs a trailing comma: (n,)");
      ++i_;
    } else if (s_.substr(i_, 4) == "True") {
      v.kind = Value::boolean;
      v.flag = true;
      i_ += 4;
    } else if (s_.substr(i_, 5) == "False") {
      v.kind = Value::boolean;
      v.flag = false;
      i_ += 5;
    } else {
      bad("expected a string, a tuple, True or False");
    }
    return v;
  }

  const fs::path& file_;
  std::string_view s_;
  size_t i_ = 0;
};

uint64_t read_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}

// Reads the header from an open stream; leaves the stream at the start of the data.
NpyHeader parse_header(const fs::path& file, std::ifstream& in, uint64_t file_size) {
  const std::string expected = "expected a NumPy .npy file (magic \\x93NUMPY)";
  unsigned char pre[12];
  if (file_size < 10) fail(file, "is " + count_of((long long)file_size, "byte") + ", " + expected);
  in.read(reinterpret_cast<char*>(pre), 10);
  if (!in) fail(file, "cannot read the first 10 bytes, " + expected);
  if (std::memcmp(pre, kMagic, kMagicLen) != 0)
    fail(file, "does not start with the .npy magic string, " + expected);
  const int major = pre[6], minor = pre[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail(file, "has .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                   ", expected 1.0, 2.0 or 3.0");
  uint64_t prefix = 10, header_len = 0;
  if (major == 1) {
    header_len = read_le(pre + 8, 2);
  } else {
    prefix = 12;
    if (file_size < 12) fail(file, "is truncated inside the header length, " + expected);
    in.read(reinterpret_cast<char*>(pre + 10), 2);
    header_len = read_le(pre + 8, 4);
  }
  if (prefix + header_len > file_size)
    fail(file, "is truncated: the header declares " + std::to_string(header_len) +
                   " header bytes but the file has " + std::to_string(file_size - prefix) +
                   " after the length field, expected the complete header");
  std::string text(header_len, '\0');
  in.read(text.data(), std::streamsize(header_len));
  if (!in) fail(file, "cannot read the header");

  auto dict = HeaderParser(file, text).parse();
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key))
      fail(file, std::string("header has no '") + key + "' key, expected " + kExpectedDict);
  if (dict.size() != 3) {
    for (const auto& [key, v] : dict)
      if (key != "descr" && key != "fortran_order" && key != "shape")
        fail(file, "header has an unknown key '" + key +
                       "', expected exactly 'descr', 'fortran_order' and 'shape'");
  }
  const Value& descr = dict["descr"];
  const Value& fortran = dict["fortran_order"];
  const Value& shape = dict["shape"];
  if (descr.kind != Value::string)
    fail(file, "header 'descr' is not a string, expected '<f4' or '<f8'");
  if (fortran.kind != Value::boolean)
    fail(file, "header 'fortran_order' is not True/False, expected False");
  if (shape.kind != Value::tuple)
    fail(file, "header 'shape' is not a tuple, expected a tuple of integers such as (3, 4)");

  NpyHeader h;
  if (descr.text == "<f4") {
    h.dtype = NpyDtype::float32;
  } else if (descr.text == "<f8") {
    h.dtype = NpyDtype::float64;
  } else if (descr.text == ">f4" || descr.text == ">f8") {
    fail(file, "dtype '" + descr.text +
                   "' is big-endian, expected little-endian '<f4' (float32) or '<f8' (float64); "
                   "convert with arr.astype('<f" +
                   descr.text.substr(2) + "')");
  } else {
    fail(file, "dtype '" + descr.text +
                   "' is not supported, expected '<f4' (float32) or '<f8' (float64)");
  }
  if (fortran.flag)
    fail(file,
         "is in Fortran (column-major) order, expected C order (fortran_order False); save "
         "np.ascontiguousarray(arr)");
  h.shape = shape.items;
  if (h.shape.empty())
    fail(file, "is a 0-d array (shape ()), expected an array with at least one dimension");

  CheckedSize checked_bytes = npy_item_size(h.dtype);
  for (int64_t d : h.shape) checked_bytes *= d;
  if (!checked_bytes.ok())
    fail(file, "shape " + npy_shape_text(h.shape) +
                   " is too large to address, expected a shape whose size fits in 64 bits");
  const uint64_t bytes = *checked_bytes.value();
  h.data_offset = prefix + header_len;
  h.data_bytes = bytes;
  const uint64_t have = file_size - h.data_offset;
  const std::string declared = "shape " + npy_shape_text(h.shape) + " of '" + descr.text + "' is " +
                               std::to_string(bytes) + " data bytes";
  if (have < bytes)
    fail(file, "is truncated: " + declared + " but only " + std::to_string(have) +
                   " follow the header, expected the complete data");
  if (have > bytes)
    fail(file, "has " + std::to_string(have - bytes) + " bytes of trailing garbage: " + declared +
                   ", expected the file to end there");
  return h;
}

uint64_t size_of(const fs::path& file) {
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) fail(file, "cannot open: no such file, expected a .npy file");
  if (!fs::is_regular_file(st)) fail(file, "is not a regular file, expected a .npy file");
  const uint64_t size = fs::file_size(file, ec);
  if (ec) fail(file, "cannot read its size: " + ec.message());
  return size;
}

std::ifstream open_in(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open for reading: " + std::string(std::strerror(errno)));
  return in;
}

template <class T>
void check_finite(const fs::path& file, const std::vector<T>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      fail(file, "element at flat index " + std::to_string(i) + " (C order) is " +
                     (std::isnan(v[i]) ? "NaN" : (v[i] > 0 ? "inf" : "-inf")) +
                     ", expected finite values only");
}

}  // namespace

size_t npy_item_size(NpyDtype dtype) { return dtype == NpyDtype::float32 ? 4 : 8; }

std::string npy_shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

int64_t NpyArray::size() const {
  CheckedSize n = 1;
  for (int64_t d : shape) n *= d;
  if (!n.as_int64())
    throw std::invalid_argument("npy: shape " + npy_shape_text(shape) +
                                " has more elements than a 64-bit count holds");
  return *n.as_int64();
}

std::vector<double> NpyArray::as_double() const {
  if (dtype == NpyDtype::float64) return f64;
  return std::vector<double>(f32.begin(), f32.end());
}

NpyHeader read_npy_header(const fs::path& file) {
  const uint64_t size = size_of(file);
  std::ifstream in = open_in(file);
  return parse_header(file, in, size);
}

NpyArray read_npy(const fs::path& file, uint64_t max_bytes) {
  const uint64_t size = size_of(file);
  std::ifstream in = open_in(file);
  const NpyHeader h = parse_header(file, in, size);
  if (max_bytes != 0 && h.data_bytes > max_bytes)
    fail(file, "data of shape " + npy_shape_text(h.shape) + " is " + human_bytes(h.data_bytes) +
                   " (" + std::to_string(h.data_bytes) + " bytes), expected at most " +
                   human_bytes(max_bytes) + " (raise --max-memory to allow more)");
  NpyArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  char* dst = nullptr;
  if (h.dtype == NpyDtype::float32) {
    a.f32.resize(h.data_bytes / 4);
    dst = reinterpret_cast<char*>(a.f32.data());
  } else {
    a.f64.resize(h.data_bytes / 8);
    dst = reinterpret_cast<char*>(a.f64.data());
  }
  in.read(dst, std::streamsize(h.data_bytes));
  if (!in || uint64_t(in.gcount()) != h.data_bytes)
    fail(file, "is truncated: could not read the " + std::to_string(h.data_bytes) +
                   " data bytes the header declares");
  if (h.dtype == NpyDtype::float32)
    check_finite(file, a.f32);
  else
    check_finite(file, a.f64);
  return a;
}

std::string npy_bytes(const NpyArray& array) {
  if (array.shape.empty())
    throw std::invalid_argument("write_npy: a 0-d array (empty shape) is not supported");
  CheckedSize count = 1;
  for (int64_t d : array.shape) {
    if (d < 0) throw std::invalid_argument("write_npy: negative dimension in shape");
    count *= d;
  }
  const bool f32 = array.dtype == NpyDtype::float32;
  const size_t have = f32 ? array.f32.size() : array.f64.size();
  if (!count.ok() || have != *count.value())
    throw std::invalid_argument("write_npy: shape " + npy_shape_text(array.shape) + " needs " +
                                count.text() + " values but the array holds " +
                                std::to_string(have));
  std::string dict = std::string("{'descr': '") + (f32 ? "<f4" : "<f8") +
                     "', 'fortran_order': False, 'shape': " + npy_shape_text(array.shape) + ", }";
  // Pad with spaces, then '\n', so magic + version + length + header is a multiple of 64
  // (the same rule as numpy.lib.format, which always adds at least one space).
  const size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  const size_t pad = kAlign - unpadded % kAlign;
  dict.append(pad, ' ');
  dict += '\n';
  if (dict.size() > 0xFFFF)
    throw std::invalid_argument("write_npy: header longer than 65535 bytes (version 1.0 limit)");
  std::string out(kMagic, kMagicLen);
  out += char(1);
  out += char(0);
  out += char(dict.size() & 0xFF);
  out += char((dict.size() >> 8) & 0xFF);
  out += dict;
  const size_t item = npy_item_size(array.dtype);
  const char* src = f32 ? reinterpret_cast<const char*>(array.f32.data())
                        : reinterpret_cast<const char*>(array.f64.data());
  out.append(src, have * item);  // have == the shape's element count (checked above)
  return out;
}

void write_npy(const fs::path& file, const NpyArray& array) {
  write_file_atomically(file, npy_bytes(array));
}

}  // namespace posbench
