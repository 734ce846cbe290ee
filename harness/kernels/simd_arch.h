#pragma once
// The SIMD kernels as functors, one explicit instantiation per instruction set (xsimd 8.1).
//
// Each kernel is a functor whose `template <class Arch, class T> operator()(Arch, const Args<T>&)`
// is defined in harness/kernels/simd_impl.h and explicitly instantiated once per instruction set
// in harness/kernels/isa/kernels_<isa>.cpp, each compiled with that set's -m flags (CMake picks
// the flags from the file name). The declarations below (extern template) keep every other
// translation unit from instantiating them with baseline flags; the wrappers in simd.cpp call
// xsimd::dispatch<SimdArchs>(functor), which picks the best entry of SimdArchs the CPU supports
// at run time. One binary thus runs on AVX-512, AVX2-only and SSE-only machines.

#include <xsimd/xsimd.hpp>

#include "harness/kernels/simd.h"

namespace posbench::kernels {

// Widest first. sse2 is the x86-64 baseline, so the last entry always runs.
using SimdArchs = xsimd::arch_list<xsimd::avx512bw, xsimd::avx2, xsimd::sse4_2, xsimd::sse2>;

// ---- functors ----------------------------------------------------------------------------------

struct IsaName {
  template <class Arch>
  const char* operator()(Arch) const;
};
struct SincosTable {
  template <class Arch, class T>
  void operator()(Arch, const SincosTableArgs<T>& a) const;
};
struct Rotate {
  template <class Arch, class T>
  void operator()(Arch, const RotateArgs<T>& a) const;
};
struct Axpy {
  template <class Arch, class T>
  void operator()(Arch, const AxpyArgs<T>& a) const;
};
struct RelativeBias {
  template <class Arch, class T>
  void operator()(Arch, const RelativeBiasArgs<T>& a) const;
};
struct Convert {
  template <class Arch, class T>
  void operator()(Arch, const ConvertArgs<T>& a) const;
};
struct Attention {
  template <class Arch, class T>
  void operator()(Arch, const AttentionArgs<T>& a) const;
};
struct Probe {
  template <class Arch>
  void operator()(Arch, const ProbeArgs& a) const;
};

#define POSBENCH_KERNELS_FOR_ARCH(PREFIX, A)                            \
  PREFIX template const char* IsaName::operator()<A>(A) const;          \
  PREFIX template void Probe::operator()<A>(A, const ProbeArgs&) const; \
  POSBENCH_KERNELS_FOR_ARCH_T(PREFIX, A, float)                         \
  POSBENCH_KERNELS_FOR_ARCH_T(PREFIX, A, double)                        \
  POSBENCH_KERNELS_FOR_ARCH_STORAGE(PREFIX, A, bfloat16)
#define POSBENCH_KERNELS_FOR_ARCH_T(PREFIX, A, T) \
  POSBENCH_KERNELS_FOR_ARCH_STORAGE(PREFIX, A, T) \
  PREFIX template void Attention::operator()<A, T>(A, const AttentionArgs<T>&) const;
// The kernels every element type has (bfloat16 has no attention).
#define POSBENCH_KERNELS_FOR_ARCH_STORAGE(PREFIX, A, T)                                     \
  PREFIX template void SincosTable::operator()<A, T>(A, const SincosTableArgs<T>&) const;   \
  PREFIX template void Rotate::operator()<A, T>(A, const RotateArgs<T>&) const;             \
  PREFIX template void Axpy::operator()<A, T>(A, const AxpyArgs<T>&) const;                 \
  PREFIX template void RelativeBias::operator()<A, T>(A, const RelativeBiasArgs<T>&) const; \
  PREFIX template void Convert::operator()<A, T>(A, const ConvertArgs<T>&) const;

POSBENCH_KERNELS_FOR_ARCH(extern, xsimd::avx512bw)
POSBENCH_KERNELS_FOR_ARCH(extern, xsimd::avx2)
POSBENCH_KERNELS_FOR_ARCH(extern, xsimd::sse4_2)
POSBENCH_KERNELS_FOR_ARCH(extern, xsimd::sse2)

}  // namespace posbench::kernels
