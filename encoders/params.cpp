#include "encoders/params.h"

#include <fmt/format.h>

#include <algorithm>
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
    case ParamType::list:
      return "list";
    case ParamType::object:
      return "object";
    case ParamType::tagged:
      return "tagged object";
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
ParamSpec ParamSpec::unsigned_integer(std::string n, json d, std::string desc) {
  ParamSpec s = make(std::move(n), ParamType::integer, std::move(d), std::move(desc));
  s.unsigned_64 = true;
  return s;
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
ParamSpec ParamSpec::list_of(std::string n, ParamSpec element, json d, std::string desc) {
  ParamSpec s = make(std::move(n), ParamType::list, std::move(d), std::move(desc));
  s.element.push_back(std::move(element));
  return s;
}
ParamSpec ParamSpec::object_of(std::string n, std::vector<ParamSpec> fields, json d,
                               std::string desc) {
  ParamSpec s = make(std::move(n), ParamType::object, std::move(d), std::move(desc));
  s.fields = std::move(fields);
  return s;
}
ParamSpec ParamSpec::tagged(std::string n, std::string tag, std::vector<ParamVariant> variants,
                            std::vector<ParamSpec> common, std::string desc) {
  ParamSpec s = make(std::move(n), ParamType::tagged, nullptr, std::move(desc));
  s.tag = std::move(tag);
  s.variants = std::move(variants);
  s.fields = std::move(common);
  return s;
}
ParamSpec& ParamSpec::allow_tag_shorthand() {
  tag_shorthand = true;
  return *this;
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
ParamSpec& ParamSpec::note(std::string text) {
  range_note = std::move(text);
  return *this;
}
ParamSpec& ParamSpec::non_empty() {
  min_items = 1;
  return *this;
}
ParamSpec& ParamSpec::exactly_one_of(std::vector<std::vector<std::string>> groups) {
  exactly_one_group_of = std::move(groups);
  return *this;
}
ParamSpec& ParamSpec::tag_alias(std::string alias) {
  tag_aliases.push_back(std::move(alias));
  return *this;
}
ParamSpec& ParamSpec::alias(std::string other_name) {
  aliases.push_back(std::move(other_name));
  return *this;
}

const ParamSpec* find_param(const std::vector<ParamSpec>& specs, const std::string& key) {
  for (const auto& s : specs)
    if (s.name == key || std::find(s.aliases.begin(), s.aliases.end(), key) != s.aliases.end())
      return &s;
  return nullptr;
}

static std::string range_text(const ParamSpec& s) {
  // Whole bounds in full (1048576, not 1.04858e+06); others in the shortest form.
  auto num = [](double v) {
    return std::floor(v) == v && std::abs(v) < 1e15 ? fmt::format("{}", int64_t(v))
                                                    : fmt::format("{:g}", v);
  };
  if (s.min && s.max)
    return fmt::format(" {} {} and {} {}", s.min_exclusive ? ">" : ">=", num(*s.min),
                       s.max_exclusive ? "<" : "<=", num(*s.max));
  if (s.min) return fmt::format(" {} {}", s.min_exclusive ? ">" : ">=", num(*s.min));
  if (s.max) return fmt::format(" {} {}", s.max_exclusive ? "<" : "<=", num(*s.max));
  return "";
}

static std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + names[i] + "\"";
  return out;
}

static std::string plain_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

static std::vector<std::string> names_of(const std::vector<ParamSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.name);
  return out;
}

static std::vector<std::string> tags_of(const ParamSpec& s) {
  std::vector<std::string> out;
  for (const auto& v : s.variants) out.push_back(v.tag);
  return out;
}

static std::string expected_core(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::number:
      return "a number" + range_text(s);
    case ParamType::integer:
      return s.unsigned_64 ? "a non-negative integer (at most 2^64 - 1)"
                           : "an integer" + range_text(s);
    case ParamType::boolean:
      return "true or false";
    case ParamType::choice:
      return "one of " + quoted_list(s.choices);
    case ParamType::string:
      return "a string";
    case ParamType::path:
      return "a file path (string)";
    case ParamType::number_list: {
      std::string r = range_text(s);
      return r.empty() ? "a list of numbers" : "a list of numbers, each" + r;
    }
    case ParamType::list: {
      std::string e = s.element.empty() ? "values" : s.element[0].expected();
      return std::string(s.min_items ? "a non-empty list" : "a list") + ", each " + e;
    }
    case ParamType::object:
      return "an object with keys " + plain_list(names_of(s.fields));
    case ParamType::tagged:
      return "an object whose \"" + s.tag + "\" is one of " + quoted_list(tags_of(s)) +
             (s.tag_shorthand ? ", or that name alone" : "");
  }
  return "?";
}

std::string ParamSpec::expected() const {
  std::string out = expected_core(*this);
  if (!range_note.empty()) out += " " + range_note;
  return out;
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
  if (!element.empty()) j["element"] = element[0].to_json(), j["min_items"] = min_items;
  if (!fields.empty() || type == ParamType::object) {
    json f = json::array();
    for (const auto& s : fields) f.push_back(s.to_json());
    j[type == ParamType::tagged ? "common_fields" : "fields"] = f;
  }
  if (!exactly_one_group_of.empty()) j["exactly_one_group_of"] = exactly_one_group_of;
  if (!aliases.empty()) j["aliases"] = aliases;
  if (type == ParamType::tagged) {
    j["tag"] = tag;
    j["tag_aliases"] = tag_aliases;
    j["tag_shorthand"] = tag_shorthand;
    json vs = json::array();
    for (const auto& v : variants) {
      json f = json::array();
      for (const auto& s : v.fields) f.push_back(s.to_json());
      vs.push_back({{"tag", v.tag}, {"description", v.description}, {"fields", f}});
    }
    j["variants"] = vs;
  }
  return j;
}

static bool in_range(const ParamSpec& s, double v) {
  if (!std::isfinite(v)) return false;
  if (s.min && (s.min_exclusive ? v <= *s.min : v < *s.min)) return false;
  if (s.max && (s.max_exclusive ? v >= *s.max : v > *s.max)) return false;
  return true;
}

// Whether a scalar `v` has the declared type and lies in the declared range.
static bool check_scalar(const ParamSpec& s, const json& v) {
  switch (s.type) {
    case ParamType::number:
      return v.is_number() && in_range(s, v.get<double>());
    case ParamType::integer:
      if (s.unsigned_64)
        return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0) ||
               (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 9e15 &&
                std::floor(v.get<double>()) == v.get<double>());
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
    default:
      return false;
  }
}

static json resolve_fields(const std::vector<ParamSpec>& specs, const json& given,
                           const std::string& path, Diagnostics& diag,
                           const std::vector<std::string>& also_allowed,
                           const std::vector<std::vector<std::string>>& groups,
                           const ParamSpec* tagged_owner, const std::string& tag_value,
                           const char* top_level_noun = nullptr);

// "exactly one group": {heads, head_dim} or {dim} for a shape.
static void check_groups(const std::vector<std::vector<std::string>>& groups, const json& given,
                         const std::string& path, Diagnostics& diag) {
  if (groups.empty()) return;
  std::vector<const std::vector<std::string>*> touched;
  // null is "not given", as everywhere in resolve_fields.
  const auto present = [&](const std::string& k) {
    return given.contains(k) && !given[k].is_null();
  };
  for (const auto& g : groups)
    for (const auto& k : g)
      if (present(k)) {
        touched.push_back(&g);
        break;
      }
  std::string options;
  for (size_t i = 0; i < groups.size(); ++i)
    options += (i ? " or {" : "{") + plain_list(groups[i]) + "}";
  if (touched.empty()) {
    diag.error(path, got_expected(given, "also " + options));
  } else if (touched.size() > 1) {
    diag.error(path, got_expected(given, "exactly one of " + options + ", not both"));
  } else {
    for (const auto& k : *touched.front())
      if (!present(k))
        diag.error(join_path(path, k),
                   "missing (expected with " + plain_list(*touched.front()) + ")");
  }
}

static json resolve_tagged(const ParamSpec& s, const json& v, const std::string& path,
                           Diagnostics& diag) {
  const std::vector<std::string> tags = tags_of(s);
  std::vector<std::string> keys = {s.tag};
  keys.insert(keys.end(), s.tag_aliases.begin(), s.tag_aliases.end());
  std::string key;  // the tag key given (the first that is, by preference)
  for (const auto& k : keys)
    if (v.contains(k) && !v[k].is_null()) {
      key = k;
      break;
    }
  if (key.empty()) {
    std::string also;
    for (const auto& a : s.tag_aliases) also += " (or \"" + a + "\")";
    diag.error(join_path(path, s.tag),
               "missing: expected \"" + s.tag + "\"" + also + ", one of " + quoted_list(tags));
    return v;
  }
  const json& tv = v[key];
  const std::string tp = join_path(path, key);
  const ParamVariant* variant = nullptr;
  if (tv.is_string())
    for (const auto& var : s.variants)
      if (var.tag == tv.get<std::string>()) variant = &var;
  if (!variant) {
    std::string msg = got_expected(tv, "one of " + quoted_list(tags));
    if (tv.is_string()) {
      const std::string guess = closest_match(tv.get<std::string>(), tags);
      if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
    }
    diag.error(tp, msg);
    return v;
  }
  for (const auto& k : keys)
    if (k != key && v.contains(k) && !v[k].is_null() && v[k] != tv)
      diag.error(join_path(path, k),
                 got_expected(v[k], "the same as " + key + " (" + show(tv) + "): \"" + k +
                                        "\" is the older name for " + s.tag +
                                        "; give one of them, or equal values"));
  std::vector<ParamSpec> fields = s.fields;
  fields.insert(fields.end(), variant->fields.begin(), variant->fields.end());
  json out = resolve_fields(fields, v, path, diag, keys, {}, &s, variant->tag);
  out[s.tag] = variant->tag;
  return out;
}

json resolve_value(const ParamSpec& s, const json& v, const std::string& path, Diagnostics& diag) {
  switch (s.type) {
    case ParamType::list: {
      if (!v.is_array()) {
        diag.error(path, got_expected(v, s.expected()));
        return v;
      }
      if (v.size() < s.min_items) {
        diag.error(path, got_expected(v, s.expected()));
        return v;
      }
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i)
        out.push_back(s.element.empty()
                          ? v[i]
                          : resolve_value(s.element[0], v[i], index_path(path, i), diag));
      return out;
    }
    case ParamType::object:
      if (!v.is_object()) {
        diag.error(path, got_expected(v, s.expected()));
        return v;
      }
      return resolve_fields(s.fields, v, path, diag, {}, s.exactly_one_group_of, nullptr, "");
    case ParamType::tagged:
      if (s.tag_shorthand && v.is_string()) {
        // The tag alone: an unknown one is reported where the user wrote it.
        const std::vector<std::string> tags = tags_of(s);
        if (std::find(tags.begin(), tags.end(), v.get<std::string>()) == tags.end()) {
          std::string msg = got_expected(v, s.expected());
          const std::string guess = closest_match(v.get<std::string>(), tags);
          if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
          diag.error(path, msg);
          return v;
        }
        return resolve_tagged(s, json{{s.tag, v}}, path, diag);
      }
      if (!v.is_object()) {
        diag.error(path, got_expected(v, s.expected()));
        return v;
      }
      return resolve_tagged(s, v, path, diag);
    default:
      break;
  }
  if (!check_scalar(s, v)) {
    std::string msg = got_expected(v, s.expected());
    if (s.type == ParamType::choice && v.is_string()) {
      std::string guess = closest_match(v.get<std::string>(), s.choices);
      if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
    }
    diag.error(path, msg);
    return v;
  }
  // Integers given as 4.0 are normalised so the resolved config shows 4.
  if (s.type == ParamType::integer)
    return s.unsigned_64 ? json(v.is_number_float() ? uint64_t(v.get<double>()) : v.get<uint64_t>())
                         : json(v.get<int64_t>());
  return v;
}

// "keys of \"yarn\": factor, ..." or "\"default\" takes no keys besides rope_type and ...".
static std::string keys_of_variant(const ParamSpec& owner, const std::string& tag_value) {
  std::vector<std::string> own;
  for (const auto& var : owner.variants)
    if (var.tag == tag_value) own = names_of(var.fields);
  const std::string common = plain_list(names_of(owner.fields));
  if (own.empty())
    return "\"" + tag_value + "\" takes no keys besides " + owner.tag +
           (common.empty() ? "" : " and the common " + common);
  return "keys of \"" + tag_value + "\": " + plain_list(own) +
         (common.empty() ? "" : "; common: " + common);
}

// The unknown-key message: the closest declared name (or alias), or the variant a key belongs to.
static std::string unknown_key_message(const std::string& key, const std::vector<ParamSpec>& specs,
                                       const ParamSpec* owner, const std::string& tag_value,
                                       const char* noun) {
  const std::vector<std::string> names = names_of(specs);
  if (owner)
    for (const auto& var : owner->variants)
      for (const auto& f : var.fields)
        if (f.name == key && var.tag != tag_value)
          return "unknown key '" + key + "' for " + owner->tag + " \"" + tag_value +
                 "\" (it belongs to \"" + var.tag + "\"); " + keys_of_variant(*owner, tag_value);
  // A typo of an alias is answered with the alias and the parameter it names.
  std::vector<std::string> aliases, all = names;
  for (const auto& s : specs) aliases.insert(aliases.end(), s.aliases.begin(), s.aliases.end());
  all.insert(all.end(), aliases.begin(), aliases.end());
  const std::string guess = closest_match(key, all);
  if (!guess.empty() && std::find(aliases.begin(), aliases.end(), guess) != aliases.end()) {
    const std::string msg = "unknown " + std::string(owner ? "key" : noun) + " '" + key +
                            "'; did you mean '" + guess + "' (another name for " +
                            find_param(specs, guess)->name + ")?";
    return owner ? msg + " (" + keys_of_variant(*owner, tag_value) + ")"
                 : msg + " available: " + plain_list(names);
  }
  if (!owner) return unknown_name_message(noun, key, names);
  std::string msg = "unknown key '" + key + "'";
  const std::string name_guess = closest_match(key, names);
  if (!name_guess.empty()) msg += "; did you mean '" + name_guess + "'?";
  return msg + " (" + keys_of_variant(*owner, tag_value) + ")";
}

static json resolve_fields(const std::vector<ParamSpec>& specs, const json& given,
                           const std::string& path, Diagnostics& diag,
                           const std::vector<std::string>& also_allowed,
                           const std::vector<std::vector<std::string>>& groups,
                           const ParamSpec* tagged_owner, const std::string& tag_value,
                           const char* top_level_noun) {
  // Top level: the params of a scheme or experiment (or the config's own keys); every declared
  // name appears in the result. Nested: the keys of an object the user wrote.
  const bool top_level = top_level_noun != nullptr;
  json out = json::object();
  std::vector<std::string> names = names_of(specs);
  if (given.is_object()) {
    for (const auto& [key, value] : given.items()) {
      if (!find_param(specs, key) &&
          std::find(also_allowed.begin(), also_allowed.end(), key) == also_allowed.end())
        diag.error(join_path(path, key), unknown_key_message(key, specs, tagged_owner, tag_value,
                                                             top_level ? top_level_noun : "key"));
    }
    check_groups(groups, given, path, diag);
  }
  for (const auto& s : specs) {
    // The name the value was given under: the declared name or an alias (the first given, not
    // null, by preference); a value under another of the names must be the same.
    std::string key = s.name;
    if (given.is_object()) {
      std::vector<std::string> all = {s.name};
      all.insert(all.end(), s.aliases.begin(), s.aliases.end());
      std::string first_null;
      key.clear();
      for (const auto& k : all)
        if (given.contains(k)) {
          if (!given[k].is_null() && key.empty()) key = k;
          if (given[k].is_null() && first_null.empty()) first_null = k;
        }
      if (key.empty()) key = first_null.empty() ? s.name : first_null;
      for (const auto& k : all)
        if (k != key && given.contains(k) && !given[k].is_null() && given[k] != given[key])
          diag.error(join_path(path, k),
                     got_expected(given[k], "the same as " + key + " (" + show(given[key]) +
                                                "): both name the parameter " + s.name +
                                                "; give one of them, or equal values"));
    }
    const std::string p = join_path(path, key);
    if (given.is_object() && given.contains(key)) {
      const json& v = given[key];
      // null for an optional parameter without a default means "not given": HuggingFace
      // configs write "rope_scaling": null, and such dicts are pasted verbatim.
      if (v.is_null() && !s.required && s.default_value.is_null()) {
        if (top_level) out[s.name] = nullptr;
        continue;
      }
      out[s.name] = resolve_value(s, v, p, diag);
    } else if (s.required && top_level) {
      // Reported; the result still has every declared name (null), so readers may index it.
      diag.error(p, "missing required parameter (expected " + s.expected() + ")");
      out[s.name] = nullptr;
    } else if (s.required && tagged_owner) {
      diag.error(p, "missing: " + tagged_owner->tag + " \"" + tag_value + "\" requires it (" +
                        s.expected() + ")");
    } else if (s.required) {
      diag.error(p, "missing required parameter (expected " + s.expected() + ")");
    } else if (!s.default_value.is_null() &&
               (s.type == ParamType::list || s.type == ParamType::object ||
                s.type == ParamType::tagged)) {
      // Nested defaults are resolved too, so the resolved config shows every inner default.
      out[s.name] = resolve_value(s, s.default_value, p, diag);
    } else if (s.type == ParamType::integer && s.unsigned_64 && s.default_value.is_number()) {
      out[s.name] = s.default_value.get<uint64_t>();  // read back with get<uint64_t>()
    } else if (!s.default_value.is_null() || top_level) {
      // Top-level params show every declared name (null: optional, not given); inside a
      // nested object an absent optional key stays absent, as the user wrote it.
      out[s.name] = s.default_value;
    }
  }
  return out;
}

json resolve_params(const std::vector<ParamSpec>& specs, const json& given, const std::string& path,
                    Diagnostics& diag, const char* unknown_noun) {
  if (!given.is_null() && !given.is_object()) {
    diag.error(path, "got " + show(given) + ", expected an object of parameters");
    return json::object();
  }
  return resolve_fields(specs, given, path, diag, {}, {}, nullptr, "", unknown_noun);
}

bool Params::has(const std::string& name) const { return j_.contains(name) && !j_[name].is_null(); }
double Params::number(const std::string& name) const { return j_.at(name).get<double>(); }
int64_t Params::integer(const std::string& name) const { return j_.at(name).get<int64_t>(); }
bool Params::boolean(const std::string& name) const { return j_.at(name).get<bool>(); }
std::string Params::string(const std::string& name) const { return j_.at(name).get<std::string>(); }
std::vector<double> Params::numbers(const std::string& name) const {
  return j_.at(name).get<std::vector<double>>();
}
std::vector<int64_t> Params::integers(const std::string& name) const {
  return j_.at(name).get<std::vector<int64_t>>();
}
std::vector<std::string> Params::strings(const std::string& name) const {
  return j_.at(name).get<std::vector<std::string>>();
}
Params Params::object(const std::string& name) const { return Params(j_.at(name)); }
std::vector<Params> Params::objects(const std::string& name) const {
  std::vector<Params> out;
  for (const auto& e : j_.at(name)) out.emplace_back(e);
  return out;
}
const json& Params::json(const std::string& name) const { return j_.at(name); }

}  // namespace posbench
