// fire — Li et al. 2023, "Functional Interpolation for Relative Positions Improves Long Context
// Transformers" (FIRE, eq. 3-5): a learned function of the normalised, log-transformed distance,
//   b_h(i, j) = f_theta( psi(i - j) / psi(max(i, L_thr)) )_h,     psi(x) = ln(c |x| + 1),
// for a query at position i and a key at position j, with
//   f_theta(x) = W2 relu(W1 x + b1) + b2,   W1, b1: [hidden],  W2: [heads, hidden],  b2: [heads]
// (an MLP 1 -> hidden -> heads with ReLU; the paper uses hidden = 32 and learns c and L_thr too).
// Dividing by psi(max(i, L_thr)) maps every distance of a query into [0, 1] once i > L_thr
// (progressive interpolation); L_thr >= 1 keeps the denominator positive (i = 0, L_thr = 0 would
// divide by ln 1 = 0).
// The paper is causal (j <= i; keys after the query are masked). For j > i posbench evaluates the
// same formula, whose psi takes |i - j|: b_h(i, j) = f_theta(psi(|i - j|) / psi(max(i, L_thr))),
// so a key k positions after the query gets the value of a key k positions before it.
// b depends on i itself through the denominator, so the bias is not relative.
// Weights:
//   init "uniform" (default): PyTorch's nn.Linear default init, drawn in this order from
//     posbench::Rng(seed, "fire/mlp") with u = uniform() in [0, 1) mapped to U(-k, k) = k(2u - 1):
//       W1[0..hidden), b1[0..hidden)            with k = 1            (fan_in 1)
//       W2 row-major [heads, hidden], b2[heads] with k = 1/sqrt(hidden) (fan_in hidden)
//     heads is known only at call time: the weights are built on first use per heads and cached
//     (W1 and b1 do not depend on heads).
//   init "file": `path` is a directory holding w1.npy ([hidden] or [hidden, 1], as PyTorch's
//     Linear(1, hidden).weight), b1.npy [hidden], w2.npy [heads, hidden], b2.npy [heads]
//     (float32 or float64); `hidden` must equal the files' hidden and heads the model's. Their
//     headers are checked at construction, their data read by load().
#include <algorithm>
#include <cmath>
#include <filesystem>
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

struct Mlp {
  std::vector<double> w1, b1, w2, b2;  // [hidden], [hidden], [heads, hidden], [heads]
};

class Fire final : public Encoder {
 public:
  explicit Fire(const Params& p)
      : c_(p.number("c")),
        l_thr_(p.number("L_thr")),
        hidden_(p.integer("hidden")),
        seed_(uint64_t(p.integer("seed"))),
        from_file_(p.string("init") == "file") {
    const std::optional<std::string> path =
        init_file_path(p, "a directory with w1.npy, b1.npy, w2.npy, b2.npy");
    if (!path) return;
    dir_ = *path;
    if (!std::filesystem::is_directory(dir_))
      throw UserError("path", dir_ +
                                  " is not a directory; expected a directory with w1.npy "
                                  "[hidden], b1.npy [hidden], w2.npy [heads, hidden], b2.npy "
                                  "[heads]");
    // The headers only: shapes are checked now, the weights are read by load().
    for (int k = 0; k < 4; ++k) headers_[k] = read_npy_header_param(file(k));
    const NpyHeader &w1 = headers_[0], &b1 = headers_[1], &w2 = headers_[2], &b2 = headers_[3];
    const bool w1_ok = (w1.shape.size() == 1 && w1.shape[0] == hidden_) ||
                       (w1.shape.size() == 2 && w1.shape[0] == hidden_ && w1.shape[1] == 1);
    if (!w1_ok) {
      // Name `hidden` when only the width disagrees, `path` when the file is malformed.
      const bool width_only = (w1.shape.size() == 1 || (w1.shape.size() == 2 && w1.shape[1] == 1));
      throw UserError(
          width_only ? "hidden" : "path",
          dir_ + "/w1.npy has shape " + npy_shape_text(w1.shape) +
              ", expected (hidden,) or (hidden, 1) with hidden = " + std::to_string(hidden_) +
              (width_only ? " (set hidden to the files' width)" : ""));
    }
    expect_shape(b1, "b1.npy", {hidden_}, "(hidden,)");
    if (w2.shape.size() != 2 || w2.shape[1] != hidden_)
      throw UserError("path",
                      dir_ + "/w2.npy has shape " + npy_shape_text(w2.shape) +
                          ", expected (heads, hidden) with hidden = " + std::to_string(hidden_));
    file_heads_ = w2.shape[0];
    expect_shape(b2, "b2.npy", {file_heads_}, "(heads,) with heads = w2.npy's rows");
  }

  Family family() const override { return Family::bias; }

  void check_shape(int64_t, int64_t heads) const override {
    if (heads <= 0) throw UserError("", "fire needs heads >= 1; got " + std::to_string(heads));
    if (from_file_ && heads != file_heads_)
      throw UserError("path", dir_ + ": w2.npy/b2.npy have " + std::to_string(file_heads_) +
                                  " heads but the model has " + std::to_string(heads) +
                                  "; expected w2.npy of shape (" + std::to_string(heads) + ", " +
                                  std::to_string(hidden_) + ")");
  }

  // The MLP's weights as float64; from files, also the buffers they are read into.
  uint64_t memory_bytes(int64_t, int64_t heads) const override {
    if (!from_file_)  // W1, b1 [hidden]; W2 [heads, hidden], b2 [heads]
      return (CheckedSize(hidden_) * 2 * 8 + CheckedSize(heads) * (CheckedSize(hidden_) + 1) * 8)
          .saturated();
    CheckedSize total = 0;
    for (const NpyHeader& h : headers_) total += loaded_npy_bytes(h);
    return total.saturated();
  }

  void load() const override {
    if (from_file_) file_mlp();
  }

  void bias(std::span<const int64_t> q_positions, std::span<const int64_t> k_positions,
            int64_t heads, double* out) const override {
    check_shape(0, heads);
    const std::shared_ptr<const Mlp> mlp = mlp_for(heads);
    const size_t nq = q_positions.size(), nk = k_positions.size();
    std::vector<double> act(hidden_);
    for (size_t i = 0; i < nq; ++i) {
      const double qi = double(q_positions[i]);
      const double denom = psi(std::max(qi, l_thr_));
      for (size_t j = 0; j < nk; ++j) {
        const double x = psi(qi - double(k_positions[j])) / denom;
        for (int64_t u = 0; u < hidden_; ++u) act[u] = std::max(0.0, mlp->w1[u] * x + mlp->b1[u]);
        for (int64_t h = 0; h < heads; ++h) {
          const double* w2 = &mlp->w2[h * hidden_];
          double s = mlp->b2[h];
          for (int64_t u = 0; u < hidden_; ++u) s += w2[u] * act[u];
          out[(h * nq + i) * nk + j] = s;
        }
      }
    }
  }

 private:
  double psi(double x) const { return std::log1p(c_ * std::abs(x)); }

  // w1.npy, b1.npy, w2.npy, b2.npy
  std::filesystem::path file(int k) const {
    static const char* const kNames[4] = {"w1.npy", "b1.npy", "w2.npy", "b2.npy"};
    return std::filesystem::path(dir_) / kNames[k];
  }

  std::shared_ptr<const Mlp> file_mlp() const {
    return file_mlp_.get([&] {
      std::vector<double> w[4];
      for (int k = 0; k < 4; ++k) w[k] = read_checked_npy_param(file(k), headers_[k]).as_double();
      return Mlp{std::move(w[0]), std::move(w[1]), std::move(w[2]), std::move(w[3])};
    });
  }

  void expect_shape(const NpyHeader& a, const char* name, const std::vector<int64_t>& shape,
                    const std::string& expected) const {
    if (a.shape != shape)
      throw UserError("path", dir_ + "/" + name + " has shape " + npy_shape_text(a.shape) +
                                  ", expected " + expected + " = " + npy_shape_text(shape));
  }

  std::shared_ptr<const Mlp> mlp_for(int64_t heads) const {
    if (from_file_) return file_mlp();
    return mlps_.get(heads, [&] {
      Rng rng(seed_, "fire/mlp");
      auto draw = [&](int64_t n, double k) {
        std::vector<double> v(n);
        for (auto& x : v) x = k * (2.0 * rng.uniform() - 1.0);
        return v;
      };
      const double k2 = 1.0 / std::sqrt(double(hidden_));
      Mlp m;
      m.w1 = draw(hidden_, 1.0);
      m.b1 = draw(hidden_, 1.0);
      m.w2 = draw(heads * hidden_, k2);
      m.b2 = draw(heads, k2);
      return m;
    });
  }

  double c_, l_thr_;
  int64_t hidden_;
  uint64_t seed_;
  bool from_file_;
  std::string dir_;
  int64_t file_heads_ = 0;
  NpyHeader headers_[4];  // of w1, b1, w2, b2 (see file())
  LoadedOnce<Mlp> file_mlp_;
  PerWidthCache<Mlp> mlps_;
};

const EncoderRegistration kRegistration{{
    .name = "fire",
    .family = Family::bias,
    .description = "FIRE: MLP of the normalised log distance psi(i-j)/psi(max(i, L_thr)) (Li et "
                   "al. 2023)",
    .version = 1,
    .params =
        {
            ParamSpec::number("c", 1.0, "psi(x) = ln(c |x| + 1)").above(0),
            ParamSpec::number("L_thr", 512.0,
                              "threshold: distances are divided by psi(max(i, L_thr))")
                .at_least(1),
            ParamSpec::integer("hidden", 32, "hidden units of the MLP 1 -> hidden -> heads")
                .at_least(1)
                .at_most(1 << 16),
            ParamSpec::choice("init", "uniform", {"uniform", "file"},
                              "uniform: PyTorch's nn.Linear init from seed; file: weights from "
                              "the .npy files in path"),
            ParamSpec::integer("seed", 0, "seed of the uniform init (stream \"fire/mlp\")")
                .at_least(0),
            ParamSpec::path("path",
                            "directory with w1.npy [hidden], b1.npy [hidden], w2.npy [heads, "
                            "hidden], b2.npy [heads]; required when init = \"file\""),
        },
    .factory = [](const Params& p) { return std::make_unique<Fire>(p); },
}};

}  // namespace
}  // namespace posbench
