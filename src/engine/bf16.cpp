// Row conversions for bf16.h; plain loops the compiler vectorises (one copy per ISA, simd.h).
#include "engine/bf16.h"

#include <cmath>

#include "engine/simd.h"

namespace smelt {

SMELT_KERNEL void bf16_row_to_float_body(float* out, const uint16_t* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = uint32_t(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}
SMELT_DISPATCH(void, bf16_row_to_float, (float* out, const uint16_t* in, size_t n), (out, in, n))

// Round to nearest even on the upper 16 bits. NaN never reaches here from the engine (finite
// activations); plain rounding keeps the loops vectorisable.
SMELT_KERNEL uint32_t bf16_rounded_bits(const float* in) {
  uint32_t bits;
  std::memcpy(&bits, in, 4);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return bits & 0xffff0000u;
}

SMELT_KERNEL void float_row_to_bf16_body(uint16_t* out, const float* in, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint16_t>(bf16_rounded_bits(in + i) >> 16);
}
SMELT_DISPATCH(void, float_row_to_bf16, (uint16_t * out, const float* in, size_t n), (out, in, n))

SMELT_KERNEL void float_row_round_bf16_body(float* out, const float* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = bf16_rounded_bits(in + i);
    std::memcpy(out + i, &bits, 4);
  }
}
SMELT_DISPATCH(void, float_row_round_bf16, (float* out, const float* in, size_t n), (out, in, n))

}  // namespace smelt
