#pragma once
// What the fuzz targets share: the oracle (a documented user error is an expected outcome,
// anything else is a crash) and a scratch directory for the entry points that read and write
// files. Every target calls posbench's own entry points; nothing here re-implements them.
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>

#include "encoders/encoder.h"
#include "encoders/error.h"

namespace posbench::fuzz {

// A finding: printed, then abort(), which libFuzzer reports as a crash with the input.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\nposbench fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Every problem of a UserError has a message (error.h: "UserError always holds a problem").
inline void check_user_error(const UserError& e) {
  if (e.problems().empty()) fail("UserError without a problem");
  for (const auto& p : e.problems())
    if (p.message.empty()) fail("UserError with an empty message at path '" + p.path + "'");
}

// Runs f(): returns true if it finished, false if it refused the input with a UserError (exit 2
// of the CLI: the user's mistake, an expected outcome) or, where the caller asks the scheme for
// positions directly, with UnsupportedPosition (encoder.h: the scheme cannot serve that
// position; `posbench apply` turns it into a UserError). Any other exception is a finding (the
// CLI would exit 1 on it: "a bug or a failure of the machine", error.h). Sanitizer reports end
// the process by themselves.
enum class Positions { refused_by_caller, may_be_unsupported };

template <class F>
bool expect_user_errors_only(F&& f, Positions positions = Positions::refused_by_caller) {
  try {
    f();
    return true;
  } catch (const UserError& e) {
    check_user_error(e);
  } catch (const UnsupportedPosition& e) {
    if (positions != Positions::may_be_unsupported)
      fail(std::string("UnsupportedPosition escaped: ") + e.what());
  } catch (const std::exception& e) {
    fail(std::string("unexpected exception (") + typeid(e).name() + "): " + e.what());
  } catch (...) {
    fail("unexpected exception of a non-std type");
  }
  return false;
}

// A directory of this process for the files an input is written to, removed at exit. On
// /dev/shm when it exists (a file per input on a disk is slow). Each -jobs/-workers process
// makes its own.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "posbench-fuzz-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp failed: " + tmpl);
    static std::string removed_at_exit = tmpl;
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(removed_at_exit, ignored);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
inline std::filesystem::path scratch_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path file = scratch_dir() / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) fail("cannot write the scratch file " + file.string());
  return file;
}

// Removes scratch_dir()/name if it exists and returns its path (an output must not exist).
inline std::filesystem::path fresh_scratch_path(const std::string& name) {
  const std::filesystem::path file = scratch_dir() / name;
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return file;
}

// The first line of `text` (without '\n'); `text` keeps the rest. No '\n': all of it.
inline std::string_view take_line(std::string_view& text) {
  const size_t end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return line;
}

// Index of the first value that is NaN or infinite, or -1.
template <class T>
long first_non_finite(const T* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return long(i);
  return -1;
}

}  // namespace posbench::fuzz
