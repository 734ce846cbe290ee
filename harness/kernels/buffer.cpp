#include "harness/kernels/buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <new>

namespace posbench::kernels {

namespace {

std::atomic<uint64_t> g_live{0};
std::atomic<uint64_t> g_peak{0};

constexpr size_t kHuge = size_t(2) << 20;

void account(int64_t delta) {
  const uint64_t now = g_live.fetch_add(uint64_t(delta)) + uint64_t(delta);
  uint64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

}  // namespace

Buffer::Buffer(size_t bytes, bool huge_pages) : bytes_(bytes) {
  if (bytes == 0) return;
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  // Over-map by 2 MiB so the start can be aligned to a huge-page boundary.
  const size_t rounded = (bytes + page - 1) / page * page;
  const size_t span = rounded + kHuge;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (base + kHuge - 1) / kHuge * kHuge;
  // Give back the unaligned head and the unused tail.
  if (aligned > base) munmap(raw, aligned - base);
  const uintptr_t end = base + span, used_end = aligned + rounded;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  data_ = reinterpret_cast<void*>(aligned);
  mapped_ = rounded;
#ifdef MADV_HUGEPAGE
  if (huge_pages) madvise(data_, mapped_, MADV_HUGEPAGE);
#else
  (void)huge_pages;
#endif
  // Prefault: write every page now, never inside a timing loop.
  std::memset(data_, 0, mapped_);
  account(int64_t(mapped_));
}

void Buffer::release() {
  if (data_) {
    munmap(data_, mapped_);
    account(-int64_t(mapped_));
  }
  data_ = nullptr;
  bytes_ = mapped_ = 0;
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept
    : data_(other.data_), bytes_(other.bytes_), mapped_(other.mapped_) {
  other.data_ = nullptr;
  other.bytes_ = other.mapped_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    bytes_ = other.bytes_;
    mapped_ = other.mapped_;
    other.data_ = nullptr;
    other.bytes_ = other.mapped_ = 0;
  }
  return *this;
}

uint64_t Buffer::live_bytes() { return g_live.load(); }
uint64_t Buffer::peak_bytes() { return g_peak.load(); }
void Buffer::reset_peak() { g_peak.store(g_live.load()); }

std::string transparent_hugepage_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return "unknown";
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

}  // namespace posbench::kernels
