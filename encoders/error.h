#pragma once
// One idiom for user-facing errors. A mistake the user can fix (config, arguments, input file,
// a parameter a scheme cannot work with) is a UserError: one or more {path, message} problems,
// where path is a JSON path ("experiments[1].encoders[0].params.base") or a CLI argument, and
// the message says the bad value and what was expected ("got -3, expected a number > 0";
// got_expected() builds that form). A scheme's factory throws with a path relative to its
// params ("base", "scaling.factor", or "" for the shape itself); whoever knows where the params
// came from prefixes the rest (Diagnostics::add). `validate` collects every problem; other
// commands stop at the first batch. Exit codes: 2 for a UserError; any other exception is a bug
// or a failure of the machine (exit 1), never a user mistake.

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace posbench {

struct Problem {
  std::string path;     // e.g. "experiments[1].encoders[0].params.base"
  std::string message;  // e.g. "got -3, expected a number > 0"
  std::string str() const { return path.empty() ? message : path + ": " + message; }
};

class UserError;

class Diagnostics {
 public:
  void error(std::string path, std::string message);
  // Records every problem of `e`, each path prefixed with `prefix` (a relative path from a
  // factory becomes a full JSON path).
  void add(const UserError& e, const std::string& prefix);
  bool ok() const { return problems_.empty(); }
  const std::vector<Problem>& problems() const { return problems_; }
  // Throws UserError with every problem if any were recorded.
  void throw_if_any() const;

 private:
  std::vector<Problem> problems_;
};

// A mistake in what the user gave: exit code 2.
class UserError : public std::runtime_error {
 public:
  // One problem without a path (the message names what it is about, e.g. a file).
  explicit UserError(const std::string& message) : UserError(std::string(), message) {}
  // One problem at `path` (relative or full, see above).
  UserError(std::string path, std::string message);
  explicit UserError(std::vector<Problem> problems);
  const std::vector<Problem>& problems() const { return problems_; }
  // The path of the first problem ("" if it has none), e.g. the parameter a factory named.
  const std::string& path() const { return problems_.front().path; }
  // The message of the first problem, without its path.
  const std::string& message() const { return problems_.front().message; }

 private:
  std::vector<Problem> problems_;
};

// Compact rendering of a JSON value for messages: strings quoted, long values elided.
std::string show(const nlohmann::json& value);

// The one form of a bad-value message: "got <value>, expected <expected>".
std::string got_expected(const nlohmann::json& got, const std::string& expected);

// Closest candidate by edit distance, or "" if none is reasonably close.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

// "unknown encoder 'rop'; did you mean 'rope'? available: alibi, learned, rope, sinusoidal"
std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& candidates);

// A count with its noun in the right number: count_of(1, "experiment") = "1 experiment",
// count_of(2, "experiment") = "2 experiments", count_of(2, "entry", "entries") = "2 entries".
// Inline: the SDK's compiled symbols stay as they were.
inline std::string count_of(long long n, const std::string& singular,
                            const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? singular : plural.empty() ? singular + "s" : plural);
}

// JSON path helpers: join("a", "b") = "a.b"; index("a", 2) = "a[2]".
std::string join_path(const std::string& base, const std::string& key);
std::string index_path(const std::string& base, size_t index);

}  // namespace posbench
