#pragma once
// The family operations on real tensors, for float32 or float64 storage. Coefficients come
// from the Encoder in float64; arithmetic is done in float64 and rounded once on store, so
// these are the accuracy reference (the fast kernels in harness/kernels are tested against
// them).

#include <cstdint>
#include <span>

#include "encoders/encoder.h"

namespace posbench {

// out[t, c] = PE(positions[t])[c];  out: [positions.size(), dim].
template <class T>
void positional_table(const Encoder& enc, std::span<const int64_t> positions, int64_t dim, T* out);

// x[t, c] += PE(positions[t])[c];  x: [positions.size(), dim].
template <class T>
void add_positional(const Encoder& enc, std::span<const int64_t> positions, int64_t dim, T* x);

// Rotates every head of every row in place: x[t, h, :] -> R(positions[t]) x[t, h, :].
// x: [positions.size(), heads, head_dim].
template <class T>
void rotate(const Encoder& enc, std::span<const int64_t> positions, int64_t heads, int64_t head_dim,
            const RotaryContext& ctx, T* x);

// logits[h, i, j] += b_h(q_positions[i], k_positions[j]);
// logits: [heads, q_positions.size(), k_positions.size()].
template <class T>
void add_bias(const Encoder& enc, std::span<const int64_t> q_positions,
              std::span<const int64_t> k_positions, int64_t heads, T* logits);

// Rotates one pair-structured vector x[head_dim] given its coefficients c, s [d'/2]
// (shared by rotate() and the composed attention logit).
template <class T>
void rotate_vector(RotaryPairing pairing, int64_t rotated_dims, const double* c, const double* s,
                   T* x);

}  // namespace posbench
