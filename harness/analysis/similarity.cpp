#include "harness/analysis/similarity.h"

#include <numeric>

#include "encoders/checked_size.h"
#include "encoders/rng.h"

namespace posbench {

std::vector<ParamSpec> common_property_params() {
  return {
      ParamSpec::integer("dim", 128, "embedding width (additive) / head width (rotary)")
          .at_least(1)
          .at_most(65536),
      ParamSpec::integer("heads", 8, "attention heads (bias schemes: one phi per head)")
          .at_least(1)
          .at_most(4096),
      ParamSpec::integer("positions", 1024, "positions [0, positions) studied")
          .at_least(2)
          .at_most(1 << 22),
      ParamSpec::integer("samples", 64,
                         "rotary: content pairs (q, k) averaged when `content` is random "
                         "(independent, shared); ones uses one pair, a file its rows")
          .at_least(1)
          .at_most(1 << 20),
      content_param(),
  };
}

std::vector<ParamSpec> with_common_property_params(std::vector<ParamSpec> own) {
  std::vector<ParamSpec> all = common_property_params();
  for (auto& p : own) all.push_back(std::move(p));
  return all;
}

PropertyShape::PropertyShape(const Params& p)
    : dim(p.integer("dim")),
      heads(p.integer("heads")),
      positions(p.integer("positions")),
      samples(p.integer("samples")),
      content(std::make_shared<const ContentModel>(p, dim)) {}

double dot(const double* a, const double* b, int64_t n) {
  // Four independent partial sums (lets the compiler pipeline/vectorise) combined in a fixed
  // order: the result depends only on a, b, n.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) {
    s0 += a[c] * b[c];
    s1 += a[c + 1] * b[c + 1];
    s2 += a[c + 2] * b[c + 2];
    s3 += a[c + 3] * b[c + 3];
  }
  for (; c < n; ++c) s0 += a[c] * b[c];
  return (s0 + s1) + (s2 + s3);
}

SimilarityOptions similarity_options(const PropertyShape& shape, uint64_t seed,
                                     std::string stream) {
  return SimilarityOptions{shape.dim, shape.heads,       shape.positions, shape.samples,
                           seed,      std::move(stream), shape.content};
}

const char* phi_unit(Family family) { return family == Family::additive ? "1" : "logit"; }

static std::vector<int64_t> iota_positions(int64_t n) {
  std::vector<int64_t> pos(static_cast<size_t>(n));
  std::iota(pos.begin(), pos.end(), int64_t(0));
  return pos;
}

uint64_t Similarity::memory_bytes(const Encoder& enc, const SimilarityOptions& o) {
  const CheckedSize P = o.positions, D = o.dim;
  switch (enc.family()) {
    case Family::additive:
      return (P * D * 8).saturated();
    case Family::rotary:
      // U, V [P, d'] plus the coefficient tables of both roles [P, d'/2] x 4 and the content.
      return (P * D * 8 * 4 + (o.content ? CheckedSize(o.content->memory_bytes(o.samples, o.dim))
                                         : CheckedSize(o.samples) * D * 8 * 2))
          .saturated();
    case Family::bias:
      return (enc.bias_is_relative() ? CheckedSize(o.heads) * P * 3 * 8
                                     : CheckedSize(o.heads) * P * P * 8)
          .saturated();
  }
  return 0;
}

Similarity::Similarity(const Encoder& enc, SimilarityOptions o)
    : family_(enc.family()), dim_(o.dim), positions_(o.positions) {
  const int64_t P = positions_;
  const std::vector<int64_t> pos = iota_positions(P);
  switch (family_) {
    case Family::additive: {
      width_ = dim_;
      u_.resize(size_t(P * dim_));
      enc.additive_table(pos, dim_, u_.data());
      break;
    }
    case Family::rotary: {
      const int64_t rd = enc.rotary_dims(dim_), half = rd / 2;
      const bool interleaved = enc.rotary_pairing() == RotaryPairing::interleaved;
      width_ = rd;
      std::vector<double> cq(size_t(P * half)), sq(size_t(P * half));
      std::vector<double> ck(size_t(P * half)), sk(size_t(P * half));
      enc.rotary_coefficients(pos, dim_, RotaryContext{Role::query, P}, cq.data(), sq.data());
      enc.rotary_coefficients(pos, dim_, RotaryContext{Role::key, P}, ck.data(), sk.data());
      const ContentVectors content = o.content
                                         ? o.content->vectors(o.samples, dim_, o.seed, o.stream)
                                         : random_content(o.samples, dim_, o.seed, o.stream);
      // K = mean_s k_s q_s^T restricted to each pair's 2x2 block: K[a][b] = mean k_a q_b.
      std::vector<double> K(size_t(half * 4), 0.0);
      for (int64_t s = 0; s < content.pairs; ++s) {
        const double* q = content.query(s);
        const double* k = content.key(s);
        for (int64_t i = 0; i < half; ++i) {
          const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
          double* B = &K[size_t(i * 4)];
          B[0] += k[ia] * q[ia], B[1] += k[ia] * q[ib];
          B[2] += k[ib] * q[ia], B[3] += k[ib] * q[ib];
        }
        for (int64_t c = rd; c < dim_; ++c) c0_ += q[c] * k[c];
      }
      const double inv = 1.0 / double(content.pairs);
      for (double& x : K) x *= inv;
      c0_ *= inv;
      u_.resize(size_t(P * rd));
      v_.resize(size_t(P * rd));
      for (int64_t p = 0; p < P; ++p)
        for (int64_t i = 0; i < half; ++i) {
          const size_t t = size_t(p * half + i);
          u_[size_t(p * rd + 2 * i)] = cq[t];
          u_[size_t(p * rd + 2 * i + 1)] = sq[t];
          // M = G(y) K_i with G = [[c, -s], [s, c]].
          const double c = ck[t], s = sk[t];
          const double* B = &K[size_t(i * 4)];
          const double m00 = c * B[0] - s * B[2], m01 = c * B[1] - s * B[3];
          const double m10 = s * B[0] + c * B[2], m11 = s * B[1] + c * B[3];
          v_[size_t(p * rd + 2 * i)] = m00 + m11;
          v_[size_t(p * rd + 2 * i + 1)] = m10 - m01;
        }
      break;
    }
    case Family::bias: {
      views_ = o.heads;
      relative_ = enc.bias_is_relative();
      if (relative_) {
        // b_h(x, y) = f_h(x - y): f_h(d) for d >= 0 from b_h(d, 0), for d < 0 from b_h(0, -d).
        const int64_t zero[1] = {0};
        std::vector<double> ahead(size_t(o.heads * P)), behind(size_t(o.heads * P));
        enc.bias(pos, std::span<const int64_t>(zero, 1), o.heads, ahead.data());
        enc.bias(std::span<const int64_t>(zero, 1), pos, o.heads, behind.data());
        const int64_t W = 2 * P - 1;
        bias_.resize(size_t(o.heads * W));
        for (int64_t h = 0; h < o.heads; ++h)
          for (int64_t d = 0; d < P; ++d) {
            bias_[size_t(h * W + (P - 1) + d)] = ahead[size_t(h * P + d)];
            bias_[size_t(h * W + (P - 1) - d)] = behind[size_t(h * P + d)];
          }
      } else {
        bias_.resize(size_t(o.heads * P * P));
        enc.bias(pos, pos, o.heads, bias_.data());
      }
      break;
    }
  }
}

double Similarity::operator()(int64_t x, int64_t y, int64_t view) const {
  switch (family_) {
    case Family::additive:
      return dot(&u_[size_t(x * width_)], &u_[size_t(y * width_)], width_);
    case Family::rotary:
      return dot(&u_[size_t(x * width_)], &v_[size_t(y * width_)], width_) + c0_;
    case Family::bias:
      if (relative_) return bias_[size_t(view * (2 * positions_ - 1) + (positions_ - 1) + x - y)];
      return bias_[size_t((view * positions_ + x) * positions_ + y)];
  }
  return 0;
}

void Similarity::diagonal(int64_t m, int64_t x0, int64_t x1, int64_t view, double* out) const {
  for (int64_t x = x0; x < x1; ++x) out[x - x0] = (*this)(x, x + m, view);
}

const double* Similarity::additive_table() const {
  return family_ == Family::additive ? u_.data() : nullptr;
}

}  // namespace posbench
