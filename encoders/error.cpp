#include "encoders/error.h"

#include <algorithm>

namespace posbench {

void Diagnostics::error(std::string path, std::string message) {
  problems_.push_back({std::move(path), std::move(message)});
}

void Diagnostics::add(const UserError& e, const std::string& prefix) {
  for (const auto& p : e.problems()) error(join_path(prefix, p.path), p.message);
}

void Diagnostics::throw_if_any() const {
  if (!problems_.empty()) throw UserError(problems_);
}

static std::string join_problems(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += "\n";
    out += p.str();
  }
  return out;
}

UserError::UserError(std::string path, std::string message)
    : UserError(std::vector<Problem>{{std::move(path), std::move(message)}}) {}

UserError::UserError(std::vector<Problem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {
  // path() and message() read the first problem: there always is one.
  if (problems_.empty()) problems_.push_back({"", "(an error without a message)"});
}

std::string show(const nlohmann::json& value) {
  // Text that is not UTF-8 (a command-line argument, a file name) shows U+FFFD in place of each
  // bad byte: dump() would throw type_error.316 and turn a user's mistake into a failure.
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) {
    size_t cut = 57;  // never inside a UTF-8 sequence (continuation bytes are 10xxxxxx)
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string got_expected(const nlohmann::json& got, const std::string& expected) {
  return "got " + show(got) + ", expected " + expected;
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& name, const std::vector<std::string>& candidates) {
  if (name.empty()) return "";  // nothing typed: no guess is closer than another
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(name, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Accept a match within about a third of the longer name (at least 2 edits), or a prefix.
  size_t limit = std::max<size_t>(2, std::max(name.size(), best.size()) / 3);
  if (best_d <= limit) return best;
  for (const auto& c : candidates)
    if (!name.empty() && c.rfind(name, 0) == 0) return c;
  return "";
}

std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& candidates) {
  std::string msg = "unknown " + what + " '" + name + "'";
  std::string guess = closest_match(name, candidates);
  if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
  msg += guess.empty() ? "; available: " : " available: ";
  for (size_t i = 0; i < candidates.size(); ++i) msg += (i ? ", " : "") + candidates[i];
  return msg;
}

std::string join_path(const std::string& base, const std::string& key) {
  if (base.empty()) return key;
  if (key.empty()) return base;
  return key[0] == '[' ? base + key : base + "." + key;  // "a" + "[2].b" = "a[2].b"
}

std::string index_path(const std::string& base, size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

}  // namespace posbench
