// simd.h: each kernel built per ISA by SMELT_CLONES.
#include "engine/simd.h"

namespace smelt {

SMELT_CLONES float vec_dot(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

SMELT_CLONES void vec_axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace smelt
