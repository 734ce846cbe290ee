// t5 — Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
// Transformer" (§2.1): a learned scalar per (distance bucket, head) added to the logits,
//   b_h(i, j) = T[bucket(j - i), h],   T: [num_buckets, heads],
// with relative_position = memory (key) position j - query position i, and bucket() exactly
// HuggingFace's T5Attention._t5_relative_position_bucket(relative_position, bidirectional,
// num_buckets, max_distance):
//   nb = num_buckets;  ret = 0
//   bidirectional : nb = nb // 2;  ret += nb if rel > 0;  r = |rel|
//   otherwise     : r = -min(rel, 0)          (keys after the query all share bucket 0)
//   max_exact = nb // 2
//   r <  max_exact : bucket = ret + r                                  (one bucket per distance)
//   r >= max_exact : bucket = ret + min(max_exact + trunc(ln(r / max_exact)
//                                        / ln(max_distance / max_exact) * (nb - max_exact)),
//                                       nb - 1)                         (log-spaced, clamped)
// The log branch is evaluated in float32 like HuggingFace (`relative_position.float()`, torch.log
// in float32, the Python-double ln(max_distance / max_exact) rounded to float32) and truncated
// toward zero (`.to(torch.long)`); in float64 the truncation would differ only at distances whose
// bucket is clamped anyway for the usual configurations (checked for 32/128, 16/128, 64/256,
// 128/512 in both modes), but float32 is what HuggingFace computes.
// Parameter constraints (HuggingFace accepts these but then divides by zero): max_exact >= 1,
// i.e. num_buckets >= 4 (bidirectional) or >= 2, and max_distance > max_exact.
// Table init:
//   "normal": T[b, h] = std * z_{b * heads + h}, z the N(0, 1) draws of
//             posbench::Rng(seed, "t5/table") (row-major [num_buckets, heads]); heads is only
//             known at call time, so the table is built on first use per heads and cached. The
//             default std 512^-0.5 is HuggingFace's T5 init (initializer_factor * d_model^-0.5)
//             for d_model = 512 (t5-small).
//   "file"  : T read from `path`, a .npy (float32/float64) of shape [num_buckets, heads], e.g.
//             HuggingFace's `relative_attention_bias.weight`; heads must equal the model's.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/npy.h"
#include "encoders/registry.h"
#include "encoders/rng.h"
#include "encoders/t5_bucket.h"
#include "encoders/weight_init.h"

namespace posbench {
namespace {

class T5 final : public Encoder {
 public:
  explicit T5(const Params& p)
      : num_buckets_(p.integer("num_buckets")),
        max_distance_(p.integer("max_distance")),
        bidirectional_(p.boolean("bidirectional")),
        std_(p.number("std")),
        seed_(uint64_t(p.integer("seed"))),
        from_file_(p.string("init") == "file") {
    const int64_t half = bidirectional_ ? num_buckets_ / 2 : num_buckets_;
    const int64_t max_exact = half / 2;
    if (max_exact < 1)
      throw UserError("num_buckets",
                      "got " + std::to_string(num_buckets_) + ", which leaves no exact bucket" +
                          (bidirectional_ ? " per direction" : "") + "; expected at least " +
                          (bidirectional_ ? "4 (bidirectional)" : "2"));
    if (max_distance_ <= max_exact)
      throw UserError(
          "max_distance",
          "got " + std::to_string(max_distance_) +
              ", expected more than the exact range max_exact = " + std::to_string(max_exact) +
              " (num_buckets " + std::to_string(num_buckets_) +
              (bidirectional_ ? ", bidirectional" : "") + ") so the log buckets have a range");
    const std::optional<std::string> path =
        init_file_path(p, "a .npy table of shape [num_buckets, heads] (num_buckets = " +
                              std::to_string(num_buckets_) + ")");
    if (!path) return;
    path_ = *path;
    // The header only: shapes and sizes are checked now, the table is read by load().
    file_header_ = read_npy_header_param(path_);
    const std::vector<int64_t>& shape = file_header_.shape;
    if (shape.size() != 2 || shape[0] != num_buckets_)
      throw UserError("path", path_ + ": has shape " + npy_shape_text(shape) +
                                  ", expected (num_buckets, heads) = (" +
                                  std::to_string(num_buckets_) + ", heads)");
    file_heads_ = shape[1];
  }

  Family family() const override { return Family::bias; }

  void check_shape(int64_t, int64_t heads) const override {
    if (heads <= 0) throw UserError("", "t5 needs heads >= 1; got " + std::to_string(heads));
    if (from_file_ && heads != file_heads_)
      throw UserError("path", path_ + ": table has " + std::to_string(file_heads_) +
                                  " heads (columns) but the model has " + std::to_string(heads) +
                                  "; expected shape (" + std::to_string(num_buckets_) + ", " +
                                  std::to_string(heads) + ")");
  }

  // The table [num_buckets, heads] as float64; from a file, also the buffer it is read into.
  uint64_t memory_bytes(int64_t, int64_t heads) const override {
    return from_file_ ? loaded_npy_bytes(file_header_)
                      : (CheckedSize(num_buckets_) * heads * 8).saturated();
  }

  void load() const override {
    if (from_file_) file_table();
  }

  bool bias_is_relative() const override { return true; }

  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    check_shape(0, heads);
    const std::shared_ptr<const std::vector<double>> table = table_for(heads);
    const double* T = table->data();
    const size_t nq = q_positions.size(), nk = k_positions.size();
    for (size_t i = 0; i < nq; ++i)
      for (size_t j = 0; j < nk; ++j) {
        const int64_t b = t5_relative_position_bucket(k_positions[j] - q_positions[i],
                                                      bidirectional_, num_buckets_, max_distance_);
        for (int64_t h = 0; h < heads; ++h) out[(h * nq + i) * nk + j] = T[b * heads + h];
      }
  }

 private:
  std::shared_ptr<const std::vector<double>> file_table() const {
    return file_table_.get([&] { return read_checked_npy_param(path_, file_header_).as_double(); });
  }

  std::shared_ptr<const std::vector<double>> table_for(int64_t heads) const {
    if (from_file_) return file_table();
    return tables_.get(
        heads, [&] { return Rng(seed_, "t5/table").normal_vector(num_buckets_ * heads, std_); });
  }

  int64_t num_buckets_, max_distance_;
  bool bidirectional_;
  double std_;
  uint64_t seed_;
  bool from_file_;
  std::string path_;
  NpyHeader file_header_;
  int64_t file_heads_ = 0;
  LoadedOnce<std::vector<double>> file_table_;
  PerWidthCache<std::vector<double>> tables_;
};

const EncoderRegistration kRegistration{{
    .name = "t5",
    .family = Family::bias,
    .description = "T5 relative bias: a [num_buckets, heads] table indexed by the log-bucketed "
                   "distance (Raffel et al. 2020, HuggingFace buckets)",
    .version = 1,
    .params =
        {
            ParamSpec::integer("num_buckets", 32,
                               "rows of the table (split between directions when bidirectional)")
                .at_least(2)
                .at_most(1 << 20),
            ParamSpec::integer("max_distance", 128,
                               "distance at which the log-spaced buckets end (larger ones share "
                               "the last bucket)")
                .at_least(2),
            ParamSpec::boolean("bidirectional", true,
                               "separate buckets for keys before and after the query (encoder); "
                               "false: causal, keys after the query use bucket 0"),
            ParamSpec::choice("init", "normal", {"normal", "file"},
                              "normal: T = std * N(0, 1) draws from seed; file: T read from path"),
            ParamSpec::number("std", 0.04419417382415922,
                              "standard deviation of the normal init (default 512^-0.5, "
                              "HuggingFace's T5 init for d_model 512)")
                .above(0),
            ParamSpec::integer("seed", 0, "seed of the normal init (stream \"t5/table\")")
                .at_least(0),
            ParamSpec::path("path",
                            ".npy table (float32/float64) of shape [num_buckets, heads]; required "
                            "when init = \"file\""),
        },
    .factory = [](const Params& p) { return std::make_unique<T5>(p); },
}};

}  // namespace
}  // namespace posbench
