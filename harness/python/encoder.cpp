// posbench.Encoder: one registered scheme built from keyword params (checked and resolved as a
// config's encoder entry is), with its family operations on numpy arrays.
//
// Arrays in: `x`/`out` of apply() must be numpy float32 or float64 in C order, native byte
// order; they are used in place, never copied (anything else is refused with a ValueError that
// says how to convert it). Positions are an int n (0..n-1) or a 1-D integer array-like.
// Arrays out: float64 for table / rotary_coefficients / bias (the scheme's own float64 values),
// x's dtype for apply. The GIL is released while posbench computes.
//
// apply() layouts are those of `posbench apply` (harness/cli/apply_command.h):
//   additive : x [n, d]                                 -> x[t] + PE(offset + t)
//   rotary   : x [n, heads, head_dim] or [n, head_dim]  -> rows rotated at offset + t
//   bias     : x [heads, n_q, n_k] logits               -> x[h, i, j] + b_h(offset + i, j)
// Rotary rows are rotated by the speed experiment's SIMD kernel (harness/kernels/ops.h
// kernels::rotate, Impl::simd) with the scheme's float64 coefficients rounded once to x's dtype
// and kept for the next call with the same (dtype, offset, n, head_dim, role), as a model keeps
// its cos/sin cache. Additive and bias use the float64 reference ops of `posbench apply`
// (harness/analysis/apply.h), so their results equal the CLI's bit for bit.
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <vector>

#include "encoders/npy.h"
#include "encoders/registry.h"
#include "harness/analysis/apply.h"
#include "harness/kernels/buffer.h"
#include "harness/kernels/ops.h"
#include "harness/python/convert.h"
#include "harness/run/config.h"

namespace posbench::python {

namespace {

using nlohmann::json;

// "a float32 array of shape (4, 8)", "an int64 array of shape (3,)"
std::string array_text(const py::array& a) {
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  const std::string dtype = py::str(a.dtype());
  const bool vowel = !dtype.empty() && std::string("aeiou").find(dtype[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + dtype + " array of shape " + npy_shape_text(shape);
}

int resolve_threads(std::optional<int> threads) {
  if (!threads) return omp_get_max_threads();
  if (*threads < 1 || *threads > 4096)
    throw UserError("threads", got_expected(*threads, "a whole number from 1 to 4096, or None"));
  return *threads;
}

Role role_arg(const std::string& role) {
  if (role != "query" && role != "key")
    throw UserError("role", got_expected(role, "one of query, key"));
  return role == "key" ? Role::key : Role::query;
}

// An int n (positions 0..n-1) or a 1-D array-like of integers >= 0.
std::vector<int64_t> positions_arg(const py::handle& obj, const char* name) {
  std::vector<int64_t> out;
  if (py::isinstance<py::int_>(obj) && !py::isinstance<py::bool_>(obj)) {
    const auto n = obj.cast<int64_t>();
    if (n < 0) throw UserError(name, got_expected(n, "a count >= 0 or a 1-D array of positions"));
    out.resize(size_t(n));
    std::iota(out.begin(), out.end(), int64_t(0));
    return out;
  }
  const py::array a = py::module_::import("numpy").attr("asarray")(obj);
  const char kind = a.dtype().kind();
  if (a.ndim() != 1 || (kind != 'i' && kind != 'u'))
    throw UserError(name, "got " + array_text(a) +
                              ", expected an int n (positions 0..n-1) or a 1-D array of "
                              "integer positions");
  const auto c = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  out.assign(c.data(), c.data() + c.size());
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] < 0)
      throw UserError(name, "got " + std::to_string(out[i]) + " at index " + std::to_string(i) +
                                ", expected positions >= 0");
  return out;
}

// Runs `f`; a position the scheme cannot serve (a learned table past max_len) is a ValueError.
template <class F>
auto serving(const std::string& what, F&& f) {
  try {
    return f();
  } catch (const UnsupportedPosition& e) {
    throw UserError(what, e.what());
  }
}

// A new C-order array of x's shape whose data start on a 64-byte boundary. numpy allocates
// with 16-byte alignment; the SIMD kernels' 64-byte (AVX-512) loads and stores then straddle two
// cache lines each, which cost 10% of rope's apply on [4096, 32, 128] float32 (measured: 103 vs
// 114 GB/s in place; python/benchmarks/apply_speed.py). posbench.empty() and PyTorch's CPU
// tensors are 64-byte aligned too.
template <class T>
py::array_t<T, py::array::c_style> aligned_array(const py::array& x) {
  constexpr size_t kAlign = 64;
  const size_t bytes =
      (std::max<size_t>(1, size_t(x.size()) * sizeof(T)) + kAlign - 1) / kAlign * kAlign;
  void* data = std::aligned_alloc(kAlign, bytes);
  if (!data) throw std::bad_alloc();
  py::capsule owner(data, [](void* p) { std::free(p); });
  return py::array_t<T, py::array::c_style>(
      std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()), static_cast<T*>(data), owner);
}

// Shape of an apply() input, read as `posbench apply` reads its .npy.
struct ApplyShape {
  int64_t n = 0, dim = 0, heads = 1, n_k = 0;
};

class PyEncoder {
 public:
  PyEncoder(const std::string& name, const py::kwargs& params) {
    const auto& registry = EncoderRegistry::instance();
    if (!registry.find(name))
      throw UserError("name", unknown_name_message("scheme", name, registry.names()));
    json spec = {{"name", name}, {"params", to_json(params, "params")}};
    Diagnostics diag;
    inst_ = build_encoder(spec, "", diag);
    diag.throw_if_any();
    // Weight files are read now (once), so a bad file is reported here, not in apply().
    try {
      inst_.encoder->load();
    } catch (const UserError& e) {
      throw UserError(join_path("params", e.path()), e.message());
    }
  }

  const std::string& name() const { return inst_.name; }
  std::string family() const { return to_string(inst_.family); }
  py::object params() const { return from_json(inst_.params); }
  const Encoder& enc() const { return *inst_.encoder; }

  int64_t rotary_dims(int64_t head_dim) const {
    require(Family::rotary, "rotary_dims()");
    check_shape(head_dim, 1, "head_dim");
    return enc().rotary_dims(head_dim);
  }

  py::array table(const py::handle& positions, int64_t dim) const {
    require(Family::additive, "table()");
    const auto pos = positions_arg(positions, "positions");
    check_shape(dim, 1, "dim");
    py::array_t<double> out({int64_t(pos.size()), dim});
    double* p = out.mutable_data();
    {
      py::gil_scoped_release release;
      serving("positions", [&] { enc().additive_table(pos, dim, p); });
    }
    return out;
  }

  py::tuple rotary_coefficients(const py::handle& positions, int64_t head_dim,
                                const std::string& role, int64_t seq_len) const {
    require(Family::rotary, "rotary_coefficients()");
    const auto pos = positions_arg(positions, "positions");
    check_shape(head_dim, 1, "head_dim");
    const RotaryContext ctx{role_arg(role), seq_len};
    if (seq_len < 0) throw UserError("seq_len", got_expected(seq_len, "a length >= 0"));
    const int64_t half = enc().rotary_dims(head_dim) / 2;
    py::array_t<double> c({int64_t(pos.size()), half}), s({int64_t(pos.size()), half});
    double *pc = c.mutable_data(), *ps = s.mutable_data();
    {
      py::gil_scoped_release release;
      serving("positions", [&] { enc().rotary_coefficients(pos, head_dim, ctx, pc, ps); });
    }
    return py::make_tuple(c, s);
  }

  py::array bias(const py::handle& q_positions, const py::handle& k_positions,
                 int64_t heads) const {
    require(Family::bias, "bias()");
    const auto q = positions_arg(q_positions, "q_positions");
    const auto k = positions_arg(k_positions, "k_positions");
    check_shape(0, heads, "heads");
    py::array_t<double> out({heads, int64_t(q.size()), int64_t(k.size())});
    double* p = out.mutable_data();
    {
      py::gil_scoped_release release;
      serving("q_positions", [&] { enc().bias(q, k, heads, p); });
    }
    return out;
  }

  py::array apply(const py::object& x, int64_t offset, const std::string& role,
                  const py::object& out, std::optional<int> threads) const {
    using F32 = py::array_t<float, py::array::c_style>;
    using F64 = py::array_t<double, py::array::c_style>;
    if (!py::isinstance<py::array>(x))
      throw UserError("x", "got a " + std::string(py::str(py::type::of(x).attr("__name__"))) +
                               ", expected a numpy array (a torch tensor: pass t.numpy())");
    if (py::isinstance<F32>(x)) return apply_typed<float>(x, offset, role, out, threads);
    if (py::isinstance<F64>(x)) return apply_typed<double>(x, offset, role, out, threads);
    const py::array a = py::reinterpret_borrow<py::array>(x);
    const char kind = a.dtype().kind();
    const bool float_dtype = (kind == 'f' && (a.itemsize() == 4 || a.itemsize() == 8) &&
                              a.dtype().attr("isnative").cast<bool>());
    throw UserError("x",
                    "got " + array_text(a) + (float_dtype ? " that is not C-contiguous" : "") +
                        ", expected a C-contiguous float32 or float64 array (used in place, "
                        "never copied; convert with np.ascontiguousarray(x, dtype=np.float32))");
  }

  std::string repr() const {
    return "posbench.Encoder('" + inst_.name + "', **" + inst_.params.dump() + ")";
  }

 private:
  void require(Family family, const char* method) const {
    if (inst_.family != family)
      throw UserError("", "'" + inst_.name + "' is a " + to_string(inst_.family) + " scheme; " +
                              method + " is for " + to_string(family) +
                              " schemes (additive: table(), rotary: rotary_coefficients(), "
                              "bias: bias(); every family: apply())");
  }

  // Encoder::check_shape with its problems named as the CLI names them: a parameter at fault
  // under "params.", the shape itself under `arg` (the argument that gave it).
  void check_shape(int64_t dim, int64_t heads, const std::string& arg) const {
    try {
      enc().check_shape(dim, heads);
    } catch (const UserError& e) {
      if (e.path().empty()) throw UserError(arg, e.message());
      throw UserError(join_path("params", e.path()), e.message());
    }
  }

  ApplyShape apply_shape(const py::array& x) const {
    std::vector<int64_t> shape(x.shape(), x.shape() + x.ndim());
    const std::string where = "shape " + npy_shape_text(shape);
    const std::string scheme =
        std::string(to_string(inst_.family)) + " scheme '" + inst_.name + "'";
    auto rank = [&](const char* expected) {
      throw UserError("x", where + " has " + count_of(x.ndim(), "dimension") + ", expected " +
                               expected + " for the " + scheme);
    };
    ApplyShape s;
    switch (inst_.family) {
      case Family::additive:
        if (shape.size() != 2) rank("[n, d]");
        s.n = shape[0], s.dim = shape[1];
        break;
      case Family::rotary:
        if (shape.size() != 2 && shape.size() != 3) rank("[n, heads, head_dim] or [n, head_dim]");
        s.n = shape[0], s.dim = shape.back(), s.heads = shape.size() == 3 ? shape[1] : 1;
        break;
      case Family::bias:
        if (shape.size() != 3) rank("[heads, n_q, n_k] attention logits");
        s.heads = shape[0], s.n = shape[1], s.n_k = shape[2];
        break;
    }
    check_shape(inst_.family == Family::bias ? 0 : s.dim, s.heads, "x");
    return s;
  }

  // The result array: a new one like x, or `out` (same shape and dtype, C order, writable; x
  // itself for in place; no other overlap with x).
  template <class T>
  py::array_t<T, py::array::c_style> result_array(const py::array& x, const py::object& out) const {
    using A = py::array_t<T, py::array::c_style>;
    if (out.is_none()) return aligned_array<T>(x);
    const std::string want =
        "expected a writable C-contiguous array of x's dtype and shape (" + array_text(x) + ")";
    if (!py::isinstance<A>(out))
      throw UserError("out",
                      "got " +
                          (py::isinstance<py::array>(out)
                               ? array_text(py::reinterpret_borrow<py::array>(out))
                               : "a " + std::string(py::str(py::type::of(out).attr("__name__")))) +
                          ", " + want);
    A o = py::reinterpret_borrow<A>(out);
    if (!o.writeable() || o.ndim() != x.ndim() ||
        !std::equal(o.shape(), o.shape() + o.ndim(), x.shape()))
      throw UserError("out", "got " + std::string(o.writeable() ? "" : "a read-only array, ") +
                                 array_text(o) + ", " + want);
    const auto* xb = static_cast<const char*>(static_cast<const void*>(x.data()));
    const auto* ob = static_cast<const char*>(static_cast<const void*>(o.data()));
    const auto bytes = x.nbytes();
    if (ob != xb && ob < xb + bytes && xb < ob + bytes)
      throw UserError("out",
                      "overlaps x without being x; expected x itself (in place) or an "
                      "array that shares no memory with x");
    return o;
  }

  template <class T>
  py::array apply_typed(const py::object& x_obj, int64_t offset, const std::string& role_text,
                        const py::object& out_obj, std::optional<int> threads_arg) const {
    const auto x = py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(x_obj);
    const Role role = role_arg(role_text);
    const int threads = resolve_threads(threads_arg);
    const ApplyShape s = apply_shape(x);
    if (offset < 0) throw UserError("offset", got_expected(offset, "a position >= 0"));
    if (offset > std::numeric_limits<int64_t>::max() - s.n)
      throw UserError("offset", got_expected(offset, "offset + " + std::to_string(s.n) +
                                                         " rows to fit in a 64-bit position"));
    auto out = result_array<T>(x, out_obj);
    const T* src = x.data();
    T* dst = out.mutable_data();
    const size_t count = size_t(x.size());
    {
      py::gil_scoped_release release;
      serving("offset", [&] {
        if (inst_.family == Family::rotary) {
          const auto cache = rotary_cache<T>(offset, s.n, s.dim, role);
          kernels::rotate(kernels::Impl::simd, threads, src, dst, s.n, s.heads, s.dim,
                          enc().rotary_dims(s.dim), enc().rotary_pairing(),
                          cache->cos.template as<T>(), cache->sin.template as<T>());
          return;
        }
        if (dst != src) std::memcpy(dst, src, count * sizeof(T));
        std::vector<int64_t> positions(static_cast<size_t>(s.n));
        std::iota(positions.begin(), positions.end(), offset);
        if (inst_.family == Family::additive) {
          add_positional(enc(), positions, s.dim, dst);
        } else {
          std::vector<int64_t> keys(static_cast<size_t>(s.n_k));
          std::iota(keys.begin(), keys.end(), int64_t(0));
          add_bias(enc(), positions, keys, s.heads, dst);
        }
      });
    }
    return out;
  }

  // The cos/sin cache of the last rotary apply(): [n, rotary_dims / 2] each, in x's dtype, in
  // 2 MiB-aligned buffers as the speed experiment's caches (a 16-byte aligned std::vector made
  // the kernel's 64-byte loads of the table straddle cache lines).
  struct RotaryCache {
    bool f32 = false;
    int64_t offset = 0, n = 0, head_dim = 0;
    Role role = Role::query;
    kernels::Buffer cos, sin;
  };

  template <class T>
  std::shared_ptr<const RotaryCache> rotary_cache(int64_t offset, int64_t n, int64_t head_dim,
                                                  Role role) const {
    constexpr bool f32 = std::is_same_v<T, float>;
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_ && cache_->f32 == f32 && cache_->offset == offset && cache_->n == n &&
        cache_->head_dim == head_dim && cache_->role == role)
      return cache_;
    auto c = std::make_shared<RotaryCache>();
    c->f32 = f32, c->offset = offset, c->n = n, c->head_dim = head_dim, c->role = role;
    const size_t size = size_t(n) * size_t(enc().rotary_dims(head_dim) / 2);
    std::vector<double> c64(size), s64(size);
    std::vector<int64_t> positions(static_cast<size_t>(n));
    std::iota(positions.begin(), positions.end(), offset);
    // seq_len = offset + n, as `posbench apply` (only dynamic NTK scaling reads it).
    enc().rotary_coefficients(positions, head_dim, RotaryContext{role, offset + n}, c64.data(),
                              s64.data());
    c->cos = kernels::Buffer(std::max<size_t>(1, size) * sizeof(T), false);
    c->sin = kernels::Buffer(std::max<size_t>(1, size) * sizeof(T), false);
    std::copy(c64.begin(), c64.end(), c->cos.as<T>());  // rounded once to x's dtype
    std::copy(s64.begin(), s64.end(), c->sin.as<T>());
    cache_ = c;
    return cache_;
  }

  EncoderInstance inst_;
  mutable std::mutex cache_mutex_;
  mutable std::shared_ptr<const RotaryCache> cache_;
};

}  // namespace

void bind_encoder(py::module_& m) {
  py::class_<PyEncoder>(m, "Encoder", R"doc(
One registered scheme, built from keyword params checked and resolved as a config's encoder
entry is: Encoder("rope", base=500000, scaling={"rope_type": "linear", "factor": 2.0}).
A bad name or param raises ValueError with the CLI's message, e.g.
"params.bsae: unknown parameter 'bsae'; did you mean 'base'? ...".)doc")
      .def(py::init<const std::string&, const py::kwargs&>(), py::arg("name"),
           "Encoder(name, **params): the scheme `name` with these params (see describe(name)).")
      .def_property_readonly("name", &PyEncoder::name, "The registered scheme name.")
      .def_property_readonly("family", &PyEncoder::family,
                             "'additive', 'rotary' or 'bias': how position enters attention.")
      .def_property_readonly("params", &PyEncoder::params,
                             "The params as resolved (every default filled in), a dict.")
      .def("apply", &PyEncoder::apply, py::arg("x"), py::arg("offset") = 0,
           py::arg("role") = "query", py::arg("out") = py::none(), py::arg("threads") = py::none(),
           R"doc(
Applies the scheme to x and returns the result (a new array, or `out`).
  additive: x [n, d] -> x[t] + PE(offset + t)
  rotary:   x [n, heads, head_dim] or [n, head_dim] -> each row rotated at position offset + t,
            as queries or keys (role: 'query' or 'key'; xPos scales them differently)
  bias:     x [heads, n_q, n_k] logits -> x[h, i, j] + b_h(offset + i, j)
x: numpy float32 or float64, C order (used without copying; anything else raises ValueError).
out: None (a new array, 64-byte aligned), x itself (in place), or an array of x's dtype and
shape that shares no memory with x. Arrays from posbench.empty() (or PyTorch's .numpy()) are
64-byte aligned, numpy's own only 16-byte: the SIMD kernel is ~10% faster on aligned arrays.
threads: OpenMP threads (None: all cores). The GIL is released meanwhile.)doc")
      .def("table", &PyEncoder::table, py::arg("positions"), py::arg("dim"), R"doc(
Additive schemes: PE(p) for each position, float64 [len(positions), dim].
positions: an int n (0..n-1) or a 1-D array of integers >= 0.)doc")
      .def("rotary_coefficients", &PyEncoder::rotary_coefficients, py::arg("positions"),
           py::arg("head_dim"), py::kw_only(), py::arg("role") = "query", py::arg("seq_len") = 0,
           R"doc(
Rotary schemes: (cos, sin), each float64 [len(positions), rotary_dims(head_dim) / 2]:
a * cos(angle) and a * sin(angle) of each position and pair, a the magnitude (1 for plain RoPE;
the attention factor of YaRN / LongRoPE; xPos's zeta power). Pair (x, y) becomes
(x*c - y*s, x*s + y*c). seq_len: the sequence length (dynamic NTK reads it); 0: max + 1.)doc")
      .def("rotary_dims", &PyEncoder::rotary_dims, py::arg("head_dim"),
           "Rotary schemes: how many leading channels of a head of width head_dim rotate.")
      .def("bias", &PyEncoder::bias, py::arg("q_positions"), py::arg("k_positions"),
           py::arg("heads"), R"doc(
Bias schemes: b_h(i, j), float64 [heads, len(q_positions), len(k_positions)].)doc")
      .def("__repr__", &PyEncoder::repr);
}

}  // namespace posbench::python
