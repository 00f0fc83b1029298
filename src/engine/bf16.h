// Row conversions between bfloat16 and float for the engine's kernels; one value at a time (and
// IEEE half) is core/bf16.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/bf16.h"

namespace smelt {

void bf16_row_to_float(float* out, const uint16_t* in, size_t n);
void float_row_to_bf16(uint16_t* out, const float* in, size_t n);
// out (n) = in (n) rounded to the nearest bf16 value, kept as fp32 (out may be in).
void float_row_round_bf16(float* out, const float* in, size_t n);

}  // namespace smelt
