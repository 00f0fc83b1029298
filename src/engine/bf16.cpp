// Row conversions for bf16.h; plain loops the compiler vectorises (one clone per ISA).
#include "engine/bf16.h"

#include <cmath>

#include "engine/simd.h"

namespace smelt {

SMELT_CLONES void bf16_row_to_float(float* out, const uint16_t* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = uint32_t(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}

SMELT_CLONES void float_row_to_bf16(uint16_t* out, const float* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, in + i, 4);
    // NaN never reaches here from the engine (finite activations); plain rounding keeps it vectorisable.
    bits += 0x7fffu + ((bits >> 16) & 1u);
    out[i] = static_cast<uint16_t>(bits >> 16);
  }
}

}  // namespace smelt
