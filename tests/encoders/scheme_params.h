#pragma once
// The params the registry-wide tests (zoo_experiments_test.cpp, registry_test.cpp) build every
// registered scheme with: its defaults ({}), except for the schemes below, which cannot be built
// from defaults alone. Keep this list explicit and small: a scheme missing from it must build
// from {}, and the tests fail (naming it) when it does not. A new scheme is then covered by
// those tests without being listed anywhere.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace posbench::test {

inline const std::map<std::string, nlohmann::json>& schemes_needing_params() {
  static const std::map<std::string, nlohmann::json> kParams = {
      // max_len is mandatory (no sensible default for a table's size).
      {"learned", {{"max_len", 4096}}},
  };
  return kParams;
}

// The params scheme `name` is built with in the registry-wide tests.
inline nlohmann::json minimal_params(const std::string& name) {
  const auto& needs = schemes_needing_params();
  const auto it = needs.find(name);
  return it == needs.end() ? nlohmann::json::object() : it->second;
}

}  // namespace posbench::test
