#pragma once
// Helpers shared by the test files: building a registered scheme from its params, a temporary
// directory per test, a working directory for a scope, reading a file, substring and dot-product
// checks, a Diagnostics' problems as text, and running the real posbench binary
// (POSBENCH_BINARY) with its exit code and output captured. Each was written out again in many
// test files before; one copy keeps the scaffolding the same everywhere, leaves each test file
// with only what it checks, and lets the files share a unity group (tests/unity_groups.py).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "encoders/registry.h"

namespace posbench::test {

// Builds the registered scheme `name` the way the harness does: declared specs -> resolved
// params (which the test expects to be valid) -> factory.
inline std::unique_ptr<Encoder> make_scheme(const std::string& name, const nlohmann::json& given) {
  const EncoderInfo& info = EncoderRegistry::instance().get(name, "encoder");
  Diagnostics diag;
  const nlohmann::json resolved = resolve_params(info.params, given, "params", diag);
  EXPECT_TRUE(diag.ok()) << (diag.ok() ? "" : diag.problems()[0].str());
  return info.factory(Params(resolved));
}

// The param named by the UserError thrown when scheme `name` is built from `given` or, if
// `heads` is given, asked for check_shape(0, *heads); "<no error>" if nothing is thrown.
inline std::string param_error(const std::string& name, const nlohmann::json& given,
                               std::optional<int64_t> heads = std::nullopt) {
  try {
    auto enc = make_scheme(name, given);
    if (heads) enc->check_shape(0, *heads);
  } catch (const UserError& e) {
    return e.path();
  }
  return "<no error>";
}

// A new empty directory under the system's temporary directory, removed with its contents when
// this goes out of scope (also when an assertion ends the test early). mkdtemp makes the name
// unique, so tests run in parallel by ctest never share one.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "posbench-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path operator/(const std::filesystem::path& name) const { return dir_ / name; }

 private:
  std::filesystem::path dir_;
};

// Makes `to` the working directory until this goes out of scope (also when an assertion ends
// the test early), then restores the one before.
struct CwdGuard {
  explicit CwdGuard(const std::filesystem::path& to) : old(std::filesystem::current_path()) {
    std::filesystem::current_path(to);
  }
  ~CwdGuard() { std::filesystem::current_path(old); }
  CwdGuard(const CwdGuard&) = delete;
  CwdGuard& operator=(const CwdGuard&) = delete;
  std::filesystem::path old;
};

// The whole content of a file, byte for byte ("" if it cannot be read).
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The problems of a Diagnostics, one per line, for a failure message.
inline std::string problems_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p.str();
  return out;
}

// The dot product of two vectors of equal length, summed in index order.
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// `p` in single quotes, for a shell command. Built by appending: "'" + std::string trips GCC 12's
// -Wrestrict false positive.
inline std::string quoted(const std::filesystem::path& p) {
  std::string out(1, '\'');
  out += p.string();
  out += '\'';
  return out;
}

// Writes a float32 .npy file whose header declares `shape` and whose data is a hole: the file
// has exactly the size the header promises (so it passes every header check) but occupies no
// disk. Tests use it to show a file of many GiB is judged by its header and never read.
inline std::filesystem::path write_sparse_npy(const std::filesystem::path& p,
                                              const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  uint64_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += (i ? ", " : "") + std::to_string(shape[i]);
    elements *= uint64_t(shape[i]);
  }
  dict += shape.size() == 1 ? ",), }" : "), }";
  dict += std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + "\n";
  std::string header = "\x93NUMPY";
  header += char(1);
  header += char(0);
  header += char(dict.size() & 0xff);
  header += char(dict.size() >> 8);
  header += dict;
  std::ofstream(p, std::ios::binary) << header;
  std::filesystem::resize_file(p, header.size() + elements * 4);
  return p;
}

struct BinaryResult {
  bool exited = false;  // it exited normally (not killed by a signal)
  int code = -1;        // its exit code if it exited, else -1
  std::string out, err;
};

// Runs `posbench ARGS` (ARGS is shell text: quote paths with quoted()) in `cwd` (this process's
// working directory if empty), with stdout and stderr captured in io_dir/stdout and
// io_dir/stderr.
inline BinaryResult run_posbench(const std::string& args, const std::filesystem::path& io_dir,
                                 const std::filesystem::path& cwd = {}) {
  const std::filesystem::path out = io_dir / "stdout", err = io_dir / "stderr";
  std::string cmd;
  if (!cwd.empty()) {
    cmd += "cd ";
    cmd += quoted(cwd);
    cmd += " && ";
  }
  cmd += quoted(POSBENCH_BINARY);
  cmd += ' ';
  cmd += args;
  cmd += " >";
  cmd += quoted(out);
  cmd += " 2>";
  cmd += quoted(err);
  const int status = std::system(cmd.c_str());
  BinaryResult r;
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// Fixture for tests of the real binary: a fresh directory per test holding work/ (the binary's
// working directory, where write() puts input files) and io/ (its captured output).
class BinaryTest : public ::testing::Test {
 protected:
  explicit BinaryTest(const std::string& prefix) : root_(prefix) {
    std::filesystem::create_directories(work());
    std::filesystem::create_directories(root_ / "io");
  }

  std::filesystem::path work() const { return root_ / "work"; }

  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const std::filesystem::path p = work() / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  // Runs `posbench ARGS` in work().
  BinaryResult run(const std::string& args) const {
    return run_posbench(args, root_ / "io", work());
  }

 private:
  TempDir root_;
};

}  // namespace posbench::test
