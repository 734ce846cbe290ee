#pragma once
// The fields of a results file that are timings or provenance: they may differ between two runs
// of one config with the same seed (and between an unsharded run and a merge of its shards)
// while every other value is equal. `posbench compare --exact` and the merge tests skip exactly
// these; results/README.md#timing-and-provenance-fields lists them. The list (JSON paths, "*"
// for any index or key):
//
//   context, threads, max_memory_bytes, total_wall_seconds, posbench_version, unit_provenance
//   experiments[*].wall_seconds, experiments[*].hosts
//   experiments[*] whose type is "speed" (everything it measures is a time or derived from one,
//   except the kernels' errors):
//     .extra, .encoders[*].extra, .encoders[*].curves (GB/s, GFLOP/s over threads),
//     .encoders[*].metrics.<name> unless <name> ends in "_max_abs_error"
//   seed_summaries[*].host
//   seed_summaries[*] whose type is "speed": .encoders[*].metrics[*] unless its "metric" ends
//     in "_max_abs_error"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace posbench {

// Whether the value at `path` (keys and array indices from the document's root, e.g.
// {"experiments", "3", "wall_seconds"}) of the results document `doc` is one of the fields
// above (or inside one).
bool is_timing_or_provenance(const std::vector<std::string>& path, const nlohmann::json& doc);

// Where `a` and `b` differ outside those fields: JSON paths ("experiments[2].encoders[0]
// .metrics.r_squared_train.value: 0.91 vs 0.92"), at most `max` of them; empty when every
// non-timing value is equal. Numbers are compared exactly (an integer and a float of the same
// value are equal).
std::vector<std::string> non_timing_differences(const nlohmann::json& a, const nlohmann::json& b,
                                                size_t max = 20);

}  // namespace posbench
