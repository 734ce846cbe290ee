#include "harness/run/timing_fields.h"

#include <set>

#include "encoders/error.h"

namespace posbench {

using nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The type of doc[list][index] ("" if there is none).
std::string type_of(const json& doc, const char* list, const std::string& index) {
  if (!doc.is_object() || !doc.contains(list) || !doc[list].is_array()) return "";
  size_t i = 0;
  try {
    i = std::stoul(index);
  } catch (...) {
    return "";
  }
  if (i >= doc[list].size() || !doc[list][i].is_object()) return "";
  return doc[list][i].value("type", "");
}

void diff(const json& a, const json& b, std::vector<std::string>& path, const json& doc,
          std::vector<std::string>& out, size_t max, const std::string& text) {
  if (out.size() >= max || is_timing_or_provenance(path, doc)) return;
  if (a.is_number() && b.is_number()) {
    // Exact: two integers by their digits (int64 and uint64 of one value are equal), else as
    // doubles (5 and 5.0 are equal).
    const bool integers = !a.is_number_float() && !b.is_number_float();
    if (integers ? a.dump() != b.dump() : a.get<double>() != b.get<double>())
      out.push_back(text + ": " + show(a) + " vs " + show(b));
    return;
  }
  if (a.type() != b.type()) {
    out.push_back(text + ": " + show(a) + " vs " + show(b));
    return;
  }
  if (a.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      path.push_back(k);
      const std::string sub = join_path(text, k);
      if (is_timing_or_provenance(path, doc)) {
        // skipped, present or not
      } else if (!a.contains(k) || !b.contains(k)) {
        if (out.size() < max)
          out.push_back(sub + ": " + (a.contains(k) ? "only in the first" : "only in the second"));
      } else {
        diff(a[k], b[k], path, doc, out, max, sub);
      }
      path.pop_back();
    }
    return;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      out.push_back(text + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
                    " elements");
      return;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      path.push_back(std::to_string(i));
      diff(a[i], b[i], path, doc, out, max, index_path(text, i));
      path.pop_back();
    }
    return;
  }
  if (a != b) out.push_back(text + ": " + show(a) + " vs " + show(b));
}

}  // namespace

bool is_timing_or_provenance(const std::vector<std::string>& p, const json& doc) {
  if (p.empty()) return false;
  static const std::set<std::string> top = {"context",          "threads",
                                            "max_memory_bytes", "total_wall_seconds",
                                            "posbench_version", "unit_provenance"};
  if (p.size() >= 1 && top.count(p[0])) return true;
  if (p[0] == "experiments" && p.size() >= 3) {
    if (p[2] == "wall_seconds" || p[2] == "hosts") return true;
    if (type_of(doc, "experiments", p[1]) != "speed") return false;
    if (p[2] == "extra") return true;
    if (p[2] == "encoders" && p.size() >= 5) {
      if (p[4] == "extra" || p[4] == "curves") return true;
      if (p[4] == "metrics" && p.size() >= 6) return !ends_with(p[5], "_max_abs_error");
    }
    return false;
  }
  if (p[0] == "seed_summaries" && p.size() >= 3 && p[2] == "host") return true;
  if (p[0] == "seed_summaries" && p.size() >= 6 && p[2] == "encoders" && p[4] == "metrics") {
    if (type_of(doc, "seed_summaries", p[1]) != "speed") return false;
    const json& s = doc["seed_summaries"][std::stoul(p[1])];
    try {
      const json& m = s.at("encoders").at(std::stoul(p[3])).at("metrics").at(std::stoul(p[5]));
      return !ends_with(m.value("metric", ""), "_max_abs_error");
    } catch (...) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> non_timing_differences(const json& a, const json& b, size_t max) {
  std::vector<std::string> out, path;
  diff(a, b, path, a, out, max, "");
  return out;
}

}  // namespace posbench
