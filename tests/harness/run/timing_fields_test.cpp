// The timing and provenance fields of a results file (harness/run/timing_fields.h): skipped by
// the comparison, every other value compared exactly.
#include "harness/run/timing_fields.h"

#include <gtest/gtest.h>

namespace posbench {
namespace {

using nlohmann::json;

json doc() {
  return json::parse(R"({
    "schema_version": 6, "posbench_version": "0.1.0", "context": {"host": "a"}, "threads": 2,
    "max_memory_bytes": 1, "total_wall_seconds": 1.5, "unit_provenance": {"x": {"host": "a"}},
    "units": ["x"],
    "experiments": [
      {"type": "position_probe", "wall_seconds": 0.1, "hosts": ["a"], "extra": {"k": 1},
       "encoders": [{"metrics": {"r2": {"value": 0.5}}, "extra": {"e": 1}}]},
      {"type": "speed", "wall_seconds": 0.2, "hosts": ["a"], "extra": {"probes": [1]},
       "encoders": [{"metrics": {"table_simd_t1_median_ms": {"value": 0.3},
                                 "table_simd_t1_max_abs_error": {"value": 1e-7}},
                     "extra": {"benchmarks": [1]}, "status": "ok"}]}],
    "seed_summaries": [
      {"type": "speed", "encoders": [{"metrics": [{"metric": "a_median_ms", "mean": 1},
                                                  {"metric": "a_max_abs_error", "mean": 2}]}]}]
  })");
}

TEST(TimingFields, TheListedFieldsOnly) {
  const json d = doc();
  for (const std::vector<std::string>& p : std::vector<std::vector<std::string>>{
           {"context"},
           {"context", "host"},
           {"threads"},
           {"max_memory_bytes"},
           {"total_wall_seconds"},
           {"posbench_version"},
           {"unit_provenance"},
           {"experiments", "0", "wall_seconds"},
           {"experiments", "0", "hosts"},
           {"experiments", "1", "extra"},
           {"experiments", "1", "encoders", "0", "extra"},
           {"experiments", "1", "encoders", "0", "curves"},
           {"experiments", "1", "encoders", "0", "metrics", "table_simd_t1_median_ms"},
           {"seed_summaries", "0", "host"},
           {"seed_summaries", "0", "encoders", "0", "metrics", "0"}})
    EXPECT_TRUE(is_timing_or_provenance(p, d)) << json(p).dump();
  for (const std::vector<std::string>& p : std::vector<std::vector<std::string>>{
           {"schema_version"},
           {"units"},
           {"experiments", "0", "extra"},
           {"experiments", "0", "encoders", "0", "extra"},
           {"experiments", "0", "encoders", "0", "curves"},
           {"experiments", "0", "encoders", "0", "metrics", "r2"},
           {"experiments", "1", "encoders", "0", "metrics", "table_simd_t1_max_abs_error"},
           {"experiments", "1", "encoders", "0", "status"},
           {"seed_summaries", "0", "encoders", "0", "metrics", "1"}})
    EXPECT_FALSE(is_timing_or_provenance(p, d)) << json(p).dump();
}

TEST(TimingFields, DifferencesSkipTimingsAndNameTheRest) {
  const json a = doc();
  json b = a;
  b["context"]["host"] = "b";
  b["total_wall_seconds"] = 9;
  b["experiments"][1]["encoders"][0]["metrics"]["table_simd_t1_median_ms"]["value"] = 0.9;
  b["seed_summaries"][0]["encoders"][0]["metrics"][0]["mean"] = 5;
  b["experiments"][0]["hosts"] = json::array({"a", "b"});
  EXPECT_TRUE(non_timing_differences(a, b).empty());
  b["experiments"][0]["encoders"][0]["metrics"]["r2"]["value"] = 0.5000000000000001;
  b["experiments"][1]["encoders"][0]["metrics"]["table_simd_t1_max_abs_error"]["value"] = 2e-7;
  b["units"].push_back("y");
  const auto d = non_timing_differences(a, b);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "experiments[0].encoders[0].metrics.r2.value: 0.5 vs 0.5000000000000001");
  EXPECT_EQ(d[1],
            "experiments[1].encoders[0].metrics.table_simd_t1_max_abs_error.value: 1e-07 vs 2e-07");
  EXPECT_EQ(d[2], "units: 1 vs 2 elements");
  // An integer and a float of one value are equal.
  EXPECT_TRUE(non_timing_differences(json{{"x", 5}}, json{{"x", 5.0}}).empty());
  EXPECT_EQ(non_timing_differences(json{{"x", 5}}, json::object()),
            std::vector<std::string>{"x: only in the first"});
}

}  // namespace
}  // namespace posbench
