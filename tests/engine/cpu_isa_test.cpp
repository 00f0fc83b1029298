// Which CPU path the engine takes (cpu_isa.h) against what this CPU has and the DNNL_MAX_CPU_ISA cap
// this run was given: the kernels follow the cap, and bf16 matmuls are native exactly from AVX-512
// on. Every cap's choice is checked through `smelt --version` in tests/cli/version_test.cpp; this
// checks the in-process answer under whichever cap ctest set (none, and AVX2 for the *.avx2 tests).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/cpu_isa.h"
#include "support/cpu_caps.h"

namespace smelt {
namespace {

TEST(cpu_isa, kernels_and_bf16_path_follow_the_cpu_and_its_cap) {
  const char* cap = std::getenv("DNNL_MAX_CPU_ISA");
  const cpu_kernel_isa want = test::expected_kernel_isa(cap ? cap : "");
  EXPECT_EQ(cpu_kernel_isa_selected(), want) << "cap " << (cap ? cap : "none");
  EXPECT_EQ(cpu_bf16_matmul_native(), want == cpu_kernel_isa_avx512) << "cap " << (cap ? cap : "none");
  EXPECT_STREQ(cpu_kernel_isa_name(want), want == cpu_kernel_isa_avx512 ? "avx512"
                                          : want == cpu_kernel_isa_avx2 ? "avx2"
                                                                        : "baseline");
}

}  // namespace
}  // namespace smelt
