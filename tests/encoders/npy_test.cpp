// .npy reader/writer against the NumPy format specification (numpy.lib.format): the writer is
// checked byte for byte against headers built by hand from the spec, the reader against
// hand-built files, and every rejection names the file and the problem.
#include "encoders/npy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "encoders/error.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "posbench-npy-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_raw(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return p;
  }

  // A .npy file from a header dict text (padded like the spec says) and raw data bytes.
  fs::path write_npy_raw(const std::string& name, const std::string& dict, const std::string& data,
                         int major = 1) {
    const size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes("\x93NUMPY", 6);
    bytes += char(major);
    bytes += char(0);
    for (size_t k = 0; k < prefix - 8; ++k) bytes += char((header.size() >> (8 * k)) & 0xFF);
    return write_raw(name, bytes + header + data);
  }

  fs::path dir_;
};

std::string f4_dict(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

std::string zeros(size_t n) { return std::string(n, '\0'); }

// Runs f, which must throw UserError whose message contains every one of `parts`.
void expect_user_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected a UserError containing '" << parts.front() << "'";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    for (const auto& part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nmissing: " << part;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  }
}

TEST_F(NpyTest, WriterMatchesSpecBytesForFloat32) {
  // {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } is 59 characters;
  // 10 + 59 + 1 = 70, so 58 spaces pad the header to 118 bytes and the data starts at 128.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected += dict + std::string(58, ' ') + "\n";
  // 1.0f = 0x3f800000, -2.0f = 0xc0000000, 0.5f = 0x3f000000, 0 = 0, 3.0f = 0x40400000,
  // 0.25f = 0x3e800000; little-endian.
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x00\x00\x3f", 12);
  expected += std::string("\x00\x00\x00\x00\x00\x00\x40\x40\x00\x00\x80\x3e", 12);
  ASSERT_EQ(expected.size(), 128u + 24u);

  NpyArray a;
  a.dtype = NpyDtype::float32;
  a.shape = {2, 3};
  a.f32 = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f, 0.25f};
  EXPECT_EQ(npy_bytes(a), expected);

  const fs::path p = dir_ / "out.npy";
  write_npy(p, a);
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), expected);
}

TEST_F(NpyTest, WriterMatchesSpecBytesForFloat64OneDim) {
  // A 1-tuple is written "(2,)": the dict is 57 characters, 10 + 57 + 1 = 68, 60 spaces.
  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  ASSERT_EQ(dict.size(), 57u);
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected += dict + std::string(60, ' ') + "\n";
  // 1.0 = 0x3ff0000000000000, -0.5 = 0xbfe0000000000000.
  expected += std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xe0\xbf", 16);
  NpyArray a;
  a.dtype = NpyDtype::float64;
  a.shape = {2};
  a.f64 = {1.0, -0.5};
  EXPECT_EQ(npy_bytes(a), expected);
}

TEST_F(NpyTest, HeaderAlwaysPadsToMultipleOf64AndEndsWithNewline) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{7}, {1, 2}, {12345, 678}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1000000}}) {
    NpyArray a;
    a.dtype = NpyDtype::float32;
    a.shape = shape;
    a.f32.assign(a.size(), 1.0f);
    const std::string b = npy_bytes(a);
    const size_t header_len = uint8_t(b[8]) | (size_t(uint8_t(b[9])) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u) << npy_shape_text(shape);
    EXPECT_EQ(b[10 + header_len - 1], '\n');
    EXPECT_EQ(b.size(), 10 + header_len + 4 * size_t(a.size()));
  }
}

TEST_F(NpyTest, RoundTripBothDtypesSeveralShapes) {
  const std::vector<std::vector<int64_t>> shapes = {{1},          {5},    {3, 4}, {2, 3, 4},
                                                    {1, 1, 1, 1}, {7, 1}, {2, 0}};
  int k = 0;
  for (const auto& shape : shapes) {
    for (NpyDtype dt : {NpyDtype::float32, NpyDtype::float64}) {
      NpyArray a;
      a.dtype = dt;
      a.shape = shape;
      const int64_t n = a.size();
      for (int64_t i = 0; i < n; ++i) {
        const double v = std::sin(0.7 * double(i) + 0.1) * std::pow(10.0, double(i % 7) - 3);
        if (dt == NpyDtype::float32)
          a.f32.push_back(float(v));
        else
          a.f64.push_back(v);
      }
      const fs::path p = dir_ / ("rt" + std::to_string(k++) + ".npy");
      write_npy(p, a);
      const NpyArray b = read_npy(p);
      EXPECT_EQ(b.dtype, dt);
      EXPECT_EQ(b.shape, shape);
      EXPECT_EQ(b.size(), n);
      EXPECT_EQ(b.f32, a.f32);
      EXPECT_EQ(b.f64, a.f64);
      const NpyHeader h = read_npy_header(p);
      EXPECT_EQ(h.shape, shape);
      EXPECT_EQ(h.data_bytes, uint64_t(n) * (dt == NpyDtype::float32 ? 4 : 8));
      EXPECT_EQ(h.data_offset % 64, 0u);
    }
  }
}

TEST_F(NpyTest, AsDoubleWidensFloat32) {
  NpyArray a;
  a.dtype = NpyDtype::float32;
  a.shape = {3};
  a.f32 = {0.1f, -2.5f, 1e-30f};
  const std::vector<double> d = a.as_double();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], double(0.1f));
  EXPECT_EQ(d[1], -2.5);
  EXPECT_EQ(d[2], double(1e-30f));
}

TEST_F(NpyTest, ReadsHandBuiltVersion2And3AndLooseHeaders) {
  // 2.0 and 3.0 carry a 4-byte header length; keys in any order, double quotes, extra spaces,
  // no trailing comma, and an old 16-byte-aligned layout are all valid Python literals.
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f
  const std::vector<std::pair<int, std::string>> cases = {
      {2, f4_dict("(2,)")},
      {3, f4_dict("(2,)")},
      {1, "{\"shape\": (1,2), \"fortran_order\":False, \"descr\":\"<f4\"}"},
      {1, "{ 'descr' : '<f4' ,'fortran_order' : False , 'shape' : ( 2 , 1 , ) , }"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path p =
        write_npy_raw("v" + std::to_string(i) + ".npy", cases[i].second, data, cases[i].first);
    const NpyArray a = read_npy(p);
    EXPECT_EQ(a.dtype, NpyDtype::float32);
    EXPECT_EQ(a.f32, (std::vector<float>{1.0f, -2.0f})) << cases[i].second;
    EXPECT_EQ(a.size(), 2);
  }
  // Header padded to 16 (numpy < 1.14 alignment) rather than 64.
  std::string dict = f4_dict("(2,)");
  while ((10 + dict.size() + 1) % 16 != 0) dict += ' ';
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(dict.size() & 0xFF);
  bytes += char(dict.size() >> 8);
  const NpyArray a = read_npy(write_raw("old.npy", bytes + dict + data));
  EXPECT_EQ(a.f32, (std::vector<float>{1.0f, -2.0f}));
}

TEST_F(NpyTest, RejectsBadMagicAndShortFiles) {
  const fs::path short_file = write_raw("short.npy", std::string("\x93NUM", 4));
  expect_user_error([&] { read_npy(short_file); }, {short_file.string(), "expected"});
  const fs::path magic = write_raw("magic.npy", std::string("PK\x03\x04 this is a zip file", 24));
  expect_user_error([&] { read_npy(magic); }, {magic.string(), "magic", "expected"});
  expect_user_error([&] { read_npy(dir_ / "missing.npy"); }, {"missing.npy", "no such file"});
}

TEST_F(NpyTest, RejectsUnknownVersions) {
  const fs::path v4 = write_npy_raw("v4.npy", f4_dict("(1,)"), zeros(4));
  std::string bytes;
  {
    std::ifstream in(v4, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  bytes[6] = 4;
  const fs::path p4 = write_raw("v4b.npy", bytes);
  expect_user_error([&] { read_npy(p4); }, {"version 4.0", "expected 1.0, 2.0 or 3.0"});
  bytes[6] = 1;
  bytes[7] = 1;
  const fs::path p11 = write_raw("v11.npy", bytes);
  expect_user_error([&] { read_npy(p11); }, {"version 1.1", "expected 1.0, 2.0 or 3.0"});
}

TEST_F(NpyTest, RejectsFortranOrder) {
  const fs::path p = write_npy_raw(
      "f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", zeros(16));
  expect_user_error([&] { read_npy(p); }, {p.string(), "Fortran", "expected C order"});
}

TEST_F(NpyTest, RejectsBigEndianAndOtherDtypes) {
  const fs::path be = write_npy_raw(
      "be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", zeros(8));
  expect_user_error([&] { read_npy(be); }, {be.string(), "'>f4'", "big-endian", "'<f4'"});
  const fs::path be8 = write_npy_raw(
      "be8.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", zeros(8));
  expect_user_error([&] { read_npy(be8); }, {"'>f8'", "big-endian"});
  for (const std::string descr : {"<i4", "<f2", "|u1", "=f4", "<c8", "|b1", "float32"}) {
    const fs::path p = write_npy_raw(
        "dt.npy", "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", zeros(8));
    expect_user_error([&] { read_npy(p); },
                      {p.string(), "'" + descr + "'", "not supported", "expected '<f4'"});
    fs::remove(p);
  }
}

TEST_F(NpyTest, RejectsTruncatedDataAndTrailingGarbage) {
  const fs::path trunc = write_npy_raw("t.npy", f4_dict("(3, 4)"), zeros(47));
  expect_user_error([&] { read_npy(trunc); },
                    {trunc.string(), "truncated", "48 data bytes", "only 47"});
  expect_user_error([&] { read_npy_header(trunc); }, {"truncated"});
  const fs::path empty = write_npy_raw("e.npy", f4_dict("(3, 4)"), "");
  expect_user_error([&] { read_npy(empty); }, {"truncated", "only 0"});
  const fs::path extra = write_npy_raw("x.npy", f4_dict("(3, 4)"), zeros(48) + "junk");
  expect_user_error([&] { read_npy(extra); }, {extra.string(), "4 bytes of trailing garbage"});
  // Header length pointing past the end of the file.
  std::string bytes("\x93NUMPY\x01\x00\xff\x00{'descr'", 18);
  const fs::path hdr = write_raw("h.npy", bytes);
  expect_user_error([&] { read_npy(hdr); }, {hdr.string(), "truncated", "255 header bytes"});
}

TEST_F(NpyTest, RejectsNanAndInfNamingTheFlatIndex) {
  NpyArray a;
  a.dtype = NpyDtype::float64;
  a.shape = {2, 3};
  a.f64 = {0, 1, 2, 3, std::nan(""), 5};
  write_npy(dir_ / "nan.npy", a);
  expect_user_error([&] { read_npy(dir_ / "nan.npy"); },
                    {"nan.npy", "flat index 4", "NaN", "expected finite"});
  NpyArray b;
  b.dtype = NpyDtype::float32;
  b.shape = {3};
  b.f32 = {std::numeric_limits<float>::infinity(), 0, 0};
  write_npy(dir_ / "inf.npy", b);
  expect_user_error([&] { read_npy(dir_ / "inf.npy"); }, {"flat index 0", "inf"});
  b.f32 = {0, 0, -std::numeric_limits<float>::infinity()};
  write_npy(dir_ / "ninf.npy", b);
  expect_user_error([&] { read_npy(dir_ / "ninf.npy"); }, {"flat index 2", "-inf"});
}

TEST_F(NpyTest, RejectsMalformedHeaders) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"['descr', '<f4']", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "trailing comma"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'descr': '<f4', }", "twice"},
      {"{'descr': '<f4', 'shape': (2,), }", "no 'fortran_order' key"},
      {"{'fortran_order': False, 'shape': (2,), }", "no 'descr' key"},
      {"{'descr': '<f4', 'fortran_order': False, }", "no 'shape' key"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", "malformed"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 'x', }",
       "unknown key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': '2', }", "'shape' is not a tuple"},
      {"{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,), }", "not True/False"},
      {"{'descr': ('<f4',), 'fortran_order': False, 'shape': (2,), }", "malformed header"},
      {"{'descr': True, 'fortran_order': False, 'shape': (2,), }", "'descr' is not a string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 99999999999999999999), }",
       "too large"},
  };
  int k = 0;
  for (const auto& [dict, what] : cases) {
    const fs::path p = write_npy_raw("m" + std::to_string(k++) + ".npy", dict, zeros(8));
    expect_user_error([&] { read_npy(p); }, {p.string(), what, "expected"});
  }
}

TEST_F(NpyTest, RejectsZeroDimensionalArrays) {
  const fs::path p = write_npy_raw("z.npy", f4_dict("()"), zeros(4));
  expect_user_error([&] { read_npy(p); }, {p.string(), "0-d", "at least one dimension"});
}

TEST_F(NpyTest, MaxBytesLimitsTheDeclaredDataSize) {
  // A 48-byte array against limits just below, at and without (0) the limit.
  NpyArray a;
  a.dtype = NpyDtype::float32;
  a.shape = {3, 4};
  a.f32.assign(12, 1.0f);
  write_npy(dir_ / "s.npy", a);
  expect_user_error([&] { read_npy(dir_ / "s.npy", 47); },
                    {"s.npy", "48 bytes", "expected at most"});
  EXPECT_EQ(read_npy(dir_ / "s.npy", 48).f32.size(), 12u);
  EXPECT_EQ(read_npy(dir_ / "s.npy", 0).f32.size(), 12u);
}

TEST_F(NpyTest, WriteNeverOverwritesAndChecksShape) {
  const fs::path p = write_raw("exists.npy", "keep me");
  NpyArray a;
  a.dtype = NpyDtype::float64;
  a.shape = {1};
  a.f64 = {1.0};
  expect_user_error([&] { write_npy(p, a); }, {"exists.npy", "already exists"});
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "keep me");

  a.shape = {2};
  EXPECT_THROW(write_npy(dir_ / "bad.npy", a), std::invalid_argument);
  a.shape = {};
  EXPECT_THROW(write_npy(dir_ / "bad.npy", a), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir_ / "bad.npy"));
}

TEST(NpyShapeText, MatchesPythonTupleRepr) {
  EXPECT_EQ(npy_shape_text({5}), "(5,)");
  EXPECT_EQ(npy_shape_text({3, 4}), "(3, 4)");
  EXPECT_EQ(npy_shape_text({}), "()");
}

}  // namespace
}  // namespace posbench
