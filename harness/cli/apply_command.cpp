// `posbench apply`: one scheme on one .npy array, with the float64 reference ops of
// harness/analysis/apply.h, so any scheme can be compared with an outside implementation.
#include "harness/cli/apply_command.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <vector>

#include "encoders/checked_size.h"
#include "encoders/error.h"
#include "encoders/files.h"
#include "encoders/npy.h"
#include "encoders/registry.h"
#include "harness/analysis/apply.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"

namespace posbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string rank_text(size_t rank) {
  return std::to_string(rank) + (rank == 1 ? " dimension" : " dimensions");
}

// Index of the first element that is NaN or infinite, or -1.
template <class T>
int64_t first_non_finite(const std::vector<T>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return int64_t(i);
  return -1;
}

// The array's element type as a pointer, for the templated reference ops.
template <class F>
void with_data(NpyArray& a, F&& f) {
  if (a.dtype == NpyDtype::float32)
    f(a.f32.data());
  else
    f(a.f64.data());
}

}  // namespace

void apply_command(const ApplyArgs& args) {
  // 1. The scheme and its params (errors carry "params.<name>" paths and did-you-mean).
  const auto& registry = EncoderRegistry::instance();
  if (!registry.find(args.scheme))
    throw UserError(unknown_name_message("scheme", args.scheme, registry.names()));
  const json params = parse_json_text(args.params_json, "--params");
  json spec = {{"name", args.scheme}, {"params", params}};
  if (!args.hf_config.empty()) spec["hf_config"] = args.hf_config;
  Diagnostics diag;
  EntrySource source;
  EncoderInstance inst = build_encoder(spec, "", diag, {}, &source);
  // A problem of the file is named by the option that gave it.
  auto option_path = [](const Problem& p) {
    return Problem{p.path == "hf_config" ? "--hf-config" : p.path, p.message};
  };
  if (!diag.ok()) {
    std::vector<Problem> problems;
    for (const auto& p : diag.problems()) problems.push_back(option_path(p));
    throw UserError(problems);
  }
  const Encoder& enc = *inst.encoder;

  if (args.role != "query" && args.role != "key")
    throw UserError("--role", got_expected(args.role, "one of query, key"));
  const Role role = args.role == "key" ? Role::key : Role::query;
  if (args.offset < 0)
    throw UserError("--offset: got " + std::to_string(args.offset) +
                    ", expected a non-negative position");
  require_utf8_path(args.input, "--input");
  require_utf8_path(args.output, "--output");
  check_output_target(args.output, "--output", args.force);

  // 2. The input's header: shape checks and the memory estimate before reading any data.
  const NpyHeader header = read_npy_header(args.input);
  const std::vector<int64_t>& shape = header.shape;
  const std::string where = args.input + ": shape " + npy_shape_text(shape);
  CheckedSize count = 1;
  for (int64_t d : shape) count *= d;
  if (!count.as_int64())
    throw UserError(where + " has " + count.text() +
                    " elements, more than a 64-bit count holds; expected a smaller array");
  const int64_t elements = *count.as_int64();
  if (elements == 0) throw UserError(where + " has no elements, expected a non-empty array");

  const Family family = enc.family();
  const char* family_name = to_string(family);
  int64_t n = 0, dim = 0, heads = 1, n_k = 0;
  switch (family) {
    case Family::additive:
      if (shape.size() != 2)
        throw UserError(where + " has " + rank_text(shape.size()) + ", expected [n, d] for the " +
                        family_name + " scheme '" + args.scheme + "'");
      n = shape[0], dim = shape[1];
      break;
    case Family::rotary:
      if (shape.size() != 2 && shape.size() != 3)
        throw UserError(where + " has " + rank_text(shape.size()) +
                        ", expected [n, heads, head_dim] or [n, head_dim] for the " + family_name +
                        " scheme '" + args.scheme + "'");
      n = shape[0], dim = shape.back(), heads = shape.size() == 3 ? shape[1] : 1;
      break;
    case Family::bias:
      if (shape.size() != 3)
        throw UserError(where + " has " + rank_text(shape.size()) +
                        ", expected [heads, n_q, n_k] attention logits for the " + family_name +
                        " scheme '" + args.scheme + "'");
      heads = shape[0], n = shape[1], n_k = shape[2];
      break;
  }
  if (args.offset > std::numeric_limits<int64_t>::max() - n)
    throw UserError("--offset: got " + std::to_string(args.offset) + ", expected offset + " +
                    std::to_string(n) + " rows to fit in a 64-bit position");
  try {
    enc.check_shape(family == Family::bias ? 0 : dim, heads);
  } catch (const UserError& e) {
    if (e.path().empty()) throw UserError(where + ": " + e.message());
    const Problem p =
        option_path(source.locate({join_path("params", e.path()), e.message()}, "params"));
    throw UserError(p.path, p.message);
  }

  // Input array + serialised output + float64 work buffer of the reference ops (their largest
  // temporary is one double per element) + positions + what the scheme keeps (its weights).
  const uint64_t limit = args.max_memory ? args.max_memory : default_memory_limit();
  const CheckedSize need = CheckedSize(header.data_bytes) * 2 + CheckedSize(elements) * 8 +
                           (CheckedSize(n) + n_k) * sizeof(int64_t) +
                           enc.memory_bytes(family == Family::bias ? 0 : dim, heads);
  if (!need.at_most(limit))
    throw UserError(where + ": applying '" + args.scheme + "' would need about " +
                    (need.ok() ? human_bytes(*need.value()) + " (" + need.text() + " bytes)"
                               : std::string("more than 2^64 bytes")) +
                    ", above the memory limit of " + human_bytes(limit) +
                    "; expected a smaller array or a larger --max-memory");

  // 3. Read (the scheme's weight files first), apply in place, write.
  try {
    enc.load();
  } catch (const UserError& e) {
    throw UserError(join_path("params", e.path()), e.message());
  }
  NpyArray a = read_npy(args.input, limit);
  std::vector<int64_t> positions(n);
  std::iota(positions.begin(), positions.end(), args.offset);
  try {
    with_data(a, [&](auto* x) {
      switch (family) {
        case Family::additive:
          add_positional(enc, positions, dim, x);
          break;
        case Family::rotary:
          rotate(enc, positions, heads, dim, RotaryContext{role, args.offset + n}, x);
          break;
        case Family::bias: {
          std::vector<int64_t> k_positions(n_k);
          std::iota(k_positions.begin(), k_positions.end(), int64_t(0));
          add_bias(enc, positions, k_positions, heads, x);
          break;
        }
      }
    });
  } catch (const UnsupportedPosition& e) {
    throw UserError(where + " with --offset " + std::to_string(args.offset) + ": " + e.what());
  }
  // The input was finite (read_npy checks), so a NaN or inf here is a result beyond the range of
  // the storage type (xPos keys far from position 0 in float32, an input near the largest double
  // times an attention factor above 1): never written silently.
  const bool f32 = a.dtype == NpyDtype::float32;
  if (const int64_t bad = f32 ? first_non_finite(a.f32) : first_non_finite(a.f64); bad >= 0) {
    const double v = f32 ? double(a.f32[bad]) : a.f64[bad];
    throw UserError(where + " with --offset " + std::to_string(args.offset) + ": the result at " +
                    "flat index " + std::to_string(bad) + " (C order) is " +
                    (std::isnan(v) ? "NaN"
                     : v > 0       ? "inf"
                                   : "-inf") +
                    ", beyond the range of " + (f32 ? "float32" : "float64") +
                    "; expected finite results (" + (f32 ? "give float64 input, or " : "give ") +
                    "smaller input values, positions or params)");
  }
  if (args.force)
    replace_file_atomically(args.output, npy_bytes(a));
  else
    write_npy(args.output, a);
}

}  // namespace posbench
