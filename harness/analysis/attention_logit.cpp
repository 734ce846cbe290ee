#include "harness/analysis/attention_logit.h"

#include <algorithm>
#include <vector>

#include "harness/analysis/apply.h"

namespace posbench {

static double dot(std::span<const double> a, std::span<const double> b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double attention_logit(const Encoder& enc, const LogitShape& shape, int64_t head,
                       std::span<const double> q, std::span<const double> k, int64_t m, int64_t n) {
  const int64_t d = shape.dim;
  switch (enc.family()) {
    case Family::additive: {
      std::vector<double> pe(2 * d);
      const int64_t pos[2] = {m, n};
      enc.additive_table(pos, d, pe.data());
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += (q[c] + pe[c]) * (k[c] + pe[d + c]);
      return s;
    }
    case Family::rotary: {
      const int64_t rd = enc.rotary_dims(d), half = rd / 2;
      std::vector<double> rq(q.begin(), q.end()), rk(k.begin(), k.end());
      std::vector<double> c(half), s(half);
      RotaryContext ctx{Role::query, shape.seq_len ? shape.seq_len : std::max(m, n) + 1};
      const int64_t pm[1] = {m}, pn[1] = {n};
      enc.rotary_coefficients(pm, d, ctx, c.data(), s.data());
      rotate_vector(enc.rotary_pairing(), rd, c.data(), s.data(), rq.data());
      ctx.role = Role::key;
      enc.rotary_coefficients(pn, d, ctx, c.data(), s.data());
      rotate_vector(enc.rotary_pairing(), rd, c.data(), s.data(), rk.data());
      return dot(rq, rk);
    }
    case Family::bias: {
      std::vector<double> b(shape.heads);
      const int64_t pm[1] = {m}, pn[1] = {n};
      enc.bias(pm, pn, shape.heads, b.data());
      return dot(q, k) + b[head];
    }
  }
  return 0;
}

}  // namespace posbench
