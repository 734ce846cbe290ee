// Unit records (harness/run/unit_record.h): the JSON form reads back to the same structs exactly
// (NaN as null and back), and the durable store refuses units of another config.
#include "harness/run/unit_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/test_util.h"

namespace posbench {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

UnitRecord sample() {
  UnitRecord r;
  r.id = "0123456789abcdef";
  EncoderOutcome o;
  o.label = "rope[base=5e5]";
  o.status = Status::unsupported;
  o.note = "past max_len";
  o.metrics = {{"a", 0.1 + 0.2, "1", "n=8"}, {"b", kNaN, "ns"}};
  o.curves = {{"c", "offset", "positions", "1", {1, 2}, {1.0 / 3, kNaN}}};
  o.extra = {{"k", {1, 2}}};
  r.result.outcomes = {o};
  r.result.extra = {{"machine", "x"}};
  r.result.summary_columns = {"a"};
  r.result.summary_title = "t";
  ConsoleTable t;
  t.title = "T";
  t.columns = {"n=8"};
  t.rows = {"rope"};
  t.cells = {{kNaN}};
  t.notes = {"note"};
  t.significant_digits = 3;
  r.result.tables = {t};
  r.result.side_files = {{"out.0.gbench.json", "{}"}};
  r.artifact_prefix = "out.0";
  r.wall_seconds = 1.25;
  r.host = "node7";
  return r;
}

TEST(UnitRecord, RoundTripsExactly) {
  const UnitRecord a = sample();
  // Through text, as a file holds it.
  const UnitRecord b = record_from_json(json::parse(record_to_json(a).dump()), "f");
  ASSERT_EQ(b.result.outcomes.size(), 1u);
  const EncoderOutcome& o = b.result.outcomes[0];
  EXPECT_EQ(o.label, "rope[base=5e5]");
  EXPECT_EQ(o.status, Status::unsupported);
  EXPECT_EQ(o.note, "past max_len");
  ASSERT_EQ(o.metrics.size(), 2u);
  EXPECT_EQ(o.metrics[0].value, 0.1 + 0.2);  // bit for bit, not 0.3
  EXPECT_EQ(o.metrics[0].at, "n=8");
  EXPECT_TRUE(std::isnan(o.metrics[1].value));
  EXPECT_EQ(o.curves[0].y[0], 1.0 / 3);
  EXPECT_TRUE(std::isnan(o.curves[0].y[1]));
  EXPECT_EQ(o.extra, (json{{"k", {1, 2}}}));
  EXPECT_EQ(b.result.tables[0].significant_digits, 3);
  EXPECT_TRUE(std::isnan(b.result.tables[0].cells[0][0]));
  EXPECT_EQ(b.result.side_files[0].path, "out.0.gbench.json");
  EXPECT_EQ(b.host, "node7");
  EXPECT_EQ(b.wall_seconds, 1.25);
  // And back to the same JSON.
  EXPECT_EQ(record_to_json(b), record_to_json(a));
}

TEST(UnitRecord, MalformedRecordIsAUserErrorNamingTheFile) {
  json j = record_to_json(sample());
  j["outcomes"][0]["status"] = "fine";
  try {
    record_from_json(j, "r.json");
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_TRUE(test::has(e.what(), "r.json: not a posbench unit record")) << e.what();
  }
}

TEST(UnitStore, SavesLoadsAndRefusesAnotherConfig) {
  test::TempDir dir;
  const auto out = dir / "r.json";
  const UnitStore store(out, "hash1", "0.1.0");
  EXPECT_TRUE(store.load().empty());
  store.save(sample());
  // A temporary file of an interrupted write is ignored.
  std::ofstream(dir / "r.json.units" / ".0123.json.tmp-abc") << "{";
  const auto loaded = store.load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(record_to_json(loaded.at("0123456789abcdef")), record_to_json(sample()));
  try {
    UnitStore(out, "hash2", "0.1.0").load();
    FAIL() << "accepted a unit of another config";
  } catch (const UserError& e) {
    EXPECT_TRUE(test::has(e.what(), "a unit of another config")) << e.what();
  }
  store.remove();
  EXPECT_FALSE(std::filesystem::exists(dir / "r.json.units"));
}

}  // namespace
}  // namespace posbench
