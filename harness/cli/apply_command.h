#pragma once
// `posbench apply NAME --input IN.npy --output OUT.npy [--params JSON] [--hf-config FILE]
//                       [--offset P] [--role query|key]`:
// applies one scheme to a numpy array so any scheme can be checked against another
// implementation from outside.
//   additive : IN [n, d]                       -> IN[t] + PE(P + t)
//   rotary   : IN [n, heads, head_dim] or [n, head_dim] -> rows rotated at position P + t, as
//              queries (--role query, the default) or keys (--role key: RotaryContext::role;
//              xPos scales keys by zeta^(-m/scale_base), RoPE ignores it)
//   bias     : IN [heads, n_q, n_k] logits     -> IN[h, i, j] + b_h(P + i, j)
// float32 or float64 in, same dtype out, C order. --role is accepted for every family and
// only read by rotary schemes. --hf-config (rope only) reads the params from a HuggingFace
// config.json exactly as an encoder entry's hf_config does (harness/run/hf_config.h), --params
// overriding the file's; with the model's head_dim known, the array's last axis must match it.

#include <cstdint>
#include <string>

namespace posbench {

struct ApplyArgs {
  std::string scheme;
  std::string input, output;
  std::string params_json = "{}";
  std::string hf_config;  // "" = none; relative to the current directory
  int64_t offset = 0;
  std::string role = "query";  // "query" or "key" (anything else: UserError naming --role)
  uint64_t max_memory = 0;     // bytes; 0: half of physical memory
  bool force = false;          // replace an existing --output (atomically) instead of refusing
};

// Throws UserError for bad input (exit 2); the output file is written atomically.
void apply_command(const ApplyArgs& args);

}  // namespace posbench
