#pragma once
// Reference kernels: the plain scalar loops a careful person would write, compiled for the x86-64
// baseline, OpenMP over rows with num_threads(threads) exactly. They take the same argument
// structs as the SIMD kernels (simd.h) and are the oracle the SIMD kernels are tested against.
//   sincos table : std::sin / std::cos (float64 libm) of the float64 angle p * inv_freq[i],
//                  times magnitude, rounded once to T.
//   rotate       : (a c - b s, a s + b c) per pair in T, reading the cos/sin cache.
//   axpy, convert, relative bias : plain loops.
//   attention    : the same Eigen GEMMs as the SIMD kernel (its own private copy of Eigen,
//                  baseline flags), a scalar causal softmax with std::exp in float64.
// bfloat16 (no attention): every element widened to float32, the same arithmetic in float32,
// rounded once to bfloat16 (the tables: from the float64 value).

#include "harness/kernels/simd.h"

namespace posbench::kernels {

template <class T>
void reference_sincos_table(const SincosTableArgs<T>& a);
template <class T>
void reference_rotate(const RotateArgs<T>& a);
template <class T>
void reference_axpy(const AxpyArgs<T>& a);
template <class T>
void reference_relative_bias(const RelativeBiasArgs<T>& a);
template <class T>
void reference_convert(const ConvertArgs<T>& a);
template <class T>
void reference_attention(const AttentionArgs<T>& a);

}  // namespace posbench::kernels
