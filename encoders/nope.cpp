// nope — Kazemnejad et al. 2023, "The Impact of Positional Encoding on Length Generalization in
// Transformers": no positional encoding at all (NoPE). A causal decoder can still infer positions
// from the attention mask; posbench measures the encodings themselves, and NoPE contributes none:
//   PE(p) = 0 for every position p,   so   (q + PE(m)) . (k + PE(n)) = q . k.
// Why the additive family: of the three ways position can enter attention (encoders/encoder.h),
// an all-zero table added to the embeddings is the one whose "nothing" is literal, every
// experiment runs on it without a special case, and it is the baseline every scheme is compared
// against. (A rotary "identity" would claim a channel pairing it does not have; a zero bias would
// imply per-head terms.)
// The zeros are -0.0, IEEE 754's exact additive identity: x + (-0.0) == x bit for bit for every
// x (round-to-nearest), including x = -0.0, whereas -0.0 + (+0.0) gives +0.0. So `posbench apply
// nope` returns its input bit-identical. (-0.0 == 0.0 compares equal; printed it shows as -0.)
#include <algorithm>
#include <string>

#include "encoders/registry.h"

namespace posbench {
namespace {

class Nope final : public Encoder {
 public:
  Family family() const override { return Family::additive; }

  void check_shape(int64_t dim, int64_t) const override {
    if (dim < 1) throw UserError("", "nope needs dim >= 1; got " + std::to_string(dim));
  }

  void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const override {
    check_shape(dim, 1);
    std::fill(out, out + positions.size() * size_t(dim), -0.0);
  }
};

const EncoderRegistration kRegistration{{
    .name = "nope",
    .family = Family::additive,
    .description = "no positional encoding: PE(p) = 0, the NoPE baseline (Kazemnejad et al. 2023)",
    .version = 1,
    .params = {},
    .factory = [](const Params&) { return std::make_unique<Nope>(); },
}};

}  // namespace
}  // namespace posbench
