// learned — a trainable absolute position table (Gehring et al. 2017; BERT, GPT-2):
//   PE(p) = W[p, :],  W: [max_len, d].
// No training happens here: W is either drawn at random, as at initialisation, or loaded.
//   init "normal": W[r, c] = std * z_k, k = r * d + c, where z_0, z_1, ... are the N(0, 1)
//                  draws of posbench::Rng(seed, "learned/table") (row-major). d is only known
//                  at call time, so the table is generated on first use for each d and cached;
//                  it is the same for the same (seed, max_len, d, std).
//   init "file"  : W is read from `path`, a .npy of float32 or float64 with shape
//                  [max_len, d] (its header checked at construction, its data read by load();
//                  d must equal the dim it is used with).
// Positions p < 0 are never served (UnsupportedPosition). For p >= max_len, `out_of_range`:
//   "error"       : UnsupportedPosition naming the position and the table range.
//   "clamp"       : PE(p) = W[max_len - 1].
//   "interpolate" : per call, with P = the largest position requested in that call:
//                   if P < max_len, positions are used as they are (PE(p) = W[p]);
//                   otherwise every position of the call is scaled into [0, max_len - 1],
//                     p' = p * (max_len - 1) / P,   lo = floor(p'),  hi = min(lo + 1, max_len - 1),
//                     PE(p) = (1 - (p' - lo)) * W[lo] + (p' - lo) * W[hi]
//                   (position interpolation; note the result for a given p depends on the other
//                   positions in the same call, since P sets the scale; p = P maps to the last
//                   row exactly).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/npy.h"
#include "encoders/registry.h"
#include "encoders/rng.h"
#include "encoders/weight_init.h"

namespace posbench {
namespace {

enum class OutOfRange { error, clamp, interpolate };

class Learned final : public Encoder {
 public:
  explicit Learned(const Params& p)
      : max_len_(p.integer("max_len")),
        std_(p.number("std")),
        seed_(uint64_t(p.integer("seed"))),
        from_file_(p.string("init") == "file") {
    const std::string policy = p.string("out_of_range");
    policy_ = policy == "clamp"         ? OutOfRange::clamp
              : policy == "interpolate" ? OutOfRange::interpolate
                                        : OutOfRange::error;
    const std::optional<std::string> path = init_file_path(
        p, "a .npy file of shape [max_len, d] (max_len = " + std::to_string(max_len_) + ")");
    if (!path) return;
    path_ = *path;
    // The header only: shapes and sizes are checked now, the table is read by load().
    file_header_ = read_npy_header_param(path_);
    const std::vector<int64_t>& shape = file_header_.shape;
    if (shape.size() != 2)
      throw UserError("path", path_ + ": has shape " + npy_shape_text(shape) +
                                  ", expected a 2-D table of shape (max_len, d) = (" +
                                  std::to_string(max_len_) + ", d)");
    if (shape[0] != max_len_)
      throw UserError("path", path_ + ": has shape " + npy_shape_text(shape) + " with " +
                                  std::to_string(shape[0]) + " rows, but max_len is " +
                                  std::to_string(max_len_) + "; expected shape (" +
                                  std::to_string(max_len_) + ", d)");
    file_dim_ = shape[1];
  }

  Family family() const override { return Family::additive; }

  void check_shape(int64_t dim, int64_t) const override {
    if (dim < 1) throw UserError("", "learned needs dim >= 1; got " + std::to_string(dim));
    if (!(CheckedSize(max_len_) * dim).as_int64())
      throw UserError("max_len", "max_len " + std::to_string(max_len_) + " x dim " +
                                     std::to_string(dim) +
                                     " entries overflow; expected a table that fits in memory");
    if (from_file_ && dim != file_dim_)
      throw UserError("path", path_ + ": table has d = " + std::to_string(file_dim_) +
                                  " columns but the model dim is " + std::to_string(dim) +
                                  "; expected shape (" + std::to_string(max_len_) + ", " +
                                  std::to_string(dim) + ")");
  }

  // The table [max_len, d] as float64; from a file, also the buffer it is read into.
  uint64_t memory_bytes(int64_t dim, int64_t) const override {
    return from_file_ ? loaded_npy_bytes(file_header_)
                      : (CheckedSize(max_len_) * dim * 8).saturated();
  }

  void load() const override {
    if (from_file_) file_table();
  }

  void additive_table(std::span<const int64_t> positions, int64_t dim, double* out) const override {
    check_shape(dim, 1);
    if (positions.empty()) return;
    const std::shared_ptr<const std::vector<double>> table = table_for(dim);
    const double* w = table->data();
    const int64_t last = max_len_ - 1;
    int64_t largest = 0;
    for (int64_t p : positions) {
      if (p < 0)
        throw UnsupportedPosition("learned: position " + std::to_string(p) +
                                  " is negative; the table covers [0, " + std::to_string(max_len_) +
                                  ")");
      if (p > last && policy_ == OutOfRange::error)
        throw UnsupportedPosition("learned: position " + std::to_string(p) +
                                  " is outside the table [0, " + std::to_string(max_len_) +
                                  ") (out_of_range = \"error\")");
      largest = std::max(largest, p);
    }
    const bool scale = policy_ == OutOfRange::interpolate && largest > last;
    for (size_t t = 0; t < positions.size(); ++t) {
      double* row = out + int64_t(t) * dim;
      const int64_t p = positions[t];
      if (!scale) {
        const double* src = w + std::min(p, last) * dim;  // clamp (a no-op when p <= last)
        std::copy(src, src + dim, row);
        continue;
      }
      // p * (max_len - 1) is exact in double up to 2^53, so p = largest gives exactly `last`.
      const double scaled = double(p) * double(last) / double(largest);
      const int64_t lo = std::min(int64_t(std::floor(scaled)), last);
      const int64_t hi = std::min(lo + 1, last);
      const double frac = scaled - double(lo);
      const double* a = w + lo * dim;
      const double* b = w + hi * dim;
      for (int64_t c = 0; c < dim; ++c) row[c] = (1.0 - frac) * a[c] + frac * b[c];
    }
  }

 private:
  std::shared_ptr<const std::vector<double>> file_table() const {
    return file_table_.get([&] { return read_checked_npy_param(path_, file_header_).as_double(); });
  }

  std::shared_ptr<const std::vector<double>> table_for(int64_t dim) const {
    if (from_file_) return file_table();
    return tables_.get(
        dim, [&] { return Rng(seed_, "learned/table").normal_vector(max_len_ * dim, std_); });
  }

  int64_t max_len_;
  double std_;
  uint64_t seed_;
  bool from_file_;
  OutOfRange policy_ = OutOfRange::error;
  std::string path_;
  NpyHeader file_header_;
  int64_t file_dim_ = 0;
  LoadedOnce<std::vector<double>> file_table_;
  PerWidthCache<std::vector<double>> tables_;
};

const EncoderRegistration kRegistration{{
    .name = "learned",
    .family = Family::additive,
    .description = "learned absolute position table W[max_len, d], random or from a .npy file",
    .version = 1,
    .params =
        {
            ParamSpec::integer("max_len", nullptr, "rows of the table: positions [0, max_len)")
                .mandatory()
                .at_least(1),
            ParamSpec::choice("init", "normal", {"normal", "file"},
                              "normal: W = std * N(0, 1) draws from seed; file: W read from path"),
            ParamSpec::number("std", 0.02, "standard deviation of the normal init").above(0),
            ParamSpec::integer("seed", 0, "seed of the normal init (stream \"learned/table\")")
                .at_least(0),
            ParamSpec::path("path",
                            ".npy table (float32/float64) of shape [max_len, d]; required when "
                            "init = \"file\""),
            ParamSpec::choice("out_of_range", "error", {"error", "clamp", "interpolate"},
                              "position >= max_len: error (unsupported), clamp (last row), or "
                              "interpolate (scale the call's positions into [0, max_len - 1])"),
        },
    .factory = [](const Params& p) { return std::make_unique<Learned>(p); },
}};

}  // namespace
}  // namespace posbench
