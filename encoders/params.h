#pragma once
// Declared parameters: every scheme and experiment lists its parameters (name, type, default,
// allowed range, description), all the way down: a parameter may be a list of declared
// elements, an object of declared fields, or a tagged object whose fields depend on a tag key
// (RoPE's `scaling` dict: rope_type -> its keys). resolve_params() checks a user's JSON object
// against the declarations, reports *every* problem with its full JSON path
// ("experiments[0].shapes[1].seq"), suggests the closest name for a typo at any depth, and
// returns the object with all defaults filled in, nested ones included (the "resolved" params
// written into results). No scheme or experiment reads unchecked JSON.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoders/error.h"

namespace posbench {

enum class ParamType {
  number,       // JSON number (double)
  integer,      // JSON integer (a float with an integral value is accepted and normalised)
  boolean,      // true / false
  choice,       // one of `choices`
  string,       // free text
  path,         // a file path (string); existence is checked by whoever opens it
  number_list,  // list of numbers; each element is range-checked
  list,         // list whose every element is checked against `element`
  object,       // object whose keys are `fields` (unknown keys are errors)
  tagged,       // object with a tag key (`tag`) choosing which of `variants` its fields are
};

const char* to_string(ParamType type);

struct ParamSpec;

// One alternative of a tagged object: the tag value and the fields it takes (besides the tag
// and the spec's common fields).
struct ParamVariant {
  std::string tag;
  std::vector<ParamSpec> fields;
  std::string description;
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::number;
  nlohmann::json default_value;  // null: no default (required, or optional and absent)
  bool required = false;
  std::optional<double> min, max;  // range of a number/integer (or each list element)
  bool min_exclusive = false, max_exclusive = false;
  std::string range_note;            // appended to the expected text, e.g. why the bound
  bool unsigned_64 = false;          // integer: the whole range [0, 2^64 - 1] (seeds)
  std::vector<std::string> choices;  // for ParamType::choice
  std::string description;
  // list: the declaration every element is checked against (its name is unused), and the
  // fewest elements allowed.
  std::vector<ParamSpec> element;  // empty or exactly one
  size_t min_items = 0;
  // object and tagged: the declared fields (for tagged: those every variant takes).
  std::vector<ParamSpec> fields;
  // object: groups of fields of which exactly one group must be given, e.g. a shape given as
  // {"heads", "head_dim"} or {"dim"}. Fields of a group are optional on their own.
  std::vector<std::vector<std::string>> exactly_one_group_of;
  // tagged: the tag key, its older/alternative spellings (accepted if they agree), variants.
  std::string tag;
  std::vector<std::string> tag_aliases;
  std::vector<ParamVariant> variants;
  // tagged: the tag value alone (a string, e.g. "ones") stands for {tag: value}.
  bool tag_shorthand = false;
  // Other names accepted for this parameter (HuggingFace's "rope_theta" for RoPE's "base"). The
  // resolved object holds the value under `name`; a value given under two of the names must be
  // the same under both. `describe` lists them.
  std::vector<std::string> aliases;

  // Builders, so a declaration reads as one line:
  //   ParamSpec::number("base", 10000.0, "RoPE base").above(0)
  static ParamSpec number(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec integer(std::string name, nlohmann::json dflt, std::string description);
  // An integer in [0, 2^64 - 1], read with get<uint64_t>() (a seed); integer() stops at 2^63 - 1.
  static ParamSpec unsigned_integer(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec boolean(std::string name, bool dflt, std::string description);
  static ParamSpec choice(std::string name, std::string dflt, std::vector<std::string> choices,
                          std::string description);
  static ParamSpec string(std::string name, nlohmann::json dflt, std::string description);
  static ParamSpec path(std::string name, std::string description);
  static ParamSpec number_list(std::string name, nlohmann::json dflt, std::string description);
  // A list of elements declared by `element` (e.g. list_of("threads", ParamSpec::integer(...))).
  static ParamSpec list_of(std::string name, ParamSpec element, nlohmann::json dflt,
                           std::string description);
  // An object of declared fields; its default (if any) is resolved like a given value.
  static ParamSpec object_of(std::string name, std::vector<ParamSpec> fields, nlohmann::json dflt,
                             std::string description);
  // An object whose `tag` key picks one of `variants`; `common` fields are allowed in all.
  static ParamSpec tagged(std::string name, std::string tag, std::vector<ParamVariant> variants,
                          std::vector<ParamSpec> common, std::string description);
  ParamSpec& mandatory();
  ParamSpec& at_least(double v);
  ParamSpec& above(double v);
  ParamSpec& at_most(double v);
  ParamSpec& below(double v);
  ParamSpec& note(std::string text);  // appended to expected(), e.g. "(HF only warns)"
  ParamSpec& non_empty();             // list: at least one element
  ParamSpec& exactly_one_of(std::vector<std::vector<std::string>> groups);
  ParamSpec& tag_alias(std::string alias);
  ParamSpec& allow_tag_shorthand();  // tagged: accept "value" for {tag: "value"}
  ParamSpec& alias(std::string other_name);

  // Human text for the allowed values, e.g. "a number > 0", "one of \"half\", \"interleaved\"".
  std::string expected() const;
  // Declaration as JSON for `list --json` / `describe --json`, nested specs included.
  nlohmann::json to_json() const;
};

// The declaration in `specs` named `key` or having `key` among its aliases (nullptr if none).
const ParamSpec* find_param(const std::vector<ParamSpec>& specs, const std::string& key);

// Checks `given` (must be an object or null) against `specs`. Every problem is added to
// `diag` with its full path under `path`. Unknown keys are errors with a did-you-mean
// ("unknown <unknown_noun> 'x'; did you mean 'y'?").
// Returns the resolved object: given values, defaults for the rest, null for optional
// parameters without default that were not given.
nlohmann::json resolve_params(const std::vector<ParamSpec>& specs, const nlohmann::json& given,
                              const std::string& path, Diagnostics& diag,
                              const char* unknown_noun = "parameter");

// Checks one value against one spec (any type, nested ones included), adding problems under
// `path`; returns the resolved value (defaults filled in inside objects).
nlohmann::json resolve_value(const ParamSpec& spec, const nlohmann::json& value,
                             const std::string& path, Diagnostics& diag);

// Read access to a resolved params object, for factories. Values were checked by
// resolve_params, so the accessors only convert.
class Params {
 public:
  explicit Params(nlohmann::json resolved) : j_(std::move(resolved)) {}
  bool has(const std::string& name) const;  // given or defaulted (not null)
  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  std::string string(const std::string& name) const;
  std::vector<double> numbers(const std::string& name) const;
  std::vector<int64_t> integers(const std::string& name) const;     // list of integers
  std::vector<std::string> strings(const std::string& name) const;  // list of strings/choices
  Params object(const std::string& name) const;                     // a nested object
  std::vector<Params> objects(const std::string& name) const;       // a list of objects
  const nlohmann::json& json(const std::string& name) const;
  const nlohmann::json& all() const { return j_; }

 private:
  nlohmann::json j_;
};

}  // namespace posbench
