#pragma once
// Declared parameters: every scheme and experiment lists its parameters (name, type, default,
// allowed range, description). resolve_params() checks a user's JSON object against that list,
// reports *every* problem with its JSON path, and returns the object with all defaults filled
// in (the "resolved" params written into results).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoders/error.h"

namespace posbench {

enum class ParamType {
  number,       // JSON number (double)
  integer,      // JSON integer
  boolean,      // true / false
  choice,       // one of `choices`
  string,       // free text
  path,         // a file path (string); existence is checked by whoever opens it
  number_list,  // list of numbers; each element is range-checked
  object,       // a JSON object checked by the owner (e.g. RoPE `scaling`)
  any,          // any JSON value checked by the owner (e.g. speed `shapes`)
};

const char* to_string(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::number;
  nlohmann::json default_value;  // null: no default (required, or optional and absent)
  bool required = false;
  std::optional<double> min, max;  // range of a number/integer (or each list element)
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> choices;  // for ParamType::choice
  std::string description;

  // Builders, so a declaration reads as one line:
  //   ParamSpec::number("base", 10000.0, "RoPE base").above(0)
  static ParamSpec number(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec integer(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec boolean(std::string name, bool dflt, std::string description);
  static ParamSpec choice(std::string name, std::string dflt, std::vector<std::string> choices,
                          std::string description);
  static ParamSpec string(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec path(std::string name, std::string description);
  static ParamSpec number_list(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec object(std::string name, std::string description);
  static ParamSpec any(std::string name, nlohmann::json dflt, std::string description);
  ParamSpec& mandatory();
  ParamSpec& at_least(double v);
  ParamSpec& above(double v);
  ParamSpec& at_most(double v);
  ParamSpec& below(double v);

  // Human text for the allowed values, e.g. "a number > 0", "one of \"half\", \"interleaved\"".
  std::string expected() const;
  nlohmann::json to_json() const;
};

// Checks `given` (must be an object or null) against `specs`. Every problem is added to
// `diag` under `path` + "." + key. Unknown keys are errors with a did-you-mean.
// Returns the resolved object: given values, defaults for the rest, null for optional
// parameters without default that were not given.
nlohmann::json resolve_params(const std::vector<ParamSpec>& specs, const nlohmann::json& given,
                              const std::string& path, Diagnostics& diag);

// Read access to a resolved params object, for factories.
class Params {
 public:
  explicit Params(nlohmann::json resolved) : j_(std::move(resolved)) {}
  bool has(const std::string& name) const;  // given or defaulted (not null)
  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  std::string string(const std::string& name) const;
  std::vector<double> numbers(const std::string& name) const;
  const nlohmann::json& json(const std::string& name) const;
  const nlohmann::json& all() const { return j_; }

 private:
  nlohmann::json j_;
};

}  // namespace posbench
