#include "encoders/encoder.h"

namespace posbench {

const char* to_string(Family family) {
  switch (family) {
    case Family::additive:
      return "additive";
    case Family::rotary:
      return "rotary";
    case Family::bias:
      return "bias";
  }
  return "?";
}

const char* to_string(SinCosLayout layout) {
  switch (layout) {
    case SinCosLayout::sin_cos_interleaved:
      return "sin_cos_interleaved";
    case SinCosLayout::sin_then_cos:
      return "sin_then_cos";
  }
  return "?";
}

// Optional operations: a scheme implements its own family's, the rest say so.
static std::logic_error not_implemented(const char* op, Family family) {
  return std::logic_error(std::string(op) + " is not implemented by a " + to_string(family) +
                          " scheme");
}

uint64_t Encoder::memory_bytes(int64_t, int64_t) const { return 0; }

void Encoder::additive_table(std::span<const int64_t>, int64_t, double*) const {
  throw not_implemented("additive_table", family());
}
int64_t Encoder::rotary_dims(int64_t) const { throw not_implemented("rotary_dims", family()); }
RotaryPairing Encoder::rotary_pairing() const { throw not_implemented("rotary_pairing", family()); }
void Encoder::rotary_coefficients(std::span<const int64_t>, int64_t, const RotaryContext&, double*,
                                  double*) const {
  throw not_implemented("rotary_coefficients", family());
}
void Encoder::bias(std::span<const int64_t>, std::span<const int64_t>, int64_t, double*) const {
  throw not_implemented("bias", family());
}

std::optional<Encoder::AngularForm> Encoder::angular_form(int64_t, const RotaryContext&) const {
  return std::nullopt;
}

std::optional<Encoder::Pretrained> Encoder::pretrained() const { return std::nullopt; }

}  // namespace posbench
