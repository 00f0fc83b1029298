// `smelt --version` names the CPU path, and each DNNL_MAX_CPU_ISA cap selects the path a CPU of that
// class takes: AVX2 (every x86-64 laptop and most VMs) gets fp32 matmuls of bf16-rounded values and
// AVX2 kernels, SSE41 the baseline kernels, AVX512_CORE native bf16 — never more than the CPU has.
#include <gtest/gtest.h>

#include <string>

#include "support/cpu_caps.h"
#include "support/test_support.h"

namespace smelt {
namespace {

std::string version_under(const std::string& cap) {
  const std::string env = cap.empty() ? "env -u DNNL_MAX_CPU_ISA " : "env DNNL_MAX_CPU_ISA=" + cap + " ";
  auto r = test::run_shell(env + "'" + SMELT_BINARY + "' --version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(version, names_the_cpu_path_each_cap_selects) {
  for (const std::string cap : {"", "AVX2", "SSE41", "AVX512_CORE"}) {
    const std::string out = version_under(cap);
    const cpu_kernel_isa want = test::expected_kernel_isa(cap);
    const std::string kernels = want == cpu_kernel_isa_avx512 ? "avx512"
                                : want == cpu_kernel_isa_avx2 ? "avx2"
                                                              : "baseline";
    const std::string bf16 = want == cpu_kernel_isa_avx512 ? "native" : "fp32 on bf16-rounded values";
    EXPECT_EQ(out.rfind("smelt ", 0), 0u) << out;
    EXPECT_NE(out.find("; bf16 matmul: " + bf16 + "; kernels: " + kernels + "\n"), std::string::npos)
        << "cap '" << cap << "': " << out;
    if (!cap.empty())
      EXPECT_NE(out.find("(capped by DNNL_MAX_CPU_ISA=" + cap + ")"), std::string::npos) << out;
    else
      EXPECT_EQ(out.find("capped"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace smelt
