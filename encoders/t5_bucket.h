#pragma once
// HuggingFace's T5Attention._relative_position_bucket (formula in encoders/t5.cpp's header),
// shared by the t5 scheme and trained_extrapolation's trainable t5 counterpart, which gathers
// its trainable [num_buckets, heads] table with the same bucket ids. Not part of the SDK.

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace posbench {

// relative_position = key position - query position; the log branch is in float32, as in HF.
inline int64_t t5_relative_position_bucket(int64_t relative_position, bool bidirectional,
                                           int64_t num_buckets, int64_t max_distance) {
  int64_t bucket = 0, r = 0;
  if (bidirectional) {
    num_buckets /= 2;
    if (relative_position > 0) bucket += num_buckets;
    r = relative_position < 0 ? -relative_position : relative_position;
  } else {
    r = relative_position < 0 ? -relative_position : 0;
  }
  const int64_t max_exact = num_buckets / 2;
  if (r < max_exact) return bucket + r;
  const float ratio = float(r) / float(max_exact);
  const float scaled = std::log(ratio) / float(std::log(double(max_distance) / double(max_exact))) *
                       float(num_buckets - max_exact);
  const int64_t large = max_exact + static_cast<int64_t>(scaled);  // truncation toward zero
  return bucket + std::min(large, num_buckets - 1);
}

}  // namespace posbench
