#pragma once
// phi(x, y): the similarity between positions x and y that the property experiments
// (translation_invariance, monotonicity, symmetry, long_term_decay, ...) study, for every
// family, in float64:
//   additive : phi(x, y) = <PE(x), PE(y)>                       (Wang et al., ICLR 2021)
//   rotary   : phi(x, y) = mean_s (R(x) q_s) . (R(y) k_s)       q_s as a query, k_s as a key,
//              with the content pairs (q_s, k_s) [dim] of the `content` model (content.h;
//              default q_s, k_s ~ N(0, I) independent, s in [0, samples))
//   bias     : phi_h(x, y) = b_h(x, y), one "view" per head h
//
// A Similarity precomputes, once, tables over positions [0, positions) so that each phi is a
// dot product (or a lookup):
//   additive : the PE table T [positions, dim];  phi(x, y) = T[x] . T[y]
//   rotary   : the mean over samples is bilinear in the content, so it folds into one pair of
//              tables U, V [positions, d'] (d' = rotated channels), whatever `samples` is:
//                mean_s q_s^T G(x)^T G(y) k_s = sum_i <G_i(x), G_i(y) K_i>_F + c0
//              where G_i(p) = [[c, -s], [s, c]] is pair i's rotation (coefficients from
//              rotary_coefficients, query role for x, key role for y), K_i the 2x2 block of
//              K = mean_s k_s q_s^T on pair i's channels, c0 = sum over pass-through channels
//              of mean_s q_s[c] k_s[c]. So U[x, pair i] = (c_i(x), s_i(x)) and
//              V[y, pair i] = (M00 + M11, M10 - M01) with M = G_i(y) K_i;  phi = U[x].V[y] + c0.
//              (Identical to averaging the per-sample logits, up to rounding.)
//   bias     : bias_is_relative() schemes: one row of distances per head [heads, 2 positions - 1];
//              otherwise the full matrix [heads, positions, positions].
// The encoder is called once per table with all positions (never in parallel chunks: a
// length-dependent scheme's values may depend on the whole call). phi() is thread-safe and
// deterministic, and additive phi(x, y) == phi(y, x) exactly (same products, same order).
//
// A learned table asked for positions past its range throws UnsupportedPosition from the
// constructor; Experiment::run_all reports that as "unsupported".

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "encoders/encoder.h"
#include "encoders/params.h"
#include "harness/analysis/content.h"

namespace posbench {

// ---- common params of the property experiments ----------------------------------------------
// `dim` 128, `heads` 8, `positions` 1024, `samples` 64 (>= 1), with their ranges, and `content`
// (content_param(): the content model of the rotary logits). An experiment
// appends its own: .params = with_common_property_params({ParamSpec::integer("max_offset",...)}).
std::vector<ParamSpec> common_property_params();
std::vector<ParamSpec> with_common_property_params(std::vector<ParamSpec> own);

// The common params read from resolved params.
struct PropertyShape {
  int64_t dim = 128, heads = 8, positions = 1024, samples = 64;
  std::shared_ptr<const ContentModel> content = std::make_shared<const ContentModel>(
      ContentModel::Kind::independent);  // from `content` (file: header checked)
  PropertyShape() = default;
  explicit PropertyShape(const Params& p);
};

// Deterministic dot product of two float64 vectors (fixed summation order, independent of
// threads; dot(a, b, n) == dot(b, a, n) exactly).
double dot(const double* a, const double* b, int64_t n);

// ---- phi ----------------------------------------------------------------------------------------
struct SimilarityOptions {
  int64_t dim = 128;                  // PE width (additive) / head width (rotary); unused for bias
  int64_t heads = 8;                  // bias: number of heads (views)
  int64_t positions = 1024;           // tables cover positions [0, positions)
  int64_t samples = 64;               // rotary: content draws averaged
  uint64_t seed = 0;                  // rotary: content seed (RunContext::seed)
  std::string stream = "similarity";  // rotary: Rng stream name, one per experiment
  // rotary: the content model (null: independent).
  std::shared_ptr<const ContentModel> content = nullptr;
};

// Options from the common params: {dim, heads, positions, samples, seed, stream, content}.
SimilarityOptions similarity_options(const PropertyShape& shape, uint64_t seed, std::string stream);

// Unit of phi for a family: "1" (additive, <PE, PE>) or "logit" (rotary, bias).
const char* phi_unit(Family family);

class Similarity {
 public:
  // Builds the tables. May throw UnsupportedPosition (scheme cannot serve a position).
  Similarity(const Encoder& enc, SimilarityOptions options);

  // Bytes the tables (and the temporaries of the constructor) need; for memory_bytes(). The
  // largest uint64 if the count overflows 64 bits.
  static uint64_t memory_bytes(const Encoder& enc, const SimilarityOptions& options);

  Family family() const { return family_; }
  int64_t positions() const { return positions_; }
  // Independent similarity functions: heads for bias, 1 otherwise.
  int64_t views() const { return views_; }

  // phi(x, y) for view v (the bias head; 0 otherwise); x, y in [0, positions).
  double operator()(int64_t x, int64_t y, int64_t view = 0) const;

  // out[x - x0] = phi(x, x + m, view) for x in [x0, x1)  (x1 + m <= positions).
  void diagonal(int64_t m, int64_t x0, int64_t x1, int64_t view, double* out) const;

  // Additive only: the PE table [positions, dim] (row x is PE(x)); nullptr for other families.
  const double* additive_table() const;

 private:
  Family family_;
  int64_t dim_ = 0, positions_ = 0, views_ = 1;
  int64_t width_ = 0;          // length of the feature rows (dim or d')
  std::vector<double> u_, v_;  // additive: u_ = PE table (v_ unused); rotary: U, V
  double c0_ = 0;              // rotary: pass-through channels' constant
  bool relative_ = false;      // bias: stored as distances
  std::vector<double> bias_;   // bias: [heads, 2P-1] (relative) or [heads, P, P]
};

}  // namespace posbench
