#include "harness/experiments/speed/parameters.h"

#include <algorithm>

#include "encoders/checked_size.h"

namespace posbench::speed {

using nlohmann::json;

namespace {

// Functions, not namespace-scope vectors: param_specs() runs during static initialisation (the
// registration in speed.cpp), before this file's own globals may be constructed (ASan's
// initialization-order check found it).
const std::vector<std::string>& operation_names() {
  static const std::vector<std::string> names = {"table", "apply", "materialize_bias", "attention"};
  return names;
}
const std::vector<std::string>& implementation_names() {
  static const std::vector<std::string> names = {"reference", "simd"};
  return names;
}

// Names in the order given, each once.
std::vector<std::string> unique_in_order(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

// Resolved shapes: {seq, heads, head_dim} or {seq, dim} (the spec admits exactly one form).
std::vector<Shape> shapes_of(const std::vector<Params>& given) {
  std::vector<Shape> out;
  for (const Params& s : given) {
    Shape shape;
    shape.seq = s.integer("seq");
    shape.flat = s.has("dim");
    shape.heads = shape.flat ? 1 : s.integer("heads");
    shape.head_dim = shape.flat ? s.integer("dim") : s.integer("head_dim");
    out.push_back(shape);
  }
  return out;
}

Dtype dtype_of(const std::string& name) {
  if (name == "float64") return Dtype::float64;
  if (name == "bfloat16") return Dtype::bfloat16;
  return Dtype::float32;
}

}  // namespace

std::string Shape::text() const {
  return flat ? fmt::format("{}x{}", seq, head_dim) : fmt::format("{}x{}x{}", seq, heads, head_dim);
}

json Shape::to_json() const {
  return flat ? json{{"seq", seq}, {"dim", head_dim}}
              : json{{"seq", seq}, {"heads", heads}, {"head_dim", head_dim}};
}

const char* to_string(Dtype dtype) {
  switch (dtype) {
    case Dtype::float32:
      return "float32";
    case Dtype::float64:
      return "float64";
    case Dtype::bfloat16:
      return "bfloat16";
  }
  return "?";
}

bool Config::wants(const std::string& operation) const {
  return std::find(operations.begin(), operations.end(), operation) != operations.end();
}

Config config_from(const Params& p) {
  Config c;
  c.operations = unique_in_order(p.strings("operations"));
  c.shapes = shapes_of(p.objects("shapes"));
  c.dtype = dtype_of(p.string("dtype"));
  c.min_time = p.number("min_time");
  c.repetitions = int(p.integer("repetitions"));
  c.probe_bytes = uint64_t(p.integer("probe_mib")) << 20;
  c.huge_pages = p.boolean("huge_pages");
  c.attention_baseline = p.boolean("attention_baseline");
  for (const auto& name : unique_in_order(p.strings("implementations")))
    c.impls.push_back(name == "simd" ? kernels::Impl::simd : kernels::Impl::reference);
  for (int64_t t : p.integers("threads")) c.threads.push_back(int(t));
  std::sort(c.threads.begin(), c.threads.end());
  c.threads.erase(std::unique(c.threads.begin(), c.threads.end()), c.threads.end());
  // Every size the plan, the memory model, the workspaces and the kernels compute from a shape is
  // a small multiple of these two counts, so bounding them here (checked: the products
  // themselves overflow 64 bits for seq above ~4e9) keeps all of that arithmetic in range.
  const uint64_t limit = uint64_t(1) << 36;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    const Shape& s = c.shapes[i];
    const CheckedSize logits = CheckedSize(s.heads) * s.seq * s.seq;
    const CheckedSize embedding = CheckedSize(s.seq) * s.heads * s.head_dim;
    if (!logits.at_most(limit) || !embedding.at_most(limit))
      throw UserError("shapes[" + std::to_string(i) + "]",
                      "shape " + s.text() + " is too large: heads * seq * seq = " + logits.text() +
                          " and seq * heads * head_dim = " + embedding.text() +
                          ", expected each at most 2^36 = " + std::to_string(limit));
  }
  return c;
}

std::vector<ParamSpec> param_specs() {
  return {
      ParamSpec::list_of("operations", ParamSpec::choice("", "", operation_names(), ""),
                         operation_names(),
                         "operations to time: table, apply, materialize_bias, attention "
                         "(attention also times the fused variant for bias schemes)")
          .non_empty(),
      ParamSpec::list_of(
          "shapes",
          ParamSpec::object_of(
              "",
              {ParamSpec::integer("seq", nullptr, "sequence length").at_least(1).mandatory(),
               ParamSpec::integer("heads", nullptr, "attention heads").at_least(1),
               ParamSpec::integer("head_dim", nullptr, "width of a head").at_least(1),
               ParamSpec::integer("dim", nullptr, "width of one head (= 1 head)").at_least(1)},
              nullptr, "")
              .exactly_one_of({{"heads", "head_dim"}, {"dim"}}),
          json::array({{{"seq", 1024}, {"heads", 8}, {"head_dim", 64}}}),
          "list of {seq, heads, head_dim} or {seq, dim}")
          .non_empty(),
      ParamSpec::list_of("threads", ParamSpec::integer("", nullptr, "").at_least(1).at_most(1024),
                         {1}, "OpenMP thread counts, each honoured exactly")
          .non_empty(),
      ParamSpec::choice("dtype", "float32", {"float32", "float64", "bfloat16"},
                        "storage type; bfloat16: stored in bfloat16, computed in float32, "
                        "rounded once (table, apply, materialize_bias; not attention)"),
      ParamSpec::list_of("implementations", ParamSpec::choice("", "", implementation_names(), ""),
                         implementation_names(),
                         "reference (plain scalar loops) and/or simd (xsimd, runtime "
                         "dispatch)")
          .non_empty(),
      ParamSpec::number("min_time", 0.25, "Google Benchmark minimum time per repetition, seconds")
          .above(0)
          .at_most(600),
      ParamSpec::integer("repetitions", 5, "repetitions per benchmark (statistics over them)")
          .at_least(1)
          .at_most(1000),
      ParamSpec::integer("probe_mib", 256,
                         "size of the fixed bandwidth probe, MiB (besides each operation's "
                         "working-set size)")
          .at_least(1)
          .at_most(1 << 20),
      ParamSpec::boolean("huge_pages", true,
                         "advise MADV_HUGEPAGE on benchmark buffers (faster pre-fault, no "
                         "TLB misses)"),
      ParamSpec::boolean("attention_baseline", true,
                         "also time attention without any scheme, for each scheme's share"),
  };
}

}  // namespace posbench::speed
