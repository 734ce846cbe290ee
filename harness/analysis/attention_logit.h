#pragma once
// The composed attention logit s_h(q, k, m, n) that lets every experiment treat the three
// families alike (q at position m, k at position n; q, k: [dim]):
//   additive : (q + PE(m)) . (k + PE(n))
//   rotary   : (R(m) q) . (R(n) k)          (q rotated as a query, k as a key)
//   bias     : q . k + b_h(m, n)
// All in float64.

#include <cstdint>
#include <span>

#include "encoders/encoder.h"

namespace posbench {

struct LogitShape {
  int64_t dim = 0;      // width of q and k (head_dim for rotary)
  int64_t heads = 1;    // number of heads (bias schemes read head `head`)
  int64_t seq_len = 0;  // sequence length for length-dependent rotary schemes (0: max(m,n)+1)
};

double attention_logit(const Encoder& enc, const LogitShape& shape, int64_t head,
                       std::span<const double> q, std::span<const double> k, int64_t m, int64_t n);

}  // namespace posbench
