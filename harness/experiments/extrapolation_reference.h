#pragma once
// length_extrapolation's pretrained reference and what "unseen" means against it; the formulas
// are in length_extrapolation.cpp's header comment (items 2 to 5). Kept apart from that file
// for its size; nothing else uses it.

#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/experiment.h"

namespace posbench::extrapolation {

// A value counts as unseen when it exceeds the reference's by more than this relative amount:
// (n - 1) theta_i(n) > (L_ref - 1) theta_ref_i (1 + tol); a bias outside [lo - tol m, hi + tol m]
// with m = max(|lo|, |hi|).
inline constexpr double kRelativeTolerance = 1e-9;
inline constexpr const char* kRelativeToleranceText = "1e-9";  // as written in tables

struct Reference {
  std::shared_ptr<const Encoder> encoder;
  std::string name;
  nlohmann::json params;
  int64_t length = 0;    // L_ref
  bool is_self = false;  // the scheme itself (same name and resolved params)
  std::string source;    // how it was chosen, for extra.reference
  nlohmann::json to_json() const;
};

// The entry's explicit reference; else the scheme's pretrained() form (a scaled RoPE without
// its scaling) at its original length, or train_length when the extension names none; else
// the scheme itself at train_length.
Reference resolve_reference(const EncoderInstance& enc, int64_t train_length);

// L_ref of resolve_reference without building anything (for memory estimates).
int64_t reference_length(const EncoderInstance& enc, int64_t train_length);

// theta_i of every rotated pair at sequence length seq_len (Encoder::angular_form, else atan2
// of the coefficients at position 1, which assumes theta_i < pi).
std::vector<double> rotary_thetas(const Encoder& e, int64_t head_dim, int64_t seq_len);

// Pair i of the reference completes a full turn within L_ref when L_ref theta_ref_i >= 2 pi.
std::vector<bool> full_turn(const std::vector<double>& theta_ref, int64_t ref_length);

struct RotaryNovelty {
  int64_t unseen = 0;  // pairs short of a full turn whose angle range exceeds the reference's
  double max_ratio = std::numeric_limits<double>::quiet_NaN();  // over the pairs short of a turn
};

// At length n: among the pairs with !full[i], those with
// (n - 1) theta_n[i] > (L_ref - 1) theta_ref[i] (1 + kRelativeTolerance), and the largest ratio
// (n - 1) theta_n[i] / ((L_ref - 1) theta_ref[i]).
RotaryNovelty rotary_novelty(const std::vector<double>& theta_n, int64_t n,
                             const std::vector<double>& theta_ref, int64_t ref_length,
                             const std::vector<bool>& full);

// Per head, the smallest and largest bias the reference produced over its causal window
// b_h(i, j), 0 <= j <= i < L_ref (one row i = L_ref - 1 when bias_is_relative()).
struct BiasRange {
  std::vector<double> lo, hi;
};
BiasRange bias_range(const Encoder& ref, int64_t heads, int64_t ref_length);

struct BiasNovelty {
  double unseen_fraction = 0;  // of the heads * n values of the row, outside the range
  double range_ratio = std::numeric_limits<double>::quiet_NaN();  // max over heads
};

// The row b_h(n - 1, j), j in [0, n), [heads, n], against the reference's range.
BiasNovelty bias_novelty(const double* row, int64_t heads, int64_t n, const BiasRange& range);

// The console tables of run_all, one column per length: for rotary schemes the unseen pairs,
// the largest angle ratio and the ranking (also written to r.extra["ranking"]); additive
// novelty; bias novelty. Read from r.outcomes (metrics, curves, extra.reference).
void add_reference_tables(const std::vector<EncoderInstance>& encoders,
                          const std::vector<int64_t>& lengths, ExperimentResult& r);

// Sets Metric::at of the per-length metrics of every outcome: "n=<largest length>" (the drift:
// "n=<largest> vs <first>"); counts that do not depend on the length keep "".
void mark_lengths(const std::vector<int64_t>& lengths, ExperimentResult& r);

// The declarations of length_extrapolation's metrics (ExperimentInfo::metrics).
std::vector<MetricSpec> length_extrapolation_metrics();

}  // namespace posbench::extrapolation
