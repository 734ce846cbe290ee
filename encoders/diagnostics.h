#pragma once
// One idiom for user-facing errors: every problem has a JSON path (or a CLI argument), the
// bad value and what was expected. `validate` collects all of them; other commands stop at
// the first batch. Exit codes: 2 for anything the user can fix, 1 for runtime failures.

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

class Diagnostics {
 public:
  void error(std::string path, std::string message);
  bool ok() const { return problems_.empty(); }
  const std::vector<Problem>& problems() const { return problems_; }
  // Throws UserError with every problem if any were recorded.
  void throw_if_any() const;

 private:
  std::vector<Problem> problems_;
};

// A mistake in what the user gave (config, arguments, input file): exit code 2.
class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message)
      : std::runtime_error(message), problems_{{"", message}} {}
  explicit UserError(std::vector<Problem> problems);
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

// Compact rendering of a JSON value for messages: strings quoted, long values elided.
std::string show(const nlohmann::json& value);

// Closest candidate by edit distance, or "" if none is reasonably close.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

// "unknown encoder 'rop'; did you mean 'rope'? available: alibi, learned, rope, sinusoidal"
std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& candidates);

// JSON path helpers: join("a", "b") = "a.b"; index("a", 2) = "a[2]".
std::string join_path(const std::string& base, const std::string& key);
std::string index_path(const std::string& base, size_t index);

}  // namespace posbench
