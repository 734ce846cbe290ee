#pragma once
// The speed experiment's declared parameters and the typed configuration built from them.
#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoders/params.h"
#include "harness/kernels/bfloat16.h"
#include "harness/kernels/ops.h"

namespace posbench::speed {

// {seq, heads, head_dim}, or {seq, dim} (= 1 head of width dim, `flat`).
struct Shape {
  int64_t seq = 0, heads = 1, head_dim = 0;
  bool flat = false;
  std::string text() const;        // "SxHxD" or "SxD"
  nlohmann::json to_json() const;  // as it was given
};

enum class Dtype { float32, float64, bfloat16 };
const char* to_string(Dtype dtype);

// Calls f(T{}) with the storage type of `dtype`: the one place the dtype picks a template.
template <class F>
decltype(auto) with_storage_type(Dtype dtype, F&& f) {
  switch (dtype) {
    case Dtype::float32:
      return f(float{});
    case Dtype::float64:
      return f(double{});
    case Dtype::bfloat16:
      return f(kernels::bfloat16{});
  }
  throw std::logic_error("speed: unknown dtype");
}

struct Config {
  std::vector<std::string> operations;  // as given, each once, in order
  std::vector<Shape> shapes;
  Dtype dtype = Dtype::float32;
  double min_time = 0.25;
  int repetitions = 5;
  uint64_t probe_bytes = 0;  // probe_mib in bytes
  bool huge_pages = true;
  bool attention_baseline = true;
  std::vector<kernels::Impl> impls;  // as given, each once, in order
  std::vector<int> threads;          // ascending, each once

  bool wants(const std::string& operation) const;
  // bfloat16 storage covers table, apply and materialize_bias (harness/kernels/bfloat16.h).
  bool attention_supported() const { return dtype != Dtype::bfloat16; }
  int min_threads() const { return threads.front(); }
  int max_threads() const { return threads.back(); }
};

// Throws UserError("shapes", ...) for a shape of more than 2^36 elements.
Config config_from(const Params& p);

// The declared parameters (nested: lists of choices, of integers and of shape objects).
std::vector<ParamSpec> param_specs();

}  // namespace posbench::speed
