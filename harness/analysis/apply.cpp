#include "harness/analysis/apply.h"

#include <vector>

namespace posbench {

template <class T>
void positional_table(const Encoder& enc, std::span<const int64_t> positions, int64_t dim, T* out) {
  if constexpr (std::is_same_v<T, double>) {
    enc.additive_table(positions, dim, out);
  } else {
    std::vector<double> tmp(positions.size() * dim);
    enc.additive_table(positions, dim, tmp.data());
    for (size_t i = 0; i < tmp.size(); ++i) out[i] = static_cast<T>(tmp[i]);
  }
}

template <class T>
void add_positional(const Encoder& enc, std::span<const int64_t> positions, int64_t dim, T* x) {
  std::vector<double> pe(positions.size() * dim);
  enc.additive_table(positions, dim, pe.data());
  for (size_t i = 0; i < pe.size(); ++i) x[i] = static_cast<T>(double(x[i]) + pe[i]);
}

template <class T>
void rotate_vector(RotaryPairing pairing, int64_t rotated_dims, const double* c, const double* s,
                   T* x) {
  const int64_t half = rotated_dims / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t ia = pairing == RotaryPairing::half ? i : 2 * i;
    const int64_t ib = pairing == RotaryPairing::half ? i + half : 2 * i + 1;
    const double a = x[ia], b = x[ib];
    x[ia] = static_cast<T>(a * c[i] - b * s[i]);
    x[ib] = static_cast<T>(a * s[i] + b * c[i]);
  }
}

template <class T>
void rotate(const Encoder& enc, std::span<const int64_t> positions, int64_t heads, int64_t head_dim,
            const RotaryContext& ctx, T* x) {
  const int64_t rd = enc.rotary_dims(head_dim);
  const int64_t half = rd / 2;
  std::vector<double> c(positions.size() * half), s(positions.size() * half);
  enc.rotary_coefficients(positions, head_dim, ctx, c.data(), s.data());
  const RotaryPairing pairing = enc.rotary_pairing();
  for (size_t t = 0; t < positions.size(); ++t)
    for (int64_t h = 0; h < heads; ++h)
      rotate_vector(pairing, rd, &c[t * half], &s[t * half], x + (t * heads + h) * head_dim);
}

template <class T>
void add_bias(const Encoder& enc, std::span<const int64_t> q_positions,
              std::span<const int64_t> k_positions, int64_t heads, T* logits) {
  std::vector<double> b(heads * q_positions.size() * k_positions.size());
  enc.bias(q_positions, k_positions, heads, b.data());
  for (size_t i = 0; i < b.size(); ++i) logits[i] = static_cast<T>(double(logits[i]) + b[i]);
}

#define POSBENCH_INSTANTIATE(T)                                                                 \
  template void positional_table<T>(const Encoder&, std::span<const int64_t>, int64_t, T*);     \
  template void add_positional<T>(const Encoder&, std::span<const int64_t>, int64_t, T*);       \
  template void rotate_vector<T>(RotaryPairing, int64_t, const double*, const double*, T*);     \
  template void rotate<T>(const Encoder&, std::span<const int64_t>, int64_t, int64_t,           \
                          const RotaryContext&, T*);                                            \
  template void add_bias<T>(const Encoder&, std::span<const int64_t>, std::span<const int64_t>, \
                            int64_t, T*);
POSBENCH_INSTANTIATE(float)
POSBENCH_INSTANTIATE(double)

}  // namespace posbench
