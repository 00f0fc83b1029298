// What the engine's CPU path should be on this machine under a DNNL_MAX_CPU_ISA value, worked out
// independently of cpu_isa.cpp: the CPU's own features from the compiler's cpuid probe, capped by
// the variable's name as oneDNN documents it (SSE41, AVX, AVX2, AVX2_VNNI, AVX512_CORE..., ALL).
#pragma once

#include <string>

#include "engine/cpu_isa.h"

namespace smelt::test {

inline cpu_kernel_isa hardware_kernel_isa() {
  // oneDNN's avx512_core: F, BW, VL and DQ.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return cpu_kernel_isa_avx512;
  return __builtin_cpu_supports("avx2") ? cpu_kernel_isa_avx2 : cpu_kernel_isa_baseline;
}

// CAP "" or "ALL": no cap.
inline cpu_kernel_isa expected_kernel_isa(const std::string& cap) {
  cpu_kernel_isa limit = cpu_kernel_isa_baseline;  // SSE41, AVX
  if (cap.empty() || cap == "ALL" || cap.rfind("AVX512", 0) == 0)
    limit = cpu_kernel_isa_avx512;
  else if (cap.rfind("AVX2", 0) == 0)
    limit = cpu_kernel_isa_avx2;
  const cpu_kernel_isa hw = hardware_kernel_isa();
  return hw < limit ? hw : limit;
}

}  // namespace smelt::test
