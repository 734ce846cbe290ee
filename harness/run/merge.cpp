#include "harness/run/merge.h"

#include <fmt/format.h>

#include <set>

#include "harness/run/context.h"

namespace posbench {

using nlohmann::json;

json partial_document(const PartialRun& part) {
  const Plan& plan = *part.plan;
  json units = json::array();
  for (const auto& id : part.unit_ids) units.push_back(record_to_json(part.records->at(id)));
  return {{"kind", kPartialKind},
          {"partial_format", kPartialFormat},
          {"posbench_version", posbench_version()},
          {"config_hash", config_hash(plan)},
          {"config", plan.given},
          {"config_dir", part.config_dir},
          {"shard", {{"index", part.shard}, {"count", part.shards}}},
          {"unit_ids", part.unit_ids},
          {"units", units},
          {"context", part.context},
          {"threads", part.threads},
          {"max_memory_bytes", part.max_memory},
          {"total_wall_seconds", part.total_wall_seconds}};
}

bool is_partial_document(const json& doc) {
  return doc.is_object() && doc.value("kind", "") == kPartialKind;
}

Parts read_parts(const std::vector<std::string>& files, const std::string& this_version) {
  Parts out;
  std::string first;
  for (const auto& file : files) try {
      const json doc = read_json_file(file);
      if (!is_partial_document(doc))
        throw UserError(file + ": not a partial results file (no \"kind\": \"" +
                        std::string(kPartialKind) +
                        "\"); expected the -o file of `posbench run CONFIG --shard K/N`");
      if (doc.value("partial_format", 0) != kPartialFormat)
        throw UserError(file + ": " +
                        got_expected(doc.value("partial_format", json()),
                                     "partial_format " + std::to_string(kPartialFormat)));
      const std::string hash = doc.value("config_hash", ""),
                        version = doc.value("posbench_version", "");
      if (first.empty()) {
        first = file;
        out.config = doc.at("config");
        out.config_dir = doc.value("config_dir", "");
        out.config_hash = hash;
        out.posbench_version = version;
        out.context = doc.value("context", json::object());
        out.threads = doc.value("threads", 0);
        out.max_memory = doc.value("max_memory_bytes", uint64_t(0));
      } else if (hash != out.config_hash) {
        throw UserError(file + ": a part of another config (config hash " + hash + ", " + first +
                        ": " + out.config_hash + "); expected parts of one config");
      } else if (version != out.posbench_version) {
        throw UserError(file + ": written by posbench " + version + ", " + first + " by " +
                        out.posbench_version + "; expected parts of one posbench version");
      }
      out.total_wall_seconds += doc.value("total_wall_seconds", 0.0);
      const auto ids = doc.value("unit_ids", std::vector<std::string>());
      std::set<std::string> listed(ids.begin(), ids.end());
      size_t k = 0;
      for (const auto& u : doc.value("units", json::array())) {
        UnitRecord r = record_from_json(u, file + ": units[" + std::to_string(k++) + "]");
        if (!listed.count(r.id))
          throw UserError(file + ": unit " + r.id +
                          " is not in its unit_ids; expected a file as "
                          "posbench run wrote it");
        if (auto it = out.part_of.find(r.id); it != out.part_of.end())
          throw UserError(file + ": unit " + r.id + " is also in " + it->second +
                          "; expected each unit in one part (parts of one --shard K/N each)");
        out.part_of[r.id] = file;
        out.records.emplace(r.id, std::move(r));
      }
      for (const auto& id : ids)
        if (!out.part_of.count(id) || out.part_of[id] != file)
          throw UserError(file + ": lists unit " + id + " but holds no record of it");
    } catch (const nlohmann::json::exception& e) {
      throw UserError(file + ": a malformed partial results file (" + e.what() +
                      "); expected the -o file of `posbench run CONFIG --shard K/N`");
    }
  if (out.posbench_version != this_version)
    throw UserError(first + ": written by posbench " + out.posbench_version + ", this is " +
                    this_version + "; merge with the posbench that ran the parts");
  return out;
}

void check_coverage(const Parts& parts, const std::vector<Unit>& units) {
  std::vector<Problem> problems;
  std::set<std::string> known;
  for (const Unit& u : units) {
    known.insert(u.id);
    if (!parts.records.count(u.id))
      problems.push_back({"", "unit " + u.id + " (" + u.what +
                                  ") is in no part; expected every unit of the config once "
                                  "(a shard missing or unfinished?)"});
  }
  for (const auto& [id, file] : parts.part_of)
    if (!known.count(id))
      problems.push_back({"", file + ": unit " + id + " is not a unit of the config"});
  if (!problems.empty()) throw UserError(problems);
}

std::vector<std::string> host_notes(const RunOutput& run) {
  std::map<std::string, std::vector<std::string>> by_host;  // host -> experiments
  for (const auto& e : run.experiments)
    if (e.planned && e.planned->experiment && !e.planned->experiment->encoders_separable())
      for (const auto& h : e.hosts)
        by_host[h].push_back(fmt::format("{}{}{} ({})", e.planned->path,
                                         e.planned->name().empty() ? "" : " ", e.planned->name(),
                                         e.planned->type));
  if (by_host.size() < 2) return {};
  std::vector<std::string> out = {
      "units whose encoders run together (timings of one machine) ran on " +
      std::to_string(by_host.size()) +
      " hosts: each experiment is kept as its own entry, with its \"hosts\"; do not compare "
      "timings across hosts:"};
  for (const auto& [host, list] : by_host)
    for (const auto& e : list) out.push_back("  " + host + ": " + e);
  return out;
}

}  // namespace posbench
