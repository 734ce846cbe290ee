// Runtime dispatch: xsimd::dispatch<SimdArchs> calls the functor instantiated for the widest
// instruction set in SimdArchs that this CPU supports (available_architectures().best).
#include "harness/kernels/simd_arch.h"

namespace posbench::kernels {

std::string simd_isa() { return xsimd::dispatch<SimdArchs>(IsaName{})(); }

template <class T>
void simd_sincos_table(const SincosTableArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(SincosTable{})(a);
}
template <class T>
void simd_rotate(const RotateArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(Rotate{})(a);
}
template <class T>
void simd_axpy(const AxpyArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(Axpy{})(a);
}
template <class T>
void simd_relative_bias(const RelativeBiasArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(RelativeBias{})(a);
}
template <class T>
void simd_convert(const ConvertArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(Convert{})(a);
}
template <class T>
void simd_attention(const AttentionArgs<T>& a) {
  xsimd::dispatch<SimdArchs>(Attention{})(a);
}
void simd_probe(const ProbeArgs& a) { xsimd::dispatch<SimdArchs>(Probe{})(a); }

#define POSBENCH_INSTANTIATE_DISPATCH_STORAGE(T)                   \
  template void simd_sincos_table<T>(const SincosTableArgs<T>&);   \
  template void simd_rotate<T>(const RotateArgs<T>&);              \
  template void simd_axpy<T>(const AxpyArgs<T>&);                  \
  template void simd_relative_bias<T>(const RelativeBiasArgs<T>&); \
  template void simd_convert<T>(const ConvertArgs<T>&);
#define POSBENCH_INSTANTIATE_DISPATCH(T)   \
  POSBENCH_INSTANTIATE_DISPATCH_STORAGE(T) \
  template void simd_attention<T>(const AttentionArgs<T>&);
POSBENCH_INSTANTIATE_DISPATCH(float)
POSBENCH_INSTANTIATE_DISPATCH(double)
POSBENCH_INSTANTIATE_DISPATCH_STORAGE(bfloat16)  // no bfloat16 attention

}  // namespace posbench::kernels
