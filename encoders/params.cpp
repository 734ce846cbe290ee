#include "encoders/params.h"

#include <fmt/format.h>
#include <cmath>

namespace posbench {

using nlohmann::json;

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::number:
      return "number";
    case ParamType::integer:
      return "integer";
    case ParamType::boolean:
      return "boolean";
    case ParamType::choice:
      return "choice";
    case ParamType::string:
      return "string";
    case ParamType::path:
      return "path";
    case ParamType::number_list:
      return "number list";
    case ParamType::object:
      return "object";
    case ParamType::any:
      return "any";
  }
  return "?";
}

static ParamSpec make(std::string name, ParamType type, json dflt, std::string description) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(dflt);
  s.description = std::move(description);
  return s;
}

ParamSpec ParamSpec::number(std::string n, json d, std::string desc) {
  return make(std::move(n), ParamType::number, std::move(d), std::move(desc));
}
ParamSpec ParamSpec::integer(std::string n, json d, std::string desc) {
  return make(std::move(n), ParamType::integer, std::move(d), std::move(desc));
}
ParamSpec ParamSpec::boolean(std::string n, bool d, std::string desc) {
  return make(std::move(n), ParamType::boolean, d, std::move(desc));
}
ParamSpec ParamSpec::choice(std::string n, std::string d, std::vector<std::string> choices,
                            std::string desc) {
  ParamSpec s = make(std::move(n), ParamType::choice, std::move(d), std::move(desc));
  s.choices = std::move(choices);
  return s;
}
ParamSpec ParamSpec::string(std::string n, json d, std::string desc) {
  return make(std::move(n), ParamType::string, std::move(d), std::move(desc));
}
ParamSpec ParamSpec::path(std::string n, std::string desc) {
  return make(std::move(n), ParamType::path, nullptr, std::move(desc));
}
ParamSpec ParamSpec::number_list(std::string n, json d, std::string desc) {
  return make(std::move(n), ParamType::number_list, std::move(d), std::move(desc));
}
ParamSpec ParamSpec::object(std::string n, std::string desc) {
  return make(std::move(n), ParamType::object, nullptr, std::move(desc));
}
ParamSpec ParamSpec::any(std::string n, json d, std::string desc) {
  return make(std::move(n), ParamType::any, std::move(d), std::move(desc));
}
ParamSpec& ParamSpec::mandatory() {
  required = true;
  return *this;
}
ParamSpec& ParamSpec::at_least(double v) {
  min = v;
  min_exclusive = false;
  return *this;
}
ParamSpec& ParamSpec::above(double v) {
  min = v;
  min_exclusive = true;
  return *this;
}
ParamSpec& ParamSpec::at_most(double v) {
  max = v;
  max_exclusive = false;
  return *this;
}
ParamSpec& ParamSpec::below(double v) {
  max = v;
  max_exclusive = true;
  return *this;
}

static std::string range_text(const ParamSpec& s) {
  auto num = [](double v) { return fmt::format("{:g}", v); };
  if (s.min && s.max)
    return fmt::format(" {} {} and {} {}", s.min_exclusive ? ">" : ">=", num(*s.min),
                       s.max_exclusive ? "<" : "<=", num(*s.max));
  if (s.min) return fmt::format(" {} {}", s.min_exclusive ? ">" : ">=", num(*s.min));
  if (s.max) return fmt::format(" {} {}", s.max_exclusive ? "<" : "<=", num(*s.max));
  return "";
}

std::string ParamSpec::expected() const {
  switch (type) {
    case ParamType::number:
      return "a number" + range_text(*this);
    case ParamType::integer:
      return "an integer" + range_text(*this);
    case ParamType::boolean:
      return "true or false";
    case ParamType::choice: {
      std::string out = "one of ";
      for (size_t i = 0; i < choices.size(); ++i) out += (i ? ", \"" : "\"") + choices[i] + "\"";
      return out;
    }
    case ParamType::string:
      return "a string";
    case ParamType::path:
      return "a file path (string)";
    case ParamType::number_list: {
      std::string r = range_text(*this);
      return r.empty() ? "a list of numbers" : "a list of numbers, each" + r;
    }
    case ParamType::object:
      return "an object";
    case ParamType::any:
      return "a JSON value";
  }
  return "?";
}

json ParamSpec::to_json() const {
  json j = {{"name", name},
            {"type", posbench::to_string(type)},
            {"default", default_value},
            {"required", required},
            {"expected", expected()},
            {"description", description}};
  if (min) j["min"] = *min, j["min_exclusive"] = min_exclusive;
  if (max) j["max"] = *max, j["max_exclusive"] = max_exclusive;
  if (!choices.empty()) j["choices"] = choices;
  return j;
}

static bool in_range(const ParamSpec& s, double v) {
  if (!std::isfinite(v)) return false;
  if (s.min && (s.min_exclusive ? v <= *s.min : v < *s.min)) return false;
  if (s.max && (s.max_exclusive ? v >= *s.max : v > *s.max)) return false;
  return true;
}

// Whether `v` has the declared type and lies in the declared range.
static bool check_value(const ParamSpec& s, const json& v) {
  switch (s.type) {
    case ParamType::number:
      return v.is_number() && in_range(s, v.get<double>());
    case ParamType::integer:
      // An unsigned value above INT64_MAX would wrap when read as int64_t.
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return false;
      return (v.is_number_integer() ||
              (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
               std::abs(v.get<double>()) < 9e15)) &&
             in_range(s, v.get<double>());
    case ParamType::boolean:
      return v.is_boolean();
    case ParamType::choice:
      return v.is_string() &&
             std::find(s.choices.begin(), s.choices.end(), v.get<std::string>()) != s.choices.end();
    case ParamType::string:
    case ParamType::path:
      return v.is_string();
    case ParamType::number_list:
      if (!v.is_array()) return false;
      for (const auto& e : v)
        if (!e.is_number() || !in_range(s, e.get<double>())) return false;
      return true;
    case ParamType::object:
      return v.is_object();
    case ParamType::any:
      return true;
  }
  return false;
}

json resolve_params(const std::vector<ParamSpec>& specs, const json& given, const std::string& path,
                    Diagnostics& diag) {
  json out = json::object();
  if (!given.is_null() && !given.is_object()) {
    diag.error(path, "got " + show(given) + ", expected an object of parameters");
    return out;
  }
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  if (given.is_object()) {
    for (const auto& [key, value] : given.items()) {
      if (std::find(names.begin(), names.end(), key) == names.end())
        diag.error(join_path(path, key), unknown_name_message("parameter", key, names));
    }
  }
  for (const auto& s : specs) {
    const std::string p = join_path(path, s.name);
    if (given.is_object() && given.contains(s.name)) {
      const json& v = given[s.name];
      // null for an optional parameter without a default means "not given": HuggingFace
      // configs write "rope_scaling": null, and such dicts are pasted verbatim.
      if (v.is_null() && !s.required && s.default_value.is_null()) {
        out[s.name] = nullptr;
        continue;
      }
      if (!check_value(s, v)) {
        std::string msg = "got " + show(v) + ", expected " + s.expected();
        if (s.type == ParamType::choice && v.is_string()) {
          std::string guess = closest_match(v.get<std::string>(), s.choices);
          if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
        }
        diag.error(p, msg);
        continue;
      }
      // Integers given as 4.0 are normalised so the resolved config shows 4.
      out[s.name] = s.type == ParamType::integer ? json(v.get<int64_t>()) : v;
    } else if (s.required) {
      diag.error(p, "missing required parameter (expected " + s.expected() + ")");
    } else {
      out[s.name] = s.default_value;
    }
  }
  return out;
}

bool Params::has(const std::string& name) const { return j_.contains(name) && !j_[name].is_null(); }
double Params::number(const std::string& name) const { return j_.at(name).get<double>(); }
int64_t Params::integer(const std::string& name) const { return j_.at(name).get<int64_t>(); }
bool Params::boolean(const std::string& name) const { return j_.at(name).get<bool>(); }
std::string Params::string(const std::string& name) const { return j_.at(name).get<std::string>(); }
std::vector<double> Params::numbers(const std::string& name) const {
  return j_.at(name).get<std::vector<double>>();
}
const json& Params::json(const std::string& name) const { return j_.at(name); }

}  // namespace posbench
