// A branch-free fp32 exp that compilers vectorise (std::exp stays a scalar libm call unless
// -ffast-math): Cody-Waite range reduction x = n·ln2 + r, a degree-6 polynomial for e^r (the
// classic Cephes expf coefficients, about 1 ulp on [-87, 88]), then 2^n through the exponent bits.
// Results below e^-87.3 are flushed to 0 (softmax tails, -inf); inputs are assumed not NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace smelt {

inline float vec_exp(float x) {
  const float lo = -87.33654f, hi = 88.72283f;
  const float xc = x < lo ? lo : (x > hi ? hi : x);
  // n = round(x / ln2) by the 1.5·2^23 trick (std::floor would not inline without -fno-trapping-math).
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = static_cast<int32_t>(n) + 127;
  const uint32_t bits = static_cast<uint32_t>(e) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return x < lo ? 0.0f : p * scale;
}

}  // namespace smelt
