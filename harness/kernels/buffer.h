#pragma once
// Pre-faulted, reusable memory for kernels and benchmarks.
//
// On the virtual machines posbench runs on, the first touch of a 4 KiB page costs 10-15 us: a
// kernel that allocates its output on every call runs 20-100x slower than one that reuses a
// buffer. So every buffer a benchmark touches is allocated once, outside the timing loop, with
// every page written before the first measurement (prefault), and reused by every iteration.
//
// Buffers are anonymous mmap regions aligned to 2 MiB; with `huge_pages` they are advised
// MADV_HUGEPAGE (transparent huge pages in "madvise" mode back them with 2 MiB pages, which
// makes the prefault ~500x cheaper and removes TLB misses from the measurement). Freed memory
// goes back to the operating system (munmap), so a run's peak is what is alive at once.

#include <cstddef>
#include <cstdint>
#include <string>

namespace posbench::kernels {

class Buffer {
 public:
  Buffer() = default;
  // Allocates `bytes` (rounded up to whole pages) and writes every page. Throws std::bad_alloc.
  explicit Buffer(size_t bytes, bool huge_pages = true);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return data_ == nullptr; }

  // Bytes held by all live Buffers of the process, and the most ever held at once (for checking
  // an experiment's memory_bytes() estimate against what it really allocated).
  static uint64_t live_bytes();
  static uint64_t peak_bytes();
  static void reset_peak();

 private:
  void release();
  void* data_ = nullptr;
  size_t bytes_ = 0;   // as requested
  size_t mapped_ = 0;  // as mapped (page-rounded)
};

// The kernel's transparent-huge-page policy as read from /sys ("always", "madvise", "never", or
// "unknown").
std::string transparent_hugepage_mode();

}  // namespace posbench::kernels
