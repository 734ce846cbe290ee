#include "harness/experiments/trained/tasks.h"

#include <algorithm>
#include <stdexcept>

namespace posbench::trained {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"copy",     "reverse", "sort",  "duplicate",
                                                 "addition", "parity",  "lookup"};
  return names;
}

TaskKind task_from_name(const std::string& name) {
  const auto& names = task_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) throw std::invalid_argument("unknown task " + name);
  return TaskKind(it - names.begin());
}

const char* to_string(TaskKind kind) { return task_names()[size_t(kind)].c_str(); }

int64_t TaskSpec::vocab() const { return kFirstSymbol + std::max<int64_t>(alphabet, 10); }

int64_t TaskSpec::sequence_length(int64_t n) const {
  const int64_t first = bos ? 1 : 0;
  switch (kind) {
    case TaskKind::duplicate:
      return first + 3 * n + 1;
    case TaskKind::addition:
      return first + 3 * n + 3;
    case TaskKind::parity:
      return first + n + 2;
    case TaskKind::lookup:
      return first + 2 * n + 3;
    default:
      return first + 2 * n + 1;
  }
}

int64_t TaskSpec::output_length(int64_t n) const {
  switch (kind) {
    case TaskKind::duplicate:
      return 2 * n;
    case TaskKind::addition:
      return n + 1;
    case TaskKind::parity:
    case TaskKind::lookup:
      return 1;
    default:
      return n;
  }
}

namespace {

int64_t draw(Rng& rng, int64_t k) {  // uniform in [0, k)
  return std::min(k - 1, int64_t(rng.uniform() * double(k)));
}

}  // namespace

Example make_example(const TaskSpec& task, int64_t n, Rng& rng) {
  if (n < 1) throw std::invalid_argument("task length n must be >= 1");
  Example ex;
  auto& t = ex.tokens;
  t.reserve(size_t(task.sequence_length(n)));
  if (task.bos) t.push_back(kBos);
  auto sym = [](int64_t s) { return kFirstSymbol + s; };
  std::vector<int64_t> x;
  switch (task.kind) {
    case TaskKind::copy:
    case TaskKind::reverse:
    case TaskKind::sort:
    case TaskKind::duplicate: {
      for (int64_t i = 0; i < n; ++i) x.push_back(draw(rng, task.alphabet));
      for (int64_t s : x) t.push_back(sym(s));
      t.push_back(kSep);
      ex.output_start = int64_t(t.size());
      std::vector<int64_t> y = x;
      if (task.kind == TaskKind::reverse) std::reverse(y.begin(), y.end());
      if (task.kind == TaskKind::sort) std::sort(y.begin(), y.end());
      if (task.kind == TaskKind::duplicate) y.insert(y.end(), x.begin(), x.end());
      for (int64_t s : y) t.push_back(sym(s));
      break;
    }
    case TaskKind::addition: {
      // Digits least significant first; written reversed for msb_first.
      std::vector<int64_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n)),
          c(static_cast<size_t>(n + 1));
      for (auto& d : a) d = draw(rng, 10);
      for (auto& d : b) d = draw(rng, 10);
      int64_t carry = 0;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t s = a[size_t(i)] + b[size_t(i)] + carry;
        c[size_t(i)] = s % 10;
        carry = s / 10;
      }
      c[size_t(n)] = carry;
      auto put = [&](std::vector<int64_t> digits) {
        if (!task.lsb_first) std::reverse(digits.begin(), digits.end());
        for (int64_t d : digits) t.push_back(sym(d));
      };
      put(a);
      t.push_back(kPlus);
      put(b);
      t.push_back(kSep);
      ex.output_start = int64_t(t.size());
      put(c);
      break;
    }
    case TaskKind::parity: {
      int64_t p = 0;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t bit = draw(rng, 2);
        p ^= bit;
        t.push_back(sym(bit));
      }
      t.push_back(kSep);
      ex.output_start = int64_t(t.size());
      t.push_back(sym(p));
      break;
    }
    case TaskKind::lookup: {
      std::vector<int64_t> keys(static_cast<size_t>(n)), values(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        keys[size_t(i)] = draw(rng, task.alphabet);
        values[size_t(i)] = draw(rng, task.alphabet);
        t.push_back(sym(keys[size_t(i)]));
        t.push_back(sym(values[size_t(i)]));
      }
      const int64_t q = keys[size_t(draw(rng, n))];
      int64_t answer = 0;
      for (int64_t i = 0; i < n; ++i)
        if (keys[size_t(i)] == q) answer = values[size_t(i)];  // the last pair with key q
      t.push_back(sym(q));
      t.push_back(kSep);
      ex.output_start = int64_t(t.size());
      t.push_back(sym(answer));
      break;
    }
  }
  return ex;
}

Batch make_batch(const std::vector<Example>& examples) {
  Batch b;
  b.rows = int64_t(examples.size());
  for (const auto& e : examples) b.cols = std::max(b.cols, int64_t(e.tokens.size()) - 1);
  const size_t cells = size_t(b.rows * b.cols);
  b.inputs.assign(cells, kPad);
  b.targets.assign(cells, kPad);
  b.loss_mask.assign(cells, 0.0f);
  for (int64_t r = 0; r < b.rows; ++r) {
    const auto& e = examples[size_t(r)];
    const int64_t len = int64_t(e.tokens.size()) - 1;
    b.lengths.push_back(len);
    for (int64_t t = 0; t < len; ++t) {
      const size_t at = size_t(r * b.cols + t);
      b.inputs[at] = e.tokens[size_t(t)];
      b.targets[at] = e.tokens[size_t(t + 1)];
      b.loss_mask[at] = t + 1 >= e.output_start ? 1.0f : 0.0f;
    }
  }
  return b;
}

}  // namespace posbench::trained
