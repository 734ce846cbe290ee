#include "encoders/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>

#include "encoders/error.h"

namespace posbench {

namespace fs = std::filesystem;

namespace {
// The temporary file being written, for remove_pending_temporary_file (read by a signal
// handler: a fixed buffer and an atomic flag, nothing that allocates).
char g_pending[4096];
volatile std::sig_atomic_t g_has_pending = 0;

void set_pending(const std::string& path) {
  if (path.size() >= sizeof g_pending) return;
  std::memcpy(g_pending, path.c_str(), path.size() + 1);
  g_has_pending = 1;
}
}  // namespace

void remove_pending_temporary_file() {
  if (g_has_pending) unlink(g_pending);
}

void check_output_target(const fs::path& target, const std::string& option) {
  check_output_target(target, option, false);
}

void check_output_target(const fs::path& target, const std::string& option, bool force) {
  std::error_code ec;
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw UserError(option, target.string() + ": names a directory; expected a file name, e.g. " +
                                (target / "results.json").string());
  if (fs::exists(fs::symlink_status(target, ec))) {
    if (!force)
      throw UserError(option, target.string() +
                                  ": already exists; posbench never overwrites unless told to "
                                  "(choose another path, or pass --force to replace it)");
    if (fs::is_directory(target, ec))
      throw UserError(
          option, target.string() + ": is a directory; --force replaces a file, never a directory");
  }
  // The nearest ancestor that exists must be a directory we may write in (write_file_atomically
  // creates the missing ones below it).
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path())
    dir = dir.parent_path();
  if (!fs::exists(dir, ec)) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw UserError(option, target.string() + ": " + dir.string() +
                                " is not a directory; expected a path inside a directory");
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw UserError(option, target.string() + ": cannot write in " + dir.string() + " (" +
                                std::strerror(errno) + "); expected a writable directory");
}

void require_utf8_path(const fs::path& path, const std::string& option) {
  const std::string& text = path.native();
  try {
    // nlohmann/json's own check, the one that would otherwise fail when results are written.
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::type_error&) {
    std::string shown;
    for (unsigned char c : text)
      shown += c >= 0x20 && c < 0x7f ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    throw UserError(option, "path '" + shown +
                                "' is not valid UTF-8; expected a UTF-8 path (posbench records "
                                "paths in JSON, which holds only UTF-8): rename it");
  }
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(bytes);
  int u = 0;
  // The unit is chosen on the value as printed: 1048575 B is "1.0 MiB", not "1024.0 KiB".
  while (std::round(v * 10) / 10 >= 1024 && u < 5) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

namespace {

// Writes `content` to a new temporary file beside `target` and returns its path (fsync'ed,
// mode 0644, registered for remove_pending_temporary_file).
std::string write_temporary(const fs::path& target, const std::string& content) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string tmpl = (dir / fmt::format(".{}.tmp-XXXXXX", target.filename().string())).string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error(tmpl + ": cannot create: " + std::strerror(errno));
  set_pending(tmpl);
  auto fail = [&](const std::string& what) {
    int err = errno;
    close(fd);
    unlink(tmpl.c_str());
    g_has_pending = 0;
    throw std::runtime_error(target.string() + ": " + what + ": " + std::strerror(err));
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += size_t(n);
  }
  if (fsync(fd) != 0) fail("fsync failed");
  fchmod(fd, 0644);
  close(fd);
  return tmpl;
}

}  // namespace

void replace_file_atomically(const fs::path& target, const std::string& content) {
  std::error_code ec;
  if (fs::is_directory(target, ec))
    throw UserError(target.string() +
                    ": is a directory; --force replaces a file, never a "
                    "directory");
  const std::string tmpl = write_temporary(target, content);
  // rename() replaces an existing file atomically.
  if (rename(tmpl.c_str(), target.c_str()) != 0) {
    int err = errno;
    unlink(tmpl.c_str());
    g_has_pending = 0;
    throw std::runtime_error(target.string() + ": cannot replace: " + std::strerror(err));
  }
  g_has_pending = 0;
}

void write_file_atomically(const fs::path& target, const std::string& content) {
  if (fs::exists(target))
    throw UserError(target.string() +
                    ": already exists; posbench never overwrites unless told to (choose another "
                    "path, or pass --force to replace it)");
  const std::string tmpl = write_temporary(target, content);
  // link() refuses to replace an existing file, unlike rename(): no overwrite even in a race.
  if (link(tmpl.c_str(), target.c_str()) != 0) {
    int err = errno;
    unlink(tmpl.c_str());
    g_has_pending = 0;
    if (err == EEXIST)
      throw UserError(target.string() +
                      ": already exists; posbench never overwrites unless told to (pass --force "
                      "to replace it)");
    throw std::runtime_error(target.string() + ": cannot create: " + std::strerror(err));
  }
  unlink(tmpl.c_str());
  g_has_pending = 0;
}

}  // namespace posbench
