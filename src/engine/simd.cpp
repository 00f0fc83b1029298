// simd.h: each kernel built per ISA by SMELT_DISPATCH.
#include "engine/simd.h"

namespace smelt {

SMELT_KERNEL float vec_dot_body(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}
SMELT_DISPATCH(float, vec_dot, (const float* a, const float* b, int64_t n), (a, b, n))

SMELT_KERNEL void vec_axpy_body(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
SMELT_DISPATCH(void, vec_axpy, (float* y, float a, const float* x, int64_t n), (y, a, x, n))

}  // namespace smelt
