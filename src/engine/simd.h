// Plain inner-loop kernels shared by the engine's forward and backward ops, and SMELT_DISPATCH, which
// compiles such a loop once per ISA (AVX-512, AVX2, baseline) and calls the copy cpu_isa.h selects.
// That choice honours oneDNN's DNNL_MAX_CPU_ISA cap (GCC's target_clones would not), so a capped run
// on an AVX-512 machine takes the path of an AVX2-only CPU. OpenMP regions stay outside kernels: an
// outlined parallel body would not be compiled for the kernel's ISA.
#pragma once

#include <cstdint>

#include "engine/cpu_isa.h"

// A kernel's body, written once: inlined into each ISA's copy by SMELT_DISPATCH.
#define SMELT_KERNEL static inline __attribute__((always_inline))

// SMELT_DISPATCH(RET, NAME, (PARAMS), (ARGS)) defines RET NAME(PARAMS), which calls NAME_body(ARGS)
// compiled for the selected ISA (chosen on the first call, an indirect call after that).
#define SMELT_DISPATCH(ret, name, params, args)                                                       \
  __attribute__((target("avx512f"))) static ret name##_avx512 params {                                \
    return name##_body args;                                                                          \
  }                                                                                                   \
  __attribute__((target("avx2"))) static ret name##_avx2 params {                                     \
    return name##_body args;                                                                          \
  }                                                                                                   \
  static ret name##_baseline params {                                                                 \
    return name##_body args;                                                                          \
  }                                                                                                   \
  ret name params {                                                                                   \
    static const auto chosen = ::smelt::cpu_kernel_pick(name##_avx512, name##_avx2, name##_baseline); \
    return chosen args;                                                                               \
  }

namespace smelt {

// Elements per kernel call when an elementwise op is split across threads.
constexpr int64_t k_elementwise_block = 4096;

template <typename F>
F* cpu_kernel_pick(F* avx512, F* avx2, F* baseline) {
  switch (cpu_kernel_isa_selected()) {
    case cpu_kernel_isa_avx512:
      return avx512;
    case cpu_kernel_isa_avx2:
      return avx2;
    default:
      return baseline;
  }
}

// Σ a[i]·b[i] over n floats (fp32 sum).
float vec_dot(const float* a, const float* b, int64_t n);

// y (n) += a · x (n).
void vec_axpy(float* y, float a, const float* x, int64_t n);

}  // namespace smelt
