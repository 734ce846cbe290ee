#include "harness/experiments/speed/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "encoders/checked_size.h"
#include "harness/kernels/bfloat16.h"

namespace posbench::speed {

using kernels::Impl;

namespace {

struct OpInfo {
  Op op;
  const char* name;
};
constexpr OpInfo kOpNames[] = {
    {Op::table, "table"},
    {Op::apply, "apply"},
    {Op::materialize_bias, "materialize_bias"},
    {Op::attention, "attention"},
    {Op::attention_fused, "attention_fused"},
    {Op::attention_none, "attention_none"},
    {Op::probe_inplace, "inplace"},
    {Op::probe_copy, "copy"},
    {Op::probe_fill, "fill"},
};

// The element counts an operation's cost is a multiple of.
enum class Count {
  embedding,  // seq * heads * head_dim: x, PE, or one of q, k, v
  rotated,    // seq * heads * rotary_dims: the rotated part of q or of k
  cache,      // seq * rotary_dims / 2: the cos or the sin table of one role
  bias,       // heads * seq * seq: logits or the bias
  causal,     // heads * seq * (seq + 1) / 2: the (query, key) pairs of causal attention
};

// One row per operation (and family, where they differ): elements = tensors * count; bytes and
// working set per element, in units of the dtype's size; flops per element per head_dim.
struct CostRow {
  Op op;
  std::optional<Family> family;  // nullopt: any (and none, for attention_none)
  Count count;
  double tensors;
  double bytes_per_element;  // read + written per iteration
  double working_set_per_element;
  double flops_per_element_per_head_dim;
  Op probe;
  bool memory_bound;
};
constexpr CostRow kCosts[] = {
    // PE written
    {Op::table, Family::additive, Count::embedding, 1, 1, 1, 0, Op::probe_fill, false},
    // cos and sin written
    {Op::table, Family::rotary, Count::cache, 2, 1, 1, 0, Op::probe_fill, false},
    // x and PE read, x written; x and PE are the working set
    {Op::apply, Family::additive, Count::embedding, 1, 3, 2, 0, Op::probe_inplace, true},
    // the rotated parts of q and of k read and written (the caches are small beside them)
    {Op::apply, Family::rotary, Count::rotated, 2, 2, 1, 0, Op::probe_inplace, true},
    // logits read and written
    {Op::apply, Family::bias, Count::bias, 1, 2, 1, 0, Op::probe_inplace, true},
    // the bias written
    {Op::materialize_bias, Family::bias, Count::bias, 1, 1, 1, 0, Op::probe_fill, true},
    // q.k and p.v: 2 multiply-adds of head_dim per (query, key) pair; no bytes reported
    {Op::attention, std::nullopt, Count::causal, 1, 0, 0, 4, Op::probe_fill, false},
    {Op::attention_fused, std::nullopt, Count::causal, 1, 0, 0, 4, Op::probe_fill, false},
    {Op::attention_none, std::nullopt, Count::causal, 1, 0, 0, 4, Op::probe_fill, false},
};

double elements_of(Count count, const Encoder* enc, const Shape& sh) {
  const double seq = double(sh.seq), heads = double(sh.heads);
  switch (count) {
    case Count::embedding:
      return seq * heads * double(sh.head_dim);
    case Count::rotated:
      return seq * heads * double(enc->rotary_dims(sh.head_dim));
    case Count::cache:
      return seq * double(enc->rotary_dims(sh.head_dim) / 2);
    case Count::bias:
      return heads * seq * seq;
    case Count::causal:
      return heads * seq * (seq + 1) / 2;
  }
  return 0;
}

}  // namespace

const char* op_name(Op op) {
  for (const OpInfo& o : kOpNames)
    if (o.op == op) return o.name;
  return "?";
}

bool is_probe(Op op) {
  return op == Op::probe_inplace || op == Op::probe_copy || op == Op::probe_fill;
}

uint64_t probe_size(uint64_t bytes) { return std::max<uint64_t>(64, (bytes + 63) / 64 * 64); }

Cost cost_of(Op op, const Encoder* enc, const Shape& shape, size_t elem_bytes) {
  for (const CostRow& row : kCosts) {
    if (row.op != op || (row.family && (!enc || enc->family() != *row.family))) continue;
    const double s = double(elem_bytes);
    Cost c;
    c.elements = row.tensors * elements_of(row.count, enc, shape);
    c.bytes = row.bytes_per_element * c.elements * s;
    c.working_set = uint64_t(row.working_set_per_element * c.elements * s);
    c.flops = row.flops_per_element_per_head_dim * double(shape.head_dim) * c.elements;
    c.probe = row.probe;
    c.memory_bound = row.memory_bound;
    return c;
  }
  throw std::logic_error(fmt::format("speed: no cost for {}", op_name(op)));
}

Cost probe_cost(Op kind, uint64_t bytes) {
  Cost c;
  c.working_set = bytes;
  c.bytes = kind == Op::probe_inplace ? 2.0 * double(bytes) : double(bytes);
  c.elements = double(bytes / 4);  // float32
  c.probe = kind;
  c.memory_bound = true;
  return c;
}

namespace {

// Which operation applies to which family (and dtype), and why not where it does not.
struct Applicability {
  const char* operation;
  Op op;
  bool (*applies)(const Config&, Family);
  std::string_view why_not;
};
const Applicability kApplicability[] = {
    {"table", Op::table, [](const Config&, Family f) { return f != Family::bias; },
     "table: a bias scheme has no table (see materialize_bias)"},
    {"apply", Op::apply, [](const Config&, Family) { return true; }, ""},
    {"materialize_bias", Op::materialize_bias,
     [](const Config&, Family f) { return f == Family::bias; },
     "materialize_bias: only bias schemes have a bias"},
    {"attention", Op::attention, [](const Config& c, Family) { return c.attention_supported(); },
     "attention: not implemented for bfloat16 storage (the attention kernels store logits and "
     "outputs in float32 or float64); use dtype float32"},
};

}  // namespace

std::vector<Op> ops_for(const Config& config, Family family) {
  std::vector<Op> out;
  for (const auto& name : config.operations)
    for (const Applicability& a : kApplicability)
      if (name == a.operation && a.applies(config, family)) out.push_back(a.op);
  return out;
}

std::vector<std::string> not_applicable(const Config& config, Family family) {
  std::vector<std::string> out;
  for (const auto& name : config.operations)
    for (const Applicability& a : kApplicability)
      if (name == a.operation && !a.applies(config, family)) out.emplace_back(a.why_not);
  return out;
}

namespace {

// Builds the plan group by group: the order of the groups and of the benchmarks in each is the
// order of the results.
class Planner {
 public:
  Planner(const Config& config, size_t elem_bytes) : c_(config), elem_bytes_(elem_bytes) {}

  // The machine's reference: all three kinds at probe_mib.
  void reference_probes() {
    const uint64_t bytes = probe_size(c_.probe_bytes);
    const int g = add_group({-1, Op::probe_inplace, -1, bytes});
    for (Op kind : {Op::probe_inplace, Op::probe_copy, Op::probe_fill}) probes(g, kind, bytes, "");
  }

  // Attention without any scheme, once per shape.
  void attention_baseline() {
    if (!c_.attention_supported() || !c_.wants("attention") || !c_.attention_baseline) return;
    for (size_t si = 0; si < c_.shapes.size(); ++si) {
      const int g = add_group({-1, Op::attention_none, int(si), 0});
      const Cost cost = cost_of(Op::attention_none, nullptr, c_.shapes[si], elem_bytes_);
      for (int t : c_.threads)
        for (Impl impl : c_.impls) {
          Bench b = bench(cost, g, Op::attention_none, int(si), t, impl);
          b.name = fmt::format("baseline/attention_none/{}/threads:{}/{}", c_.shapes[si].text(), t,
                               kernels::to_string(impl));
          b.memory_bound = false;
          b.probe = Op::table;
          b.working_set = 0;
          plan_.benches.push_back(b);
        }
    }
  }

  // One operation of one scheme at one shape: its group, its probe, its benchmarks. Bias schemes
  // time the fused attention in the same group (same data; a group's outputs are compared).
  void operation(int e, const EncoderInstance& enc, Op op, int si) {
    const Shape& sh = c_.shapes[size_t(si)];
    const Cost cost = cost_of(op, enc.encoder.get(), sh, elem_bytes_);
    const uint64_t probe_bytes = cost.working_set > 0 ? probe_size(cost.working_set) : 0;
    const int g = add_group({e, op, si, probe_bytes});
    if (probe_bytes > 0)
      probes(g, cost.probe, probe_bytes,
             fmt::format("{}/{}/{}", enc.label, op_name(op), sh.text()));
    std::vector<Op> variants{op};
    if (op == Op::attention && enc.family == Family::bias) variants.push_back(Op::attention_fused);
    for (int t : c_.threads)
      for (Impl impl : c_.impls)
        for (Op variant : variants) {
          Bench b = bench(cost, g, variant, si, t, impl);
          b.name = fmt::format("{}/{}/{}/threads:{}/{}", enc.label, op_name(variant), sh.text(), t,
                               kernels::to_string(impl));
          b.encoder = e;
          b.working_set = probe_bytes;
          b.probe = op == Op::apply ? Op::probe_inplace : Op::probe_fill;
          plan_.benches.push_back(b);
        }
  }

  Plan take() { return std::move(plan_); }

 private:
  int add_group(Group g) {
    plan_.groups.push_back(g);
    return int(plan_.groups.size()) - 1;
  }

  Bench bench(const Cost& cost, int g, Op op, int si, int threads, Impl impl) const {
    Bench b;
    b.op = op;
    b.shape = si;
    b.threads = threads;
    b.impl = impl;
    b.group = g;
    b.bytes = cost.bytes;
    b.elements = cost.elements;
    b.flops = cost.flops;
    b.memory_bound = cost.memory_bound;
    return b;
  }

  // Probe benchmarks of one kind per thread count, in group g.
  void probes(int g, Op kind, uint64_t bytes, const std::string& next_to) {
    const Cost cost = probe_cost(kind, bytes);
    for (int t : c_.threads) {
      Bench b = bench(cost, g, kind, -1, t, Impl::simd);
      b.name = fmt::format("probe/{}/{}B/threads:{}{}", op_name(kind), bytes, t,
                           next_to.empty() ? "" : "/next_to:" + next_to);
      b.working_set = bytes;
      b.next_to = next_to;
      plan_.benches.push_back(b);
    }
  }

  const Config& c_;
  size_t elem_bytes_;
  Plan plan_;
};

}  // namespace

Plan make_plan(const Config& config, const std::vector<EncoderInstance>& encoders,
               size_t elem_bytes) {
  Planner p(config, elem_bytes);
  p.reference_probes();
  p.attention_baseline();
  for (size_t e = 0; e < encoders.size(); ++e)
    for (Op op : ops_for(config, encoders[e].family))
      for (size_t si = 0; si < config.shapes.size(); ++si)
        p.operation(int(e), encoders[e], op, int(si));
  return p.take();
}

// ---- memory model ---------------------------------------------------------------------------

namespace {

// Bytes alive at once for one group of benchmarks (mirrors workspaces.cpp; Buffer pages are
// rounded up, hence the slack). Checked: config_from bounds the shapes, but the model must not
// wrap whatever it is given.
template <class T>
CheckedSize group_bytes(const Config& config, const Encoder* enc, Op op, const Shape& sh) {
  // Slack for what is not a Buffer: Eigen's GEMM packing, position vectors, page rounding.
  const uint64_t s = sizeof(T), slack = uint64_t(16) << 20;
  const int mt = config.max_threads();
  const CheckedSize qkv = CheckedSize(sh.seq) * sh.heads * sh.head_dim;
  const CheckedSize nn = CheckedSize(sh.heads) * sh.seq * sh.seq;
  if (op == Op::attention || op == Op::attention_fused || op == Op::attention_none) {
    if constexpr (std::is_same_v<T, kernels::bfloat16>) {
      return 0;  // not offered (attention_supported)
    } else {
      // q, k, v, out and one comparison output per implementation (AttentionWorkspace).
      CheckedSize b =
          qkv * (4 + config.impls.size()) * s +
          kernels::AttentionOp<T>::scratch_bytes(enc, sh.seq, sh.heads, sh.head_dim, mt);
      if (enc && enc->family() == Family::bias) b += nn * s;
      return b + slack;
    }
  }
  switch (enc->family()) {
    case Family::additive: {
      const int64_t dim = sh.heads * sh.head_dim;  // <= 2^36 (config_from)
      const CheckedSize scratch = kernels::AdditiveTable<T>::scratch_bytes(*enc, sh.seq, dim);
      if (op == Op::table) return qkv * (s + 8) + scratch + slack;  // + the float64 reference
      return qkv * 2 * s + scratch + slack;
    }
    case Family::rotary: {
      const CheckedSize c = CheckedSize(sh.seq) * (enc->rotary_dims(sh.head_dim) / 2);
      const CheckedSize scratch = kernels::RotaryTable<T>::scratch_bytes(*enc, sh.seq, sh.head_dim);
      if (op == Op::table) return c * 2 * (s + 8) + scratch + slack;
      return qkv * 2 * s + c * 8 * s + scratch + slack;  // q, k and 8 caches (R and R^-1)
    }
    case Family::bias:
      return nn * s + kernels::BiasOp<T>::scratch_bytes(*enc, sh.seq, sh.heads, mt) + slack;
  }
  return slack;
}

}  // namespace

template <class T>
uint64_t peak_bytes(const Config& config, const EncoderInstance* enc) {
  uint64_t peak = config.probe_bytes;
  for (const Shape& sh : config.shapes) {
    if (config.attention_baseline && config.wants("attention"))
      peak = std::max(peak, group_bytes<T>(config, nullptr, Op::attention_none, sh).saturated());
    if (!enc) continue;
    for (Op op : ops_for(config, enc->family)) {  // the group's buffers + the probe next to it
      const uint64_t ws = cost_of(op, enc->encoder.get(), sh, sizeof(T)).working_set;
      const CheckedSize group =
          group_bytes<T>(config, enc->encoder.get(), op, sh) + (ws > 0 ? probe_size(ws) : 0);
      peak = std::max(peak, group.saturated());
    }
  }
  return peak;
}

template uint64_t peak_bytes<float>(const Config&, const EncoderInstance*);
template uint64_t peak_bytes<double>(const Config&, const EncoderInstance*);
template uint64_t peak_bytes<kernels::bfloat16>(const Config&, const EncoderInstance*);

}  // namespace posbench::speed
