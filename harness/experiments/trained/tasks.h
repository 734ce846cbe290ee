#pragma once
// Algorithmic tasks of the trained length-generalization experiment (trained_extrapolation),
// generated on the fly from a seed (no torch here: plain token vectors).
//
// Every example is one token sequence  [BOS] input ... SEP output ...  ; a decoder-only model
// reads it left to right and the loss counts only the output tokens (predicted from the token
// before each). BOS (a beginning-of-sequence token, `TaskSpec::bos`) is Kazemnejad et al. 2023's
// setup: it is the one token at a fixed place, so a causal model can read absolute positions off
// it (attention to it is 1/(t+1) at position t) even without a positional encoding.
// Vocabulary (ids):  0 PAD (right padding in a batch), 1 SEP, 2 PLUS, 3 BOS, then the symbols from
// kFirstSymbol = 4: symbol s in [0, alphabet) is id 4 + s. Addition and parity use the symbols
// 0..9 / 0..1 as digits / bits, so the vocabulary is 4 + max(alphabet, 10) ids.
//
// What the length n means, per task (sequence length T in brackets, one more with BOS):
//   copy      : n symbols x -> x                                          [2n + 1]
//   reverse   : n symbols x -> x reversed                                 [2n + 1]
//   sort      : n symbols x -> x sorted ascending                         [2n + 1]
//   duplicate : n symbols x -> x x                                        [3n + 1]
//   addition  : a PLUS b -> a + b with a, b of n decimal digits each (every digit uniform,
//               leading zeros allowed), the sum written with n + 1 digits; all three numbers in
//               `digit_order` (lsb_first: least significant digit first)    [3n + 3]
//   parity    : n bits -> their XOR (one bit)                             [n + 2]
//   lookup    : n key-value pairs k1 v1 .. kn vn, then a query key q -> the value of the LAST pair
//               whose key is q (keys and values uniform symbols, keys may repeat; q is the key of
//               a uniformly chosen pair)                                   [2n + 3]
// Symbols are uniform in [0, alphabet) (bits in {0, 1}, digits in [0, 10)).
#include <cstdint>
#include <string>
#include <vector>

#include "encoders/rng.h"

namespace posbench::trained {

enum class TaskKind { copy, reverse, sort, duplicate, addition, parity, lookup };

inline constexpr int64_t kPad = 0, kSep = 1, kPlus = 2, kBos = 3, kFirstSymbol = 4;

const std::vector<std::string>& task_names();      // in TaskKind order
TaskKind task_from_name(const std::string& name);  // name must be one of task_names()
const char* to_string(TaskKind kind);

struct TaskSpec {
  TaskKind kind = TaskKind::copy;
  int64_t alphabet = 10;                     // symbols of copy/reverse/sort/duplicate/lookup
  bool lsb_first = true;                     // addition's digit order
  bool bos = false;                          // a BOS token first (the experiment's default: yes)
  int64_t vocab() const;                     // 4 + max(alphabet, 10)
  int64_t sequence_length(int64_t n) const;  // T above, + 1 with BOS
  int64_t output_length(int64_t n) const;    // number of output tokens
};

// One example: tokens [T]; the output occupies tokens[output_start, T).
struct Example {
  std::vector<int64_t> tokens;
  int64_t output_start = 0;
};

// Draws one example of length n from `rng` (n >= 1).
Example make_example(const TaskSpec& task, int64_t n, Rng& rng);

// A right-padded batch for next-token training, row-major [rows, cols] with cols = the longest
// T - 1 of the batch:
//   inputs[r, t]  = tokens[t]                 (PAD past the example's T - 1)
//   targets[r, t] = tokens[t + 1]             (PAD past the end)
//   loss_mask[r, t] = 1 where targets[r, t] is an output token (t + 1 >= output_start), else 0
//   lengths[r] = T - 1 of row r
struct Batch {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> inputs, targets, lengths;
  std::vector<float> loss_mask;
};
Batch make_batch(const std::vector<Example>& examples);

}  // namespace posbench::trained
