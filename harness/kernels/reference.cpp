// Reference kernels (see reference.h). Eigen is included under a private namespace name, as in
// the per-ISA kernels, so its setNbThreads(1) (the kernels thread only with their own OpenMP
// loops) does not change the Eigen the rest of posbench uses.
#define Eigen posbench_eigen_reference
#include <Eigen/Core>

#include <omp.h>

#include <cmath>
#include <limits>

#include "harness/kernels/attention_impl.h"
#include "harness/kernels/reference.h"

namespace posbench::kernels {
namespace {

// Causal softmax of one row, scalar: logits in T, exp and sum in float64.
template <class T>
struct ScalarSoftmax {
  __attribute__((noinline)) static void row(T* s, int64_t valid, int64_t width, T scale,
                                            const T* bias) {
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < valid; ++j) {
      T v = scale * s[j];
      if (bias) v = v + bias[j];
      s[j] = v;
      m = v > m ? v : m;
    }
    auto weight = [&](T v) {  // exp(v - m), 0 below the cutoff (see attention_impl.h)
      const double d = double(v) - double(m);
      return d < double(softmax_cutoff<T>()) ? 0.0 : std::exp(d);
    };
    double sum = 0;
    for (int64_t j = 0; j < valid; ++j) sum += weight(s[j]);
    for (int64_t j = 0; j < valid; ++j) s[j] = T(weight(s[j]) / sum);
    for (int64_t j = valid; j < width; ++j) s[j] = T(0);
  }
};

}  // namespace

template <class T>
void reference_sincos_table(const SincosTableArgs<T>& a) {
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    const double p = double(a.positions[t]);
    T* so = a.sin_out + t * a.row_stride;
    T* co = a.cos_out + t * a.row_stride;
    for (int64_t i = 0; i < a.pairs; ++i) {
      const double angle = p * a.inv_freq[i];
      so[i * a.elem_stride] = from_double<T>(a.magnitude * std::sin(angle));
      co[i * a.elem_stride] = from_double<T>(a.magnitude * std::cos(angle));
    }
  }
}

template <class T>
void reference_rotate(const RotateArgs<T>& a) {
  using C = compute_t<T>;
  const int64_t half = a.rotary_dims / 2, D = a.head_dim, H = a.heads;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t t = 0; t < a.rows; ++t) {
    const T* c = a.cos + t * half;
    const T* s = a.sin + t * half;
    for (int64_t h = 0; h < H; ++h) {
      const T* x = a.src + (t * H + h) * D;
      T* y = a.dst + (t * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t ia = a.interleaved ? 2 * i : i, ib = a.interleaved ? 2 * i + 1 : i + half;
        const C xa = widen(x[ia]), xb = widen(x[ib]), ci = widen(c[i]), si = widen(s[i]);
        y[ia] = narrow<T>(xa * ci - xb * si);
        y[ib] = narrow<T>(xa * si + xb * ci);
      }
      if (y != x)
        for (int64_t j = a.rotary_dims; j < D; ++j) y[j] = x[j];
    }
  }
}

template <class T>
void reference_axpy(const AxpyArgs<T>& a) {
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kElementsPerTask)
  for (int64_t i = 0; i < a.n; ++i)
    a.dst[i] = narrow<T>(widen(a.x[i]) + widen(a.scale) * widen(a.y[i]));
}

template <class T>
void reference_relative_bias(const RelativeBiasArgs<T>& a) {
  const int64_t n = a.n;
#pragma omp parallel for num_threads(a.threads) schedule(dynamic, kRowsPerTask)
  for (int64_t r = 0; r < a.heads * n; ++r) {
    const int64_t h = r / n, i = r % n;
    const T* src = a.rel + h * (2 * n - 1) + (n - 1 - i);
    T* o = a.out + r * n;
    for (int64_t j = 0; j < n; ++j)
      o[j] = a.add ? narrow<T>(widen(o[j]) + widen(a.scale) * widen(src[j])) : src[j];
  }
}

template <class T>
void reference_convert(const ConvertArgs<T>& a) {
  // The term is rounded to T before the add, as a bias stored in T would be (for bfloat16 the
  // SIMD relative-bias path adds the distance rows stored in bfloat16: the same bits).
  for (int64_t i = 0; i < a.n; ++i)
    a.dst[i] = a.add ? narrow<T>(widen(a.dst[i]) + widen(from_double<T>(a.scale * a.src[i])))
                     : from_double<T>(a.src[i]);
}

template <class T>
void reference_attention(const AttentionArgs<T>& a) {
  attention_impl<T, ScalarSoftmax<T>>(a);
}

#define POSBENCH_INSTANTIATE_REFERENCE_STORAGE(T)                       \
  template void reference_sincos_table<T>(const SincosTableArgs<T>&);   \
  template void reference_rotate<T>(const RotateArgs<T>&);              \
  template void reference_axpy<T>(const AxpyArgs<T>&);                  \
  template void reference_relative_bias<T>(const RelativeBiasArgs<T>&); \
  template void reference_convert<T>(const ConvertArgs<T>&);
#define POSBENCH_INSTANTIATE_REFERENCE(T)   \
  POSBENCH_INSTANTIATE_REFERENCE_STORAGE(T) \
  template void reference_attention<T>(const AttentionArgs<T>&);
POSBENCH_INSTANTIATE_REFERENCE(float)
POSBENCH_INSTANTIATE_REFERENCE(double)
POSBENCH_INSTANTIATE_REFERENCE_STORAGE(bfloat16)  // no bfloat16 attention

}  // namespace posbench::kernels
