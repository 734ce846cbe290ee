// Files and sizes (encoders/files.h): results and side files are written atomically (never half
// a file, never over an existing one, no temporary file left behind, parent directories
// created); sizes read "1.5 GiB".
#include "encoders/files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "encoders/error.h"
#include "tests/test_util.h"

namespace posbench {
namespace {

namespace fs = std::filesystem;
using test::CwdGuard;
using test::read_file;
using test::TempDir;

class WriteFileAtomically : public ::testing::Test {
 protected:
  // Every entry below `root`, recursively, relative to it.
  static std::vector<std::string> entries(const fs::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      out.push_back(fs::relative(e.path(), root).string());
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir tmp_{"posbench-files-test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(WriteFileAtomically, WritesContentAndCreatesParentDirs) {
  const fs::path target = dir_ / "a" / "b" / "out.json";
  const std::string content = "{\"x\": 1}\n" + std::string(100000, 'z');
  write_file_atomically(target, content);
  EXPECT_EQ(read_file(target), content);
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"a", "a/b", "a/b/out.json"}));
}

TEST_F(WriteFileAtomically, EmptyContent) {
  write_file_atomically(dir_ / "empty.json", "");
  EXPECT_TRUE(fs::exists(dir_ / "empty.json"));
  EXPECT_EQ(fs::file_size(dir_ / "empty.json"), 0u);
}

TEST_F(WriteFileAtomically, RefusesToOverwriteAndLeavesNoTempFiles) {
  const fs::path target = dir_ / "out.json";
  write_file_atomically(target, "first");
  try {
    write_file_atomically(target, "second");
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(target), "first");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"out.json"});
}

TEST_F(WriteFileAtomically, RelativeTargetInCurrentDirectory) {
  {
    CwdGuard cwd(dir_);
    write_file_atomically("plain.json", "x");
    EXPECT_THROW(write_file_atomically("plain.json", "y"), UserError);
  }
  EXPECT_EQ(read_file(dir_ / "plain.json"), "x");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"plain.json"});
}

TEST_F(WriteFileAtomically, BinaryContentIsWrittenByteForByte) {
  std::string content;
  for (int i = 0; i < 256 * 4; ++i) content += char(i % 256);  // includes NUL and 0xFF bytes
  write_file_atomically(dir_ / "blob.npy", content);
  EXPECT_EQ(read_file(dir_ / "blob.npy"), content);
  // Readable by others (0644), as a results file should be.
  const fs::perms p = fs::status(dir_ / "blob.npy").permissions();
  EXPECT_EQ(p & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write |
                                    fs::perms::group_read | fs::perms::others_read);
}

// "{:.1f} <unit>" with binary units: the value divided by 1024 until it is below 1024.
TEST(HumanBytes, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(human_bytes(0), "0.0 B");
  EXPECT_EQ(human_bytes(1), "1.0 B");
  EXPECT_EQ(human_bytes(1023), "1023.0 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(1048575), "1.0 MiB");  // rounds to 1024.0 KiB: printed in the next unit
  EXPECT_EQ(human_bytes(1048524), "1023.9 KiB");
  EXPECT_EQ(human_bytes(uint64_t(1) << 20), "1.0 MiB");
  EXPECT_EQ(human_bytes(uint64_t(3) << 29), "1.5 GiB");  // 1.5 * 2^30
  EXPECT_EQ(human_bytes(uint64_t(1) << 40), "1.0 TiB");
  EXPECT_EQ(human_bytes(uint64_t(5) << 49), "2.5 PiB");
  // PiB is the largest unit: 2^64 - 1 bytes = 16384 PiB (rounded).
  EXPECT_EQ(human_bytes(UINT64_MAX), "16384.0 PiB");
  EXPECT_EQ(human_bytes(uint64_t(1) << 60), "1024.0 PiB");
}

TEST(RequireUtf8Path, RefusesInvalidUtf8NamingTheOptionAndTheBytes) {
  EXPECT_NO_THROW(require_utf8_path("results/r.json", "-o"));
  EXPECT_NO_THROW(require_utf8_path("r\xc3\xa9sultats/r.json", "-o"));  // UTF-8 "é"
  try {
    require_utf8_path("caf\xe9/r.json", "-o");  // Latin-1 "é"
    FAIL() << "a Latin-1 path was accepted";
  } catch (const UserError& e) {
    EXPECT_EQ(e.path(), "-o");
    EXPECT_NE(e.message().find("path 'caf\\xe9/r.json' is not valid UTF-8"), std::string::npos)
        << e.message();
  }
  // A truncated multi-byte sequence at the end is invalid too.
  EXPECT_THROW(require_utf8_path("r\xc3", "--input"), UserError);
}

}  // namespace
}  // namespace posbench
