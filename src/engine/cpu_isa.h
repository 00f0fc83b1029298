// Which CPU path the engine takes, decided once per process at run time: oneDNN's effective ISA (the
// CPU's own, capped by the DNNL_MAX_CPU_ISA environment variable), the copy of smelt's own kernels
// that goes with it (simd.h), and whether bf16 products run as oneDNN bf16 matmuls or as fp32 matmuls
// of bf16-rounded values. One answer for every op, for tests and for `smelt --version`. Choosing a
// path for an op is the op's business (matmul.cpp, attention_onednn.cpp); this file only decides.
#pragma once

#include <string>

namespace smelt {

// The instruction set smelt's own kernels (SMELT_DISPATCH in simd.h) are compiled for.
enum cpu_kernel_isa { cpu_kernel_isa_baseline, cpu_kernel_isa_avx2, cpu_kernel_isa_avx512 };

// AVX-512 when oneDNN's effective ISA is an AVX-512 one, AVX2 when it is AVX2, else baseline x86-64,
// so DNNL_MAX_CPU_ISA=AVX2 on an AVX-512 machine runs the kernels an AVX2-only CPU runs.
cpu_kernel_isa cpu_kernel_isa_selected();
const char* cpu_kernel_isa_name(cpu_kernel_isa isa);  // "avx512", "avx2", "baseline"

// Whether oneDNN builds the bf16 matmuls the engine uses (plain, batched with strides, with output
// scale and sum): it needs AVX-512 at least, so false on AVX2 CPUs and under DNNL_MAX_CPU_ISA=AVX2.
bool cpu_bf16_matmul_native();

// oneDNN's effective ISA by its own name ("avx512_core_amx", "avx2", ...).
const char* cpu_onednn_isa_name();

// One line for `smelt --version`: CPU model, oneDNN version and ISA (and the cap when one is set),
// the bf16 matmul path and the kernel ISA.
std::string cpu_path_summary();

}  // namespace smelt
