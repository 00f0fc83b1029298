// bfloat16 <-> float conversion (round to nearest even, as PyTorch and oneDNN round), one value or
// a row at a time. bf16 is the upper half of an IEEE float; NaN stays NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace smelt {

inline float bf16_to_float(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// IEEE half -> float (for F16 checkpoints, widened once at load).
float f16_to_float(uint16_t h);

void bf16_row_to_float(float* out, const uint16_t* in, size_t n);
void float_row_to_bf16(uint16_t* out, const float* in, size_t n);

}  // namespace smelt
