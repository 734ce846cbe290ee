#include "harness/kernels/ops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <span>
#include <stdexcept>

#include "encoders/checked_size.h"
#include "harness/kernels/reference.h"
#include "harness/kernels/simd.h"

namespace posbench::kernels {

const char* to_string(Impl impl) { return impl == Impl::reference ? "reference" : "simd"; }

namespace {

// The first exception thrown inside a parallel region (a scheme's method may throw, e.g.
// UnsupportedPosition), rethrown after the region: exceptions must not cross OpenMP or the
// (noexcept) xsimd dispatcher.
class FirstError {
 public:
  void capture() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
};

std::vector<int64_t> iota_positions(int64_t n) {
  std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
  std::iota(p.begin(), p.end(), int64_t(0));
  return p;
}

// Positions at which a closed form is checked against the scheme's own method.
std::vector<int64_t> check_positions(int64_t seq) {
  std::vector<int64_t> p;
  for (int64_t v : {int64_t(0), int64_t(1), int64_t(2), int64_t(3), int64_t(17), seq / 2, seq - 1})
    if (v >= 0 && v < seq && std::find(p.begin(), p.end(), v) == p.end()) p.push_back(v);
  return p;
}

constexpr double kFormTolerance = 1e-9;

std::vector<double> padded(const std::vector<double>& v) {
  std::vector<double> out(v);
  out.resize(size_t((int64_t(v.size()) + kTableChunk - 1) / kTableChunk * kTableChunk), 0.0);
  if (out.empty()) out.resize(size_t(kTableChunk), 0.0);
  return out;
}

// Runs a kernel in the chosen implementation (both take the same argument struct).
template <class Args>
void run_kernel(Impl impl, const Args& a, void (*simd)(const Args&),
                void (*reference)(const Args&)) {
  (impl == Impl::simd ? simd : reference)(a);
}

template <class T>
void convert(Impl impl, const double* src, T* dst, int64_t n, bool add = false, double scale = 1) {
  const ConvertArgs<T> a{src, dst, n, add, scale};
  run_kernel(impl, a, simd_convert<T>, reference_convert<T>);
}

// Per-thread scratch is sized in the constructor for max_threads.
void check_threads(int threads, int max_threads, const char* what) {
  if (threads < 1 || threads > max_threads)
    throw std::invalid_argument(std::string(what) + ": run with " + std::to_string(threads) +
                                " threads, but scratch was sized for at most " +
                                std::to_string(max_threads));
}

// Rows [begin, end) of `rows` for thread tid of nt.
void split_rows(int64_t rows, int tid, int nt, int64_t& begin, int64_t& end) {
  begin = rows * tid / nt;
  end = rows * (tid + 1) / nt;
}

}  // namespace

// ---- closed forms
// --------------------------------------------------------------------------------

std::optional<AdditiveForm> additive_closed_form(const Encoder& enc, int64_t seq, int64_t dim,
                                                 std::string* why) {
  auto fail = [&](const std::string& text) -> std::optional<AdditiveForm> {
    if (why) *why = text;
    return std::nullopt;
  };
  const RotaryContext ctx{Role::query, seq};
  const auto form = enc.angular_form(dim, ctx);
  if (!form) return fail("the scheme has no closed form (angular_form)");
  const int64_t half = dim / 2;
  if (dim % 2 != 0 || int64_t(form->inv_freq.size()) != half)
    return fail("angular_form has " + std::to_string(form->inv_freq.size()) +
                " frequencies for dim " + std::to_string(dim));
  if (!form->columns) return fail("angular_form states no column layout (AngularForm::columns)");
  const bool concat = *form->columns == SinCosLayout::sin_then_cos;
  // The declared layout is checked, not searched for: a form that does not reproduce the
  // scheme's own table at a few positions means the generic path.
  const std::vector<int64_t> pos = check_positions(seq);
  std::vector<double> table(pos.size() * size_t(dim));
  enc.additive_table(pos, dim, table.data());
  double err = 0;
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(pos[t]) * form->inv_freq[size_t(i)];
      const double* row = table.data() + t * size_t(dim);
      err = std::max(err, std::abs(row[concat ? i : 2 * i] - form->magnitude * std::sin(angle)));
      err = std::max(
          err, std::abs(row[concat ? i + half : 2 * i + 1] - form->magnitude * std::cos(angle)));
    }
  if (err > kFormTolerance)
    return fail(std::string("angular_form with its declared columns ") + to_string(*form->columns) +
                " does not reproduce additive_table");
  if (why) *why = concat ? "closed form, columns [sin | cos]" : "closed form, sin/cos interleaved";
  return AdditiveForm{form->inv_freq, form->magnitude, concat};
}

std::optional<Encoder::AngularForm> rotary_closed_form(const Encoder& enc, int64_t seq,
                                                       int64_t head_dim, const RotaryContext& ctx,
                                                       std::string* why) {
  auto fail = [&](const std::string& text) -> std::optional<Encoder::AngularForm> {
    if (why) *why = text;
    return std::nullopt;
  };
  auto form = enc.angular_form(head_dim, ctx);
  if (!form) return fail("the scheme has no closed form (angular_form)");
  // Rotary coefficients are per pair (cos_out/sin_out [t, i]); a column layout means the form
  // was written for an additive table.
  if (form->columns)
    return fail("a rotary angular_form states a column layout (AngularForm::columns)");
  const int64_t half = enc.rotary_dims(head_dim) / 2;
  if (int64_t(form->inv_freq.size()) != half)
    return fail("angular_form has " + std::to_string(form->inv_freq.size()) +
                " frequencies, expected rotary_dims / 2 = " + std::to_string(half));
  const std::vector<int64_t> pos = check_positions(seq);
  std::vector<double> c(pos.size() * size_t(half)), s(c.size());
  enc.rotary_coefficients(pos, head_dim, ctx, c.data(), s.data());
  double err = 0;
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(pos[t]) * form->inv_freq[size_t(i)];
      const size_t k = t * size_t(half) + size_t(i);
      err = std::max(err, std::abs(c[k] - form->magnitude * std::cos(angle)));
      err = std::max(err, std::abs(s[k] - form->magnitude * std::sin(angle)));
    }
  if (err > kFormTolerance) return fail("angular_form does not reproduce rotary_coefficients");
  if (why) *why = "closed form";
  return form;
}

// ---- AdditiveTable
// ---------------------------------------------------------------------------------

template <class T>
AdditiveTable<T>::AdditiveTable(const Encoder& enc, int64_t seq, int64_t dim)
    : enc_(enc), seq_(seq), dim_(dim), positions_(iota_positions(seq)) {
  std::string why;
  form_ = additive_closed_form(enc, seq, dim, &why);
  if (form_) {
    inv_freq_ = padded(form_->inv_freq);
    method_ = why + ": sin/cos of float64 angles p * inv_freq";
  } else {
    scratch_ = Buffer(size_t(seq) * size_t(dim) * sizeof(double));
    method_ = "generic (" + why +
              "): the scheme's float64 additive_table, one serial call, rounded to the dtype";
  }
}

template <class T>
uint64_t AdditiveTable<T>::scratch_bytes(const Encoder& enc, int64_t seq, int64_t dim) {
  return additive_closed_form(enc, seq, dim) ? 0 : (CheckedSize(seq) * dim * 8).saturated();
}

template <class T>
void AdditiveTable<T>::run(Impl impl, int threads, T* out) const {
  if (form_) {
    const int64_t half = dim_ / 2;
    SincosTableArgs<T> a;
    a.positions = positions_.data();
    a.rows = seq_;
    a.inv_freq = inv_freq_.data();
    a.pairs = half;
    a.magnitude = form_->magnitude;
    a.sin_out = out;
    a.cos_out = form_->concat ? out + half : out + 1;
    a.row_stride = dim_;
    a.elem_stride = form_->concat ? 1 : 2;
    a.threads = threads;
    run_kernel(impl, a, simd_sincos_table<T>, reference_sincos_table<T>);
    return;
  }
  // A scheme's additive_table may depend on all positions of the call (a learned table with
  // out_of_range = "interpolate"), so it is called once for the whole table.
  double* src = scratch_.as<double>();
  enc_.additive_table(positions_, dim_, src);
  const int64_t rows = seq_, dim = dim_;
#pragma omp parallel num_threads(threads)
  {
    int64_t begin, end;
    split_rows(rows, omp_get_thread_num(), omp_get_num_threads(), begin, end);
    convert(impl, src + begin * dim, out + begin * dim, (end - begin) * dim);
  }
}

// ---- RotaryTable
// -----------------------------------------------------------------------------------

template <class T>
RotaryTable<T>::RotaryTable(const Encoder& enc, int64_t seq, int64_t head_dim, Role role)
    : enc_(enc),
      seq_(seq),
      head_dim_(head_dim),
      half_(enc.rotary_dims(head_dim) / 2),
      ctx_{role, seq},
      positions_(iota_positions(seq)) {
  std::string why;
  form_ = rotary_closed_form(enc, seq, head_dim, ctx_, &why);
  if (form_) {
    inv_freq_ = padded(form_->inv_freq);
    method_ = why + ": magnitude * cos/sin of float64 angles p * inv_freq";
  } else {
    scratch_ = Buffer(size_t(seq) * size_t(half_) * 2 * sizeof(double));
    method_ = "generic (" + why +
              "): the scheme's float64 rotary_coefficients (rows split over the threads, "
              "seq_len fixed), rounded to the dtype";
  }
}

template <class T>
uint64_t RotaryTable<T>::scratch_bytes(const Encoder& enc, int64_t seq, int64_t head_dim) {
  if (rotary_closed_form(enc, seq, head_dim, RotaryContext{Role::query, seq}) &&
      rotary_closed_form(enc, seq, head_dim, RotaryContext{Role::key, seq}))
    return 0;
  return (CheckedSize(seq) * (enc.rotary_dims(head_dim) / 2) * 2 * 8).saturated();
}

template <class T>
void RotaryTable<T>::run(Impl impl, int threads, T* cos, T* sin) const {
  if (form_) {
    SincosTableArgs<T> a;
    a.positions = positions_.data();
    a.rows = seq_;
    a.inv_freq = inv_freq_.data();
    a.pairs = half_;
    a.magnitude = form_->magnitude;
    a.sin_out = sin;
    a.cos_out = cos;
    a.row_stride = half_;
    a.elem_stride = 1;
    a.threads = threads;
    run_kernel(impl, a, simd_sincos_table<T>, reference_sincos_table<T>);
    return;
  }
  double* c = scratch_.as<double>();
  double* s = c + seq_ * half_;
  const int64_t half = half_;
  FirstError error;
#pragma omp parallel num_threads(threads)
  {
    int64_t begin, end;
    split_rows(seq_, omp_get_thread_num(), omp_get_num_threads(), begin, end);
    try {
      if (end > begin)
        enc_.rotary_coefficients(
            std::span<const int64_t>(positions_.data() + begin, size_t(end - begin)), head_dim_,
            ctx_, c + begin * half, s + begin * half);
      convert(impl, c + begin * half, cos + begin * half, (end - begin) * half);
      convert(impl, s + begin * half, sin + begin * half, (end - begin) * half);
    } catch (...) {
      error.capture();
    }
  }
  error.rethrow();
}

// ---- apply
// -----------------------------------------------------------------------------------------

template <class T>
void rotate(Impl impl, int threads, const T* src, T* dst, int64_t seq, int64_t heads,
            int64_t head_dim, int64_t rotary_dims, RotaryPairing pairing, const T* cos,
            const T* sin) {
  // Channels rotate in pairs; an odd width would leave one channel half a pair (and read an
  // unset expanded coefficient in the interleaved kernel).
  if (rotary_dims < 2 || rotary_dims % 2 != 0 || rotary_dims > head_dim)
    throw std::invalid_argument(
        "rotate: rotary_dims = " + std::to_string(rotary_dims) +
        ", expected an even number in [2, head_dim = " + std::to_string(head_dim) + "]");
  RotateArgs<T> a;
  a.src = src;
  a.dst = dst;
  a.rows = seq;
  a.heads = heads;
  a.head_dim = head_dim;
  a.rotary_dims = rotary_dims;
  a.interleaved = pairing == RotaryPairing::interleaved;
  a.cos = cos;
  a.sin = sin;
  a.threads = threads;
  run_kernel(impl, a, simd_rotate<T>, reference_rotate<T>);
}

template <class T>
void axpy(Impl impl, int threads, T* dst, const T* x, const T* y, int64_t n, T scale) {
  const AxpyArgs<T> a{dst, x, y, n, scale, threads};
  run_kernel(impl, a, simd_axpy<T>, reference_axpy<T>);
}

// ---- BiasOp
// ------------------------------------------------------------------------------------------

namespace {
constexpr uint64_t kBiasBlockBytes = uint64_t(8) << 20;  // float64 scratch per thread
int64_t bias_block_rows(int64_t n, int64_t heads) {
  const uint64_t per_row = std::max<uint64_t>(1, (CheckedSize(heads) * n * 8).saturated());
  return std::clamp<int64_t>(int64_t(kBiasBlockBytes / per_row), 1,
                             std::max<int64_t>(1, std::min(n, kAttentionBlock)));
}
}  // namespace

template <class T>
BiasOp<T>::BiasOp(const Encoder& enc, int64_t n, int64_t heads, int max_threads)
    : enc_(enc),
      n_(n),
      heads_(heads),
      max_threads_(std::max(1, max_threads)),
      relative_(enc.bias_is_relative()),
      block_rows_(bias_block_rows(n, heads)),
      positions_(iota_positions(n)) {
  scratch_ = Buffer(size_t(max_threads_) * size_t(heads) * size_t(block_rows_) * size_t(n) * 8);
  method_reference_ = "the scheme's float64 bias(), " + std::to_string(block_rows_) +
                      " rows at a time per thread, rounded to the dtype (plain loop)";
  if (relative_) {
    // b_h(i, j) depends on i - j only: rel[h, k] = b_h(n - 1, k), k in [0, 2n - 1), covers
    // every i - j in [-(n - 1), n - 1].
    const std::vector<int64_t> q{n - 1};
    const std::vector<int64_t> k = iota_positions(2 * n - 1);
    std::vector<double> rows(size_t(heads) * k.size());
    enc.bias(q, k, heads, rows.data());
    rel_ = Buffer(rows.size() * sizeof(T));
    for (size_t i = 0; i < rows.size(); ++i) rel_.as<T>()[i] = from_double<T>(rows[i]);
    method_simd_ =
        "one distance row per head (bias_is_relative): rows of the output are xsimd copies / "
        "adds of the row";
  } else {
    method_simd_ = "generic: the scheme's float64 bias() by blocks of rows, converted with xsimd";
  }
}

template <class T>
uint64_t BiasOp<T>::scratch_bytes(const Encoder& enc, int64_t n, int64_t heads, int max_threads) {
  CheckedSize bytes =
      CheckedSize(std::max(1, max_threads)) * heads * bias_block_rows(n, heads) * n * 8;
  if (enc.bias_is_relative()) bytes += CheckedSize(heads) * n * 2 * sizeof(T);  // >= 2n - 1 rows
  return bytes.saturated();
}

template <class T>
const std::string& BiasOp<T>::method(Impl impl) const {
  return impl == Impl::simd ? method_simd_ : method_reference_;
}

template <class T>
void BiasOp<T>::block(int64_t r0, int64_t r1, int64_t ncols, double* out) const {
  enc_.bias(std::span<const int64_t>(positions_.data() + r0, size_t(r1 - r0)),
            std::span<const int64_t>(positions_.data(), size_t(ncols)), heads_, out);
}

template <class T>
void BiasOp<T>::generic(Impl impl, int threads, T* out, bool add, T scale) const {
  check_threads(threads, max_threads_, "BiasOp");
  const int64_t n = n_, H = heads_, rows_per = block_rows_;
  const int64_t blocks = (n + rows_per - 1) / rows_per;
  FirstError error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * rows_per, r1 = std::min(n, r0 + rows_per), rows = r1 - r0;
    double* scr = scratch_.as<double>() + int64_t(omp_get_thread_num()) * H * rows_per * n;
    try {
      block(r0, r1, n, scr);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t r = 0; r < rows; ++r)
          convert(impl, scr + (h * rows + r) * n, out + (h * n + r0 + r) * n, n, add,
                  double(widen(scale)));
    } catch (...) {
      error.capture();
    }
  }
  error.rethrow();
}

template <class T>
void BiasOp<T>::materialize(Impl impl, int threads, T* out) const {
  if (impl == Impl::simd && relative_) {
    simd_relative_bias(
        RelativeBiasArgs<T>{rel_.as<T>(), out, heads_, n_, false, from_double<T>(1), threads});
    return;
  }
  generic(impl, threads, out, false, from_double<T>(1));
}

template <class T>
void BiasOp<T>::add(Impl impl, int threads, T* logits, T scale) const {
  if (impl == Impl::simd && relative_) {
    simd_relative_bias(RelativeBiasArgs<T>{rel_.as<T>(), logits, heads_, n_, true, scale, threads});
    return;
  }
  generic(impl, threads, logits, true, scale);
}

// ---- AttentionOp -------------------------------------------------------------------------------

namespace {

template <class T>
struct BlockBiasContext {
  const BiasOp<T>* op;
  FirstError* error;
  int64_t heads, n;
};

// Called from inside the attention kernel's parallel loop: must not throw.
template <class T>
void block_bias_callback(const void* ctx, int64_t r0, int64_t r1, double* out) {
  const auto* c = static_cast<const BlockBiasContext<T>*>(ctx);
  try {
    c->op->block(r0, r1, r1, out);
  } catch (...) {
    c->error->capture();
    std::fill(out, out + c->heads * (r1 - r0) * r1, 0.0);
  }
}

}  // namespace

template <class T>
AttentionOp<T>::AttentionOp(const Encoder* enc, int64_t n, int64_t heads, int64_t head_dim,
                            int max_threads)
    : enc_(enc), n_(n), heads_(heads), head_dim_(head_dim), max_threads_(std::max(1, max_threads)) {
  const size_t elems = size_t(n) * size_t(heads) * size_t(head_dim);
  logits_ = Buffer(size_t(max_threads_) * size_t(kAttentionBlock + 1) * size_t(n) * sizeof(T));
  if (!enc) return;
  family_ = enc->family();
  switch (family_) {
    case Family::additive: {
      pe_ = Buffer(elems * sizeof(T));
      AdditiveTable<T>(*enc, n, heads * head_dim).run(Impl::reference, max_threads_, pe_.as<T>());
      q_work_ = Buffer(elems * sizeof(T));
      k_work_ = Buffer(elems * sizeof(T));
      break;
    }
    case Family::rotary: {
      rotary_dims_ = enc->rotary_dims(head_dim);
      pairing_ = enc->rotary_pairing();
      const size_t cache = size_t(n) * size_t(rotary_dims_ / 2) * sizeof(T);
      q_cos_ = Buffer(cache);
      q_sin_ = Buffer(cache);
      k_cos_ = Buffer(cache);
      k_sin_ = Buffer(cache);
      RotaryTable<T>(*enc, n, head_dim, Role::query)
          .run(Impl::reference, max_threads_, q_cos_.as<T>(), q_sin_.as<T>());
      RotaryTable<T>(*enc, n, head_dim, Role::key)
          .run(Impl::reference, max_threads_, k_cos_.as<T>(), k_sin_.as<T>());
      q_work_ = Buffer(elems * sizeof(T));
      k_work_ = Buffer(elems * sizeof(T));
      break;
    }
    case Family::bias: {
      bias_ = std::make_unique<BiasOp<T>>(*enc, n, heads, max_threads_);
      if (!bias_->relative())
        block_bias_ = Buffer(size_t(max_threads_) * size_t(heads) * size_t(kAttentionBlock) *
                             size_t(n) * sizeof(double));
      break;
    }
  }
}

template <class T>
uint64_t AttentionOp<T>::scratch_bytes(const Encoder* enc, int64_t n, int64_t heads,
                                       int64_t head_dim, int max_threads) {
  const CheckedSize threads = std::max(1, max_threads);
  const CheckedSize elems = CheckedSize(n) * heads * head_dim;
  CheckedSize bytes = threads * (kAttentionBlock + 1) * n * sizeof(T);
  if (!enc) return bytes.saturated();
  switch (enc->family()) {
    case Family::additive: {
      const auto dim = (CheckedSize(heads) * head_dim).as_int64();
      bytes += elems * 3 * sizeof(T) +
               (dim ? AdditiveTable<T>::scratch_bytes(*enc, n, *dim) : UINT64_MAX);
      break;
    }
    case Family::rotary:
      bytes += elems * 2 * sizeof(T) +
               CheckedSize(n) * (enc->rotary_dims(head_dim) / 2) * 4 * sizeof(T) +
               RotaryTable<T>::scratch_bytes(*enc, n, head_dim);
      break;
    case Family::bias:
      bytes += BiasOp<T>::scratch_bytes(*enc, n, heads, max_threads);
      if (!enc->bias_is_relative()) bytes += threads * heads * kAttentionBlock * n * 8;
      break;
  }
  return bytes.saturated();
}

template <class T>
std::string AttentionOp<T>::method(Impl impl, bool fused) const {
  const std::string gemm = "; QK^T and PV with Eigen per (head, block of " +
                           std::to_string(kAttentionBlock) + " query rows), causal softmax " +
                           (impl == Impl::simd ? "with xsimd exp" : "with std::exp in float64");
  if (!enc_) return "no positional scheme" + gemm;
  switch (family_) {
    case Family::additive:
      return "q + PE and k + PE (identity projections, PE precomputed)" + gemm;
    case Family::rotary:
      return "q and k rotated out of place with precomputed cos/sin caches (per role)" + gemm;
    case Family::bias:
      if (!fused)
        return "b [heads, n, n] materialised into a pre-faulted buffer (" + bias_->method(impl) +
               "), then added row by row in the logits loop" + gemm;
      return std::string(bias_->relative()
                             ? "bias added in the logits loop from one distance row per head "
                               "(bias_is_relative)"
                             : "bias computed in the logits loop block by block (the scheme's "
                               "float64 bias() for a block of rows, all heads)") +
             "; [heads, n, n] never materialised" + gemm;
  }
  return gemm;
}

template <class T>
void AttentionOp<T>::run(Impl impl, int threads, bool fused, const T* q, const T* k, const T* v,
                         T* out, T* bias_buffer) const {
  check_threads(threads, max_threads_, "AttentionOp");
  AttentionArgs<T> a;
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.n = n_;
  a.heads = heads_;
  a.head_dim = head_dim_;
  a.scale = T(1.0 / std::sqrt(double(head_dim_)));
  a.logits_scratch = logits_.as<T>();
  a.threads = threads;
  FirstError error;
  BlockBiasContext<T> ctx{bias_.get(), &error, heads_, n_};
  const int64_t elems = n_ * heads_ * head_dim_;
  if (enc_) switch (family_) {
      case Family::additive:
        axpy(impl, threads, q_work_.as<T>(), q, pe_.as<T>(), elems, T(1));
        axpy(impl, threads, k_work_.as<T>(), k, pe_.as<T>(), elems, T(1));
        a.q = q_work_.as<T>();
        a.k = k_work_.as<T>();
        break;
      case Family::rotary:
        rotate(impl, threads, q, q_work_.as<T>(), n_, heads_, head_dim_, rotary_dims_, pairing_,
               q_cos_.as<T>(), q_sin_.as<T>());
        rotate(impl, threads, k, k_work_.as<T>(), n_, heads_, head_dim_, rotary_dims_, pairing_,
               k_cos_.as<T>(), k_sin_.as<T>());
        a.q = q_work_.as<T>();
        a.k = k_work_.as<T>();
        break;
      case Family::bias:
        if (!fused) {
          bias_->materialize(impl, threads, bias_buffer);
          a.bias_mode = BiasMode::materialized;
          a.bias = bias_buffer;
        } else if (bias_->relative()) {
          a.bias_mode = BiasMode::relative;
          a.bias = bias_->distance_rows();
        } else {
          a.bias_mode = BiasMode::blocks;
          a.block_bias = &block_bias_callback<T>;
          a.block_ctx = &ctx;
          a.bias_scratch = block_bias_.as<double>();
        }
        break;
    }
  run_kernel(impl, a, simd_attention<T>, reference_attention<T>);
  error.rethrow();
}

#define POSBENCH_INSTANTIATE_STORAGE_OPS(T)                                            \
  template class AdditiveTable<T>;                                                     \
  template class RotaryTable<T>;                                                       \
  template class BiasOp<T>;                                                            \
  template void rotate<T>(Impl, int, const T*, T*, int64_t, int64_t, int64_t, int64_t, \
                          RotaryPairing, const T*, const T*);                          \
  template void axpy<T>(Impl, int, T*, const T*, const T*, int64_t, T);
POSBENCH_INSTANTIATE_STORAGE_OPS(float)
POSBENCH_INSTANTIATE_STORAGE_OPS(double)
POSBENCH_INSTANTIATE_STORAGE_OPS(bfloat16)
template class AttentionOp<float>;
template class AttentionOp<double>;  // (no bfloat16 attention)

}  // namespace posbench::kernels
