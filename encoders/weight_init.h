#pragma once
// What the schemes with learned weights (learned, t5, fire) share. Their weights are either
// drawn from a seed (the init they default to) or read from files (init = "file", from `path`),
// and the drawn weights depend on a width (dim or heads) that is known only at call time, so
// they are drawn on first use for each width and kept. Each scheme keeps its own draw (its Rng
// stream name and draw order) in its file; only the plumbing around it is here.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "encoders/encoder.h"
#include "encoders/error.h"
#include "encoders/npy.h"
#include "encoders/params.h"

namespace posbench {

// The `path` param if init = "file" (where it is required; `needs` says what it must hold, for
// the message), nothing for a drawn init, which must not be given a path: it would be silently
// ignored.
inline std::optional<std::string> init_file_path(const Params& p, const std::string& needs) {
  const std::string init = p.string("init");
  if (init != "file") {
    if (p.has("path"))
      throw UserError("path", "is only read when init = \"file\" (init is \"" + init +
                                  "\"); expected init = \"file\" or no path");
    return std::nullopt;
  }
  if (!p.has("path")) throw UserError("path", "missing: init = \"file\" needs " + needs);
  return p.string("path");
}

// read_npy, with a file that cannot be read reported against the `path` param.
inline NpyArray read_npy_param(const std::filesystem::path& file) {
  try {
    return read_npy(file);
  } catch (const UserError& e) {
    throw UserError("path", e.message());
  }
}

// Weights per width, built by `make()` on first use and then shared. The lock is there because
// experiments call one scheme instance from several OpenMP threads.
template <class T>
class PerWidthCache {
 public:
  template <class Make>
  std::shared_ptr<const T> get(int64_t width, Make make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(width);
    if (it != cache_.end()) return it->second;
    auto made = std::make_shared<const T>(make());
    cache_.emplace(width, made);
    return made;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::map<int64_t, std::shared_ptr<const T>> cache_;
};

}  // namespace posbench
