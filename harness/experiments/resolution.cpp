// resolution — can positions be told apart by their encodings? Over p in [0, `positions`) with
//   additive : e_p = PE(p)                                 [dim]
//   rotary   : e_p = R(p) u, u a seeded unit vector        [dim]  (stream "resolution/u")
//   bias     : not applicable, as in position_probe: b_h(i, j) belongs to a query-key pair, so
//              there is no encoding of a position alone to compare.
// report, with L2 distances d(p, q) = ||e_p - e_q|| over all pairs p < q (float64):
//   min_distance_ratio  : min d / mean d (0: two positions collide; the scale of the encoding
//                         cancels, so schemes are comparable)
//   nearest_is_self     : nearest-neighbour decoding accuracy: the fraction of p whose own
//                         encoding is strictly the nearest to e_p, i.e. every other e_q is
//                         farther than a rounding tolerance, d(p, q) > 1e-6 mean d (then
//                         "which position is nearest to e_p?" answers p). 1 for any table
//                         without collisions; a constant table scores 0.
//   nearest_is_adjacent : the fraction of p whose nearest other encoding is p - 1 or p + 1: a
//                         neighbour must be strictly nearer than every other position (a tie
//                         with a non-neighbour counts as a miss; p - 1 and p + 1 tying with each
//                         other is a hit). It measures locality (is the encoding smooth in p?),
//                         not distinguishability: a well-separated random table scores about
//                         2/positions, an equidistant (one-hot) table 0, a ramp e_p = p v 1.
// The curve nearest_neighbour_offset gives q - p for the nearest q (ties to the lower q).
// Distances come from the Gram matrix of the column-centred encodings (centring leaves the
// distances unchanged and avoids cancellation), in fixed blocks of rows so the numbers are
// identical for any thread count.
// (For additive schemes with rows of equal norm and for rotary schemes, minimum L2 distance and
// maximum cosine similarity pick the same neighbour.)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "encoders/rng.h"
#include "harness/analysis/position_features.h"

namespace posbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kBlock = 64;

class Resolution final : public Experiment {
 public:
  explicit Resolution(const Params& p)
      : dim_(p.integer("dim")), heads_(p.integer("heads")), positions_(p.integer("positions")) {}

  void check(const EncoderInstance& enc) const override { enc.encoder->check_shape(dim_, heads_); }

  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    if (enc.family == Family::bias) return 0;  // not applicable
    const CheckedSize n = positions_;
    const CheckedSize width = dim_;
    const CheckedSize threads = std::max(1, omp_get_max_threads());
    // The encodings (and their centred copy), one [kBlock, n] Gram block per thread, per-row
    // results.
    return (n * width * 2 * 8 + threads * kBlock * n * 8 + n * 8 * 8).saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    EncoderOutcome out;
    if (enc.family == Family::bias) {
      // The same answer as position_probe: there is nothing per position to compare.
      out.status = Status::not_applicable;
      out.note =
          "bias schemes have no encoding of a position alone: b_h(i, j) belongs to a "
          "query-key pair, so there is no vector of p to tell apart from that of q";
      return out;
    }
    const Encoder& e = *enc.encoder;
    const int64_t n = positions_;
    const std::vector<int64_t> pos = position_range(0, n);
    std::vector<double> u;
    if (enc.family == Family::rotary) u = Rng(ctx.seed, "resolution/u").unit_vector(dim_);
    RowMatrix F = position_encodings(e, pos, dim_, u, n);  // may throw UnsupportedPosition
    // Centre the columns (fixed-order sums).
    for (int64_t c = 0; c < F.cols(); ++c) {
      double mean = 0;
      for (int64_t r = 0; r < n; ++r) mean += F(r, c);
      mean /= double(n);
      for (int64_t r = 0; r < n; ++r) F(r, c) -= mean;
    }
    std::vector<double> sq(n);
    for (int64_t r = 0; r < n; ++r) sq[r] = F.row(r).squaredNorm();

    // Per row p: the nearest other row, whether a neighbour p +- 1 is strictly nearer than
    // every other position, the sum of d(p, q) over q > p, and the closest q > p.
    std::vector<int64_t> nn(n), upper_arg(n, -1);
    std::vector<char> hit(n, 0);
    std::vector<double> nn_dist(n), upper_sum(n, 0.0), upper_min(n, kNaN), adjacent(n, kNaN);
    for_each_dot_block(F, F, kBlock, [&](int64_t r0, const RowMatrix& G) {
      constexpr double kInf = std::numeric_limits<double>::infinity();
      for (int64_t r = 0; r < G.rows(); ++r) {
        const int64_t p = r0 + r;
        double best = kInf, sum = 0, umin = kInf, near = kInf, far = kInf;
        int64_t arg = -1, uarg = -1;
        for (int64_t q = 0; q < n; ++q) {
          if (q == p) continue;
          const double d = std::sqrt(std::max(0.0, sq[p] + sq[q] - 2 * G(r, q)));
          if (d < best) best = d, arg = q;
          if (q == p - 1 || q == p + 1)
            near = std::min(near, d);
          else
            far = std::min(far, d);
          if (q > p) {
            sum += d;
            if (d < umin) umin = d, uarg = q;
          }
        }
        nn[p] = arg, nn_dist[p] = best, upper_sum[p] = sum, hit[p] = near < far;
        if (uarg >= 0) upper_min[p] = umin, upper_arg[p] = uarg;
        if (p + 1 < n) adjacent[p] = std::sqrt(std::max(0.0, sq[p] + sq[p + 1] - 2 * G(r, p + 1)));
      }
    });

    double total = 0, dmin = std::numeric_limits<double>::infinity();
    int64_t pmin = -1, qmin = -1, hits = 0;
    for (int64_t p = 0; p < n; ++p) {
      total += upper_sum[p];
      if (upper_arg[p] >= 0 && upper_min[p] < dmin)
        dmin = upper_min[p], pmin = p, qmin = upper_arg[p];
      hits += hit[p];
    }
    const double mean = total / (double(n) * double(n - 1) / 2);
    const std::string unit = "1";  // encodings are dimensionless
    // Nearest-neighbour decoding: p is recovered when no other encoding is within rounding.
    // Distances from the Gram matrix carry an error up to ~sqrt(eps) = 1.5e-8 of the norms
    // (d^2 = |e_p|^2 + |e_q|^2 - 2 G), so equal rows may come out ~1e-8 apart, not 0.
    const double tol = 1e-6 * mean;
    int64_t self = 0;
    for (int64_t p = 0; p < n; ++p) self += nn_dist[p] > tol;

    out.metrics = {
        // A collision (d = 0) is ratio 0 even when every encoding is the same (mean 0).
        {"min_distance_ratio", dmin == 0 ? 0.0 : dmin / mean, "1"},
        {"nearest_is_self", double(self) / double(n), "1"},
        {"nearest_is_adjacent", double(hits) / double(n), "1"},
        {"min_distance", dmin, unit},
        {"mean_distance", mean, unit},
        {"closest_pair_offset", double(qmin - pmin), "positions"},
    };
    Curve nnd{"nearest_neighbour_distance", "position", "positions", unit, {}, nn_dist};
    Curve nno{"nearest_neighbour_offset", "position", "positions", "positions", {}, {}};
    Curve adj{"adjacent_distance", "position", "positions", unit, {}, {}};
    for (int64_t p = 0; p < n; ++p) {
      nnd.x.push_back(double(p));
      nno.x.push_back(double(p));
      nno.y.push_back(double(nn[p] - p));
      if (p + 1 < n) adj.x.push_back(double(p)), adj.y.push_back(adjacent[p]);
    }
    out.curves = {nnd, nno, adj};
    out.extra["closest_pair"] = {pmin, qmin};
    out.extra["encoding"] =
        enc.family == Family::additive ? "PE(p)" : "R(p) u, u a seeded unit vector";
    out.extra["nearest_is_self"] = "every other encoding farther than 1e-6 * mean distance";
    out.extra["nearest_is_adjacent"] =
        "minimum L2 distance; a hit needs p-1 or p+1 strictly nearer than any other position";
    return out;
  }

  bool encoders_separable() const override { return true; }

  void summarize(const std::vector<EncoderInstance>&, ExperimentResult& r) const override {
    r.summary_columns = {"min_distance_ratio", "nearest_is_self", "nearest_is_adjacent",
                         "min_distance",       "mean_distance",   "closest_pair_offset"};
  }

 private:
  int64_t dim_, heads_, positions_;
};

const ExperimentRegistration kRegistration{{
    .name = "resolution",
    .description = "can positions be told apart? min/mean pairwise L2 distance of encodings, "
                   "nearest-neighbour decoding (nearest_is_self) and locality "
                   "(nearest_is_adjacent); bias schemes: not applicable",
    .params = property_common_params("positions [0, positions) compared pairwise",
                                     "unused by this experiment (one seeded u for rotary)"),
    .metrics =
        {
            {"min_distance_ratio", "1",
             "min over pairs p != q of d(p, q) / mean d (0: two positions collide)",
             "a constant table: 0"},
            {"nearest_is_self", "1",
             "nearest-neighbour decoding accuracy: fraction of p whose every other encoding is "
             "farther than 1e-6 mean d",
             "sinusoidal, rope: 1; a constant table: 0"},
            {"nearest_is_adjacent", "1",
             "locality: fraction of p whose nearest other encoding is p - 1 or p + 1 (strictly "
             "nearer than any other)",
             "a ramp e_p = p v: 1; one-hot rows: 0; a random table: ~2/positions"},
            {"min_distance", "1", "the smallest L2 distance between two encodings", ""},
            {"mean_distance", "1", "the mean L2 distance over pairs p < q", ""},
            {"closest_pair_offset", "positions", "q - p for the closest pair", ""},
        },
    .factory = [](const Params& p) { return std::make_unique<Resolution>(p); },
}};

}  // namespace
}  // namespace posbench
