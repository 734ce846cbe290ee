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

#include "encoders/checked_size.h"
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

// read_npy (at most max_bytes of data; 0: any), with a file that cannot be read reported
// against the `path` param.
inline NpyArray read_npy_param_limited(const std::filesystem::path& file, uint64_t max_bytes) {
  try {
    return read_npy(file, max_bytes);
  } catch (const UserError& e) {
    throw UserError("path", e.message());
  }
}

// read_npy_header, reported against the `path` param: what a scheme reads at construction,
// so `validate` checks shapes and sizes without reading any weights.
inline NpyHeader read_npy_header_param(const std::filesystem::path& file) {
  try {
    return read_npy_header(file);
  } catch (const UserError& e) {
    throw UserError("path", e.message());
  }
}

// Reads, at load time, a file whose header was checked at construction: it must still hold
// what was checked (same shape, no more data), or it changed in between.
inline NpyArray read_checked_npy_param(const std::filesystem::path& file,
                                       const NpyHeader& checked) {
  NpyArray a = read_npy_param_limited(file, checked.data_bytes);
  if (a.shape != checked.shape || a.dtype != checked.dtype)
    throw UserError("path", file.string() + ": changed since it was checked: shape " +
                                npy_shape_text(a.shape) + ", was " + npy_shape_text(checked.shape));
  return a;
}

// Bytes to read a checked file and keep it as float64: the read buffer and the converted copy.
// (The header check guarantees data_bytes is the file's real data size, so no overflow.)
inline uint64_t loaded_npy_bytes(const NpyHeader& h) {
  const uint64_t elements = h.data_bytes / npy_item_size(h.dtype);
  return (CheckedSize(h.data_bytes) + CheckedSize(elements) * 8).saturated();
}

// A value made once, on first use, then shared (weights read from files: Encoder::load()).
// Locked: experiments call a scheme from several OpenMP threads. If make() throws, nothing is
// kept and the next call tries again.
template <class T>
class LoadedOnce {
 public:
  template <class Make>
  std::shared_ptr<const T> get(Make make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!value_) value_ = std::make_shared<const T>(make());
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const T> value_;
};

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
