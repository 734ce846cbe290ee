#pragma once
// A small, bounded picture of one scheme for the figures (`posbench plot`, python/posbench):
// what the experiments' curves do not hold. Written once per distinct scheme of a run into the
// results' top-level `snapshots` (results/README.md, schema 5):
//
//   additive : "table"        PE(p)[c] at <= 128 positions x <= 128 channels
//              "seed_picture" the first two principal components of e_w + PE(p) for a few
//                             random token embeddings e_w ~ N(0, 1)^dim at the table's
//                             positions (the picture this project grew from)
//   rotary   : "angles"       rotation angle of pair i at position p, wrapped to (-pi, pi]
//                             (atan2 of rotary_coefficients), <= 128 positions x <= 128 pairs
//   bias     : "bias"         b_h(i, j) of <= 4 heads at query = key positions 0 .. 63
//                             (contiguous, so a row's softmax over j <= i is exact)
//
// Positions (table, angles): 0 .. N-1 when N <= the bound, else the bound's count evenly spaced
// over 0 .. N-1 (subsampled, never averaged: an average of sinusoids would smear the very stripes
// the heatmap shows). Values are rounded to 4 significant digits (they are for looking at; the
// experiments hold the exact numbers). The bounds keep a scheme's snapshot near 0.35 MB of the
// results' indented JSON (the default suite's seven: 2.4 MB). A position the scheme cannot encode
// (a learned table past max_len) leaves that part out with a "note".

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "encoders/encoder.h"

namespace posbench {

struct SnapshotLimits {
  int64_t max_positions = 128;      // table / angle rows
  int64_t max_channels = 128;       // table columns, angle pairs
  int64_t max_bias_positions = 64;  // bias map side
  int64_t max_bias_heads = 4;       // bias maps (heads 0, ..., heads-1 evenly spaced)
  int64_t seed_tokens = 4;          // random token embeddings in the seed picture
};

struct SnapshotShape {
  int64_t dim = 64;         // embedding width (additive), head width (rotary)
  int64_t heads = 8;        // bias heads
  int64_t positions = 256;  // positions 0 .. positions-1 are sampled
};

// n indices evenly spaced over [0, count) (all of them when count <= n), first and last kept:
// round(k * (count - 1) / (n - 1)).
std::vector<int64_t> evenly_spaced(int64_t count, int64_t n);

// v rounded to `digits` significant decimal digits (0 and non-finite values unchanged).
double round_significant(double v, int digits);

// The snapshot JSON of one scheme (keys above plus "dim", "heads", "positions_sampled_from").
// `seed` seeds the seed picture's token embeddings (stream "snapshot/tokens").
nlohmann::json encoder_snapshot(const Encoder& enc, const SnapshotShape& shape, uint64_t seed,
                                const SnapshotLimits& limits = {});

}  // namespace posbench
