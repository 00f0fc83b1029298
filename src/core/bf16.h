// bfloat16 <-> float (round to nearest even, as PyTorch and oneDNN round; bf16 is the upper half of
// an IEEE float; NaN stays NaN) and IEEE half -> float, one value at a time. Row kernels for the
// engine live in engine/bf16.h.
#pragma once

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

// IEEE 754 half -> float, exact (subnormals normalised, inf and NaN kept).
inline float f16_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31;
  int exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        mant <<= 1;
        ++e;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | ((mant & 0x3ff) << 13);
    }
  } else {
    bits = sign | uint32_t(exp - 15 + 127) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace smelt
