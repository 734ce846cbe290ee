#pragma once
// Grids in configs. An encoder entry or an experiment may carry
//   "sweep": {"base": [10000, 500000], "scaling.factor": [2, 4, 8]}
// the cartesian product of its lists (here 6 points); a dotted name reaches into nested params
// ("scaling.factor" sets params.scaling.factor, keeping the rest of params.scaling). Each point
// becomes an ordinary entry before any validation (config.cpp), so every scheme and experiment
// works unchanged; its label names its values: "rope[base=5e5,scaling.factor=4]", or the entry's
// label template with "{name}" replaced ("rope-{base}" -> "rope-5e5").
//
// Names are taken in sorted order (nlohmann::json keeps object keys sorted), the last one
// varying fastest. Numbers in labels are written compactly by value_text().

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/error.h"

namespace posbench {

// More points than this in one sweep are refused (a typo like 1e6 values, not a study).
inline constexpr size_t kMaxSweepPoints = 100000;

struct SweepPoint {
  nlohmann::json values = nlohmann::json::object();  // dotted name -> value at this point
  std::vector<size_t> index;  // per name (sorted order): which element of its list
  std::string text;           // "base=5e5,scaling.factor=4" ("" for the only point of no sweep)
};

// The points of `sweep` (given at `path`, e.g. "experiments[0].encoders[1].sweep"). Problems
// (not an object, an empty or non-list value, an empty name or one part of a dotted name empty,
// too many points) go to `diag` and give no points.
std::vector<SweepPoint> sweep_points(const nlohmann::json& sweep, const std::string& path,
                                     Diagnostics& diag);

// `params` with the point's values set; a dotted name creates (or descends into) the nested
// objects it names. A non-object `params` is returned unchanged (its own check reports it).
nlohmann::json apply_point(nlohmann::json params, const SweepPoint& point);

// A value as a label shows it. Numbers: the shorter of the shortest round-trip decimal and the
// same in "<mantissa>e<exponent>" form, the decimal on a tie (500000 -> 5e5, 10000 -> 1e4,
// 4096 -> 4096, 0.5 -> 0.5, 0.0001 -> 1e-4); strings bare; anything else as compact JSON.
std::string value_text(const nlohmann::json& value);

// The label of a point: `templ` with each "{name}" replaced by the value at the point when the
// template holds one, else "<stem>[<point.text>]". A "{name}" that is not swept is a problem at
// `label_path`.
std::string point_label(const std::string& stem, const std::string& templ, const SweepPoint& point,
                        const std::string& label_path, Diagnostics& diag);

// Where a problem found in the params of a point lies: one at (or inside) a swept value,
// "<params_path>.scaling.factor", moves to where that value was written,
// "<sweep_path>["scaling.factor"][2]"; others keep their path.
Problem locate_point_problem(const Problem& p, const std::string& params_path,
                             const std::string& sweep_path, const SweepPoint& point);

// The problems of the points of one entry, each once, saying which points it occurs at:
// "at rope[base=-1,scaling.factor=2] and rope[base=-1,scaling.factor=4]: got -1, ...", or as
// found when it occurs at every point (it does not depend on the point). `problems[i]` are
// the problems of point i (located), `names[i]` its name; order: first occurrence.
std::vector<Problem> merge_point_problems(const std::vector<std::vector<Problem>>& problems,
                                          const std::vector<std::string>& names);

}  // namespace posbench
