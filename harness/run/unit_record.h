#pragma once
// What a finished unit (harness/run/units.h) leaves: its outcomes as plain structs, in a JSON
// form that reads back to the same structs exactly (doubles round-trip; NaN is null), so a run
// assembled from records read back (run --resume, merge) equals one assembled from memory.
//
// Durable records: `run -o OUT.json` writes each finished unit to OUT.json.units/<id>.json
// atomically (temporary file, fsync, rename), with the config's hash and posbench's version;
// `run --resume` reads them back. The directory is removed once OUT.json is written.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "encoders/experiment.h"

namespace posbench {

struct UnitRecord {
  std::string id;
  // The unit's outcomes (one per encoder of the unit, config order). A separable unit holds
  // run_one()'s outcome, not yet summarized; a unit of all encoders, run_all()'s whole result.
  ExperimentResult result;
  nlohmann::json snapshots;  // the snapshot unit's pictures (null for others)
  // The side files' names were "<artifact_prefix><suffix>"; the prefix of the final results
  // may differ (a part's), so it is kept to rename them.
  std::string artifact_prefix;
  double wall_seconds = 0;
  std::string host;
};

nlohmann::json record_to_json(const UnitRecord& record);
// Throws UserError naming `what` (a file) and the field when the JSON is not a record.
UnitRecord record_from_json(const nlohmann::json& j, const std::string& what);

// The per-unit files of one results file.
class UnitStore {
 public:
  // `output` is the results file; records go to "<output>.units/".
  UnitStore(const std::filesystem::path& output, std::string config_hash, std::string version);
  const std::filesystem::path& dir() const { return dir_; }
  // Writes one record atomically (replacing an older one of the same id).
  void save(const UnitRecord& record) const;
  // Every record in the directory (none if it does not exist). A record of another config or
  // posbench version, or an unreadable one, is a UserError naming the file; files that are not
  // "<id>.json" (an interrupted write's temporary file) are ignored.
  std::map<std::string, UnitRecord> load() const;
  // Removes the directory and everything in it.
  void remove() const;

 private:
  std::filesystem::path dir_;
  std::string hash_, version_;
};

}  // namespace posbench
