#include "harness/run/sweep.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace posbench {

using nlohmann::json;

namespace {

// The parts of a dotted name ("scaling.factor" -> scaling, factor); empty parts are kept so the
// caller can refuse them.
std::vector<std::string> split_dotted(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// The path of a swept name's list: sweep["scaling.factor"] (quoted: the name holds dots).
std::string name_path(const std::string& sweep_path, const std::string& name) {
  return sweep_path + "[" + json(name).dump() + "]";
}

}  // namespace

std::vector<SweepPoint> sweep_points(const json& sweep, const std::string& path,
                                     Diagnostics& diag) {
  if (!sweep.is_object() || sweep.empty()) {
    diag.error(path, got_expected(sweep, R"(an object of lists, e.g. {"base": [10000, 500000]})"));
    return {};
  }
  bool ok = true;
  size_t count = 1;
  std::vector<std::string> names;
  for (const auto& [name, values] : sweep.items()) {
    names.push_back(name);
    for (const auto& part : split_dotted(name))
      if (part.empty()) {
        diag.error(name_path(path, name),
                   "a swept name must be a parameter, or parameters joined by '.' (\"scaling."
                   "factor\"); got '" +
                       name + "'");
        ok = false;
        break;
      }
    if (!values.is_array() || values.empty()) {
      diag.error(name_path(path, name), got_expected(values, "a non-empty list of values"));
      ok = false;
      continue;
    }
    count *= values.size();
    if (count > kMaxSweepPoints) {
      diag.error(path, fmt::format("more than {} points; expected a grid of at most {} points",
                                   kMaxSweepPoints, kMaxSweepPoints));
      return {};
    }
  }
  if (!ok) return {};
  std::vector<SweepPoint> points;
  std::vector<size_t> index(names.size(), 0);
  for (size_t n = 0; n < count; ++n) {
    SweepPoint p;
    p.index = index;
    for (size_t k = 0; k < names.size(); ++k) {
      const json& v = sweep[names[k]][index[k]];
      p.values[names[k]] = v;
      p.text += (k ? "," : "") + names[k] + "=" + value_text(v);
    }
    points.push_back(std::move(p));
    // The last name varies fastest.
    for (size_t k = names.size(); k-- > 0;) {
      if (++index[k] < sweep[names[k]].size()) break;
      index[k] = 0;
    }
  }
  return points;
}

json apply_point(json params, const SweepPoint& point) {
  if (params.is_null()) params = json::object();
  if (!params.is_object()) return params;
  for (const auto& [name, value] : point.values.items()) {
    const auto parts = split_dotted(name);
    json* at = &params;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      json& next = (*at)[parts[i]];
      if (!next.is_object()) next = json::object();
      at = &next;
    }
    (*at)[parts.back()] = value;
  }
  return params;
}

std::string value_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_number()) return value.dump();
  const double v = value.get<double>();
  // Integers beyond 2^53 have no exact double: written in full.
  if (!std::isfinite(v) || v == 0 || (!value.is_number_float() && std::fabs(v) >= 0x1p53))
    return value.dump();
  // Shortest round-trip decimal (fmt's "{}"), and the same digits in exponent form.
  std::string plain = fmt::format("{}", v);
  if (plain.size() > 2 && plain.compare(plain.size() - 2, 2, ".0") == 0)
    plain.resize(plain.size() - 2);
  std::string sci;  // "5e+05": the fewest mantissa digits that read back as v
  for (int digits = 0; digits <= 17; ++digits) {
    sci = fmt::format("{:.{}e}", v, digits);
    if (std::stod(sci) == v) break;
  }
  const auto e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  sci = mantissa + "e" + std::to_string(exponent);
  // Where the plain form is itself in exponent form (fmt uses it for large and small values),
  // the compact form is taken.
  return sci.size() < plain.size() ? sci : plain;
}

std::string point_label(const std::string& stem, const std::string& templ, const SweepPoint& point,
                        const std::string& label_path, Diagnostics& diag) {
  if (templ.find('{') == std::string::npos) return stem + "[" + point.text + "]";
  std::string out;
  for (size_t i = 0; i < templ.size();) {
    const size_t open = templ.find('{', i);
    if (open == std::string::npos) {
      out += templ.substr(i);
      break;
    }
    out += templ.substr(i, open - i);
    const size_t close = templ.find('}', open);
    if (close == std::string::npos) {
      diag.error(label_path, "got " + json(templ).dump() +
                                 ", expected a label template whose every '{' closes with '}'");
      return stem + "[" + point.text + "]";
    }
    const std::string name = templ.substr(open + 1, close - open - 1);
    if (!point.values.contains(name)) {
      std::vector<std::string> names;
      for (const auto& [n, v] : point.values.items()) names.push_back(n);
      diag.error(label_path, "the template names '{" + name + "}', which is not swept; " +
                                 unknown_name_message("swept name", name, names));
      return stem + "[" + point.text + "]";
    }
    out += value_text(point.values[name]);
    i = close + 1;
  }
  return out;
}

Problem locate_point_problem(const Problem& p, const std::string& params_path,
                             const std::string& sweep_path, const SweepPoint& point) {
  size_t k = 0;
  for (const auto& [name, value] : point.values.items()) {
    const std::string at = params_path.empty() ? name : params_path + "." + name;
    const bool inside =
        p.path.compare(0, at.size(), at) == 0 &&
        (p.path.size() == at.size() || p.path[at.size()] == '.' || p.path[at.size()] == '[');
    if (inside)
      return {name_path(sweep_path, name) + "[" + std::to_string(point.index[k]) + "]" +
                  p.path.substr(at.size()),
              p.message};
    ++k;
  }
  return p;
}

std::vector<Problem> merge_point_problems(const std::vector<std::vector<Problem>>& problems,
                                          const std::vector<std::string>& names) {
  struct Seen {
    Problem problem;
    std::vector<std::string> at;
  };
  std::vector<Seen> seen;
  std::map<std::pair<std::string, std::string>, size_t> where;
  for (size_t i = 0; i < problems.size(); ++i)
    for (const auto& p : problems[i]) {
      const auto key = std::make_pair(p.path, p.message);
      auto it = where.find(key);
      if (it == where.end()) {
        it = where.emplace(key, seen.size()).first;
        seen.push_back({p, {}});
      }
      auto& at = seen[it->second].at;
      if (at.empty() || at.back() != names[i]) at.push_back(names[i]);
    }
  std::vector<Problem> out;
  for (auto& s : seen) {
    std::string prefix;
    if (s.at.size() == names.size() || (s.at.size() == 1 && s.at[0].empty())) {
      // at every point (or no sweep): it does not depend on the point
    } else if (s.at.size() <= 3) {
      for (size_t i = 0; i < s.at.size(); ++i)
        prefix += (i == 0 ? "" : i + 1 == s.at.size() ? " and " : ", ") + s.at[i];
      prefix = "at " + prefix + ": ";
    } else {
      prefix = fmt::format("at {}, {} and {} other points: ", s.at[0], s.at[1], s.at.size() - 2);
    }
    s.problem.message = prefix + s.problem.message;
    out.push_back(std::move(s.problem));
  }
  return out;
}

}  // namespace posbench
