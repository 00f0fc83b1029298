// Plain inner-loop kernels shared by the engine's forward and backward ops, and SMELT_CLONES, the
// attribute that compiles such a loop once per ISA (AVX-512, AVX2, baseline) and picks one at load
// time, so the loops vectorise on AVX-512 machines and still run on older ones.
#pragma once

#include <cstdint>

#define SMELT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace smelt {

// Σ a[i]·b[i] over n floats (fp32 sum).
float vec_dot(const float* a, const float* b, int64_t n);

// y (n) += a · x (n).
void vec_axpy(float* y, float a, const float* x, int64_t n);

}  // namespace smelt
