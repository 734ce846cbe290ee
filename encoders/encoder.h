#pragma once
// The one interface every positional scheme implements.
//
// Position enters attention in exactly three ways, and a scheme declares which (its Family):
//   additive : a table PE(p) added to token embeddings,        x_p = e_w + PE(p)
//   rotary   : queries/keys rotated by position,               q_m -> R(m) q_m
//   bias     : a term b_h(i, j) added to attention logits of head h
//
// Each family has one operation, always evaluated in float64 (angles p*theta in double, so
// float32 outputs stay accurate at positions up to 1e7). Reduced-precision storage is done by
// the free functions in harness/analysis/apply.h, which call these and round once at the end.
//
// Shapes are row-major (C order) and given in the comments as [dim0, dim1, ...].

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/error.h"

namespace posbench {

enum class Family { additive, rotary, bias };

const char* to_string(Family family);

// Which side of attention a rotary input is on. RoPE ignores it; xPos scales queries by
// zeta^(+n/scale_base) and keys by zeta^(-m/scale_base), so it must know.
enum class Role { query, key };

// How the rotated channels of a head are paired.
//   half        : pairs (x_i, x_{i + d'/2})   (GPT-NeoX / HuggingFace)
//   interleaved : pairs (x_{2i}, x_{2i+1})    (GPT-J / Meta LLaMA)
enum class RotaryPairing { half, interleaved };

// Everything about a rotary call besides positions and data.
struct RotaryContext {
  Role role = Role::query;
  // Total sequence length the rotation is part of. Only length-dependent schemes (dynamic
  // NTK scaling) read it; 0 means "the largest position + 1 of this call".
  int64_t seq_len = 0;
};

// A request the scheme cannot serve (e.g. a learned table asked for a position past max_len
// with out_of_range = "error"). Experiments report it as "unsupported" rather than failing.
class UnsupportedPosition : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A parameter value the scheme cannot work with (a cross-field check in a factory, init =
// "file" without `path`; a shape check, odd dim for a rotary scheme) is a UserError
// (encoders/error.h) whose path names the parameter relative to the scheme's params ("" when
// the shape itself, dim/heads, is at fault); the harness prefixes the JSON path.

// Which column of an additive table holds the sine and which the cosine of pair i (width d):
//   sin_cos_interleaved : sin at 2i, cos at 2i + 1      [sin0, cos0, sin1, cos1, ...]
//   sin_then_cos        : sin at i,  cos at i + d/2     [sin0 .. sin_{d/2-1}, cos0 .. cos_{d/2-1}]
enum class SinCosLayout { sin_cos_interleaved, sin_then_cos };

const char* to_string(SinCosLayout layout);

class Encoder {
 public:
  virtual ~Encoder() = default;

  // The family is stated twice: here (what the instance's operations implement; kernels and
  // analysis switch on it) and in the scheme's registration, EncoderInfo::family (what
  // experiments, `posbench list` and config checks read without building an instance). The
  // two must agree: EncoderInfo::build (encoders/registry.h), the one way the harness builds
  // an encoder, compares them for every registration, plugins included, and a disagreement is
  // a std::logic_error naming the scheme and where it was registered (a bug in the scheme).
  virtual Family family() const = 0;

  // Throws UserError (path relative to the params) if the scheme cannot be used with this
  // shape. `dim` is the embedding width (additive), the head width (rotary) or unused (bias);
  // `heads` is the number of attention heads, read by bias schemes (one b_h per head). Additive
  // and rotary schemes are the same for every head (the interface has no per-head rotation),
  // so they ignore it.
  virtual void check_shape(int64_t dim, int64_t heads) const = 0;

  // Bytes the scheme itself allocates and keeps to serve calls at this shape: weights drawn
  // per width, a weight file's contents (and the read buffer while converting it), caches.
  // Experiments add it to their own memory_bytes(), so the memory guard refuses a run (or
  // `validate`) before anything is allocated. Computed from parameters and file headers only,
  // with CheckedSize (encoders/checked_size.h): a count that overflows is returned saturated
  // (UINT64_MAX, which the guard refuses), never wrapped. Default: nothing worth counting.
  virtual uint64_t memory_bytes(int64_t dim, int64_t heads) const;

  // Reads what the scheme keeps on disk (weight files), once. Construction reads only file
  // headers (shapes, sizes), so `validate` never loads weights; `run` and `apply` call load()
  // on one thread before the first operation, after the memory guard. Operations load on
  // first use if nobody did. Throws UserError (path relative to the params) if the file changed
  // or holds values it cannot use.
  virtual void load() const {}

  // ---- additive ---------------------------------------------------------------------------
  // out[t, c] = PE(positions[t])[c];  out: [positions.size(), dim].
  virtual void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const;

  // ---- rotary -----------------------------------------------------------------------------
  // Number of leading channels of a head of width head_dim that rotate (d' <= head_dim, even);
  // the rest pass through unchanged.
  virtual int64_t rotary_dims(int64_t head_dim) const;
  virtual RotaryPairing rotary_pairing() const;
  // Rotation coefficients for each position and pair i in [0, d'/2):
  //   cos_out[t, i] = a(t, i) * cos(angle(t, i)),  sin_out[t, i] = a(t, i) * sin(angle(t, i))
  // where a is a magnitude factor (1 for plain RoPE; HuggingFace's attention factor for
  // YaRN/LongRoPE; xPos's zeta power). Pair (x, y) then becomes (x*c - y*s, x*s + y*c).
  // cos_out, sin_out: [positions.size(), rotary_dims(head_dim) / 2].
  virtual void rotary_coefficients(std::span<const int64_t> positions, int64_t head_dim,
                                   const RotaryContext& ctx, double* cos_out,
                                   double* sin_out) const;

  // ---- bias -------------------------------------------------------------------------------
  // out[h, i, j] = b_h(q_positions[i], k_positions[j]);
  // out: [heads, q_positions.size(), k_positions.size()].
  virtual void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
                    int64_t heads, double* out) const;

  // ---- optional closed forms, used only by fast kernels (harness/kernels) -------------------
  // Schemes whose values follow `angle = position * inv_freq[i]` with a position-independent
  // magnitude (sinusoidal; RoPE without length-dependent scaling) describe it here so a
  // vectorised kernel can build tables without calling the scheme per element:
  //   additive : PE columns of pair i are magnitude * sin/cos(p * inv_freq[i]), placed as
  //              `columns` says; inv_freq: [dim / 2]
  //   rotary   : cos_out[t, i] / sin_out[t, i] of rotary_coefficients are
  //              magnitude * cos/sin(p * inv_freq[i]); inv_freq: [d' / 2]. Those outputs are
  //              arrays indexed by pair, so there is no column layout: `columns` stays
  //              std::nullopt. Which channels form pair i is rotary_pairing()'s business.
  // The default (std::nullopt) means "no closed form": kernels fall back to the methods above.
  // Kernels check the form against the scheme's own method at a few positions and take the
  // generic path if it does not reproduce it (or, additive, if `columns` is not stated).
  struct AngularForm {
    std::vector<double> inv_freq;
    double magnitude = 1.0;
    std::optional<SinCosLayout> columns;  // additive: required; rotary: std::nullopt
  };
  virtual std::optional<AngularForm> angular_form(int64_t dim, const RotaryContext& ctx) const;

  // True when b_h(i, j) depends only on i - j (ALiBi, T5, Kerple): kernels may then evaluate
  // one row of distances per head and reuse it instead of materialising [heads, n_q, n_k].
  virtual bool bias_is_relative() const { return false; }

  // ---- optional: the pretrained scheme a context extension starts from ----------------------
  // A scheme that extends the context of a pretrained scheme (RoPE with `scaling`) describes
  // that scheme here: the params of the same registered scheme without the extension (checked
  // like a config's params, defaults may be left out), and the original context length L when
  // the extension defines one, with the parameter it was read from. Experiments that compare
  // with a pretrained reference (length_extrapolation) use it as their default reference.
  // std::nullopt (the default): the scheme extends nothing; it is its own reference.
  struct Pretrained {
    nlohmann::json params = nlohmann::json::object();
    std::optional<int64_t> length;  // L; none when the extension has no original length
    std::string length_from;        // e.g. "scaling.original_max_position_embeddings"
  };
  virtual std::optional<Pretrained> pretrained() const;
};

}  // namespace posbench
