// cpu_isa.h. Every answer is computed once (function-local statics) and never changes: oneDNN reads
// DNNL_MAX_CPU_ISA once per process too.
#include "engine/cpu_isa.h"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <fstream>

namespace smelt {

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Creates (never runs) the bf16 matmuls the engine needs: a linear's [M, K]·[K, N] with the weight read
// transposed, and attention's batched strided products with a broadcast batch dim, an output scale and
// a sum post-op. oneDNN 2.6 has no bf16 matmul implementation below AVX-512: creation throws there.
bool onednn_builds_bf16_matmuls() {
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::memory::desc a({4, 32}, dt::bf16, dims{32, 1}), b({32, 4}, dt::bf16, dims{1, 32}),
        c({4, 4}, dt::f32, dims{4, 1});
    dnnl::matmul::primitive_desc linear(dnnl::matmul::desc(a, b, c), engine);
    dnnl::memory::desc q({2, 2, 8, 16}, dt::bf16, dims{2 * 16, 16, 2 * 2 * 16, 1}),
        k({2, 1, 16, 8}, dt::bf16, dims{16, 16, 1, 2 * 16}), s({2, 2, 8, 8}, dt::f32, dims{128, 64, 8, 1});
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {0.5f});
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
    dnnl::matmul::primitive_desc batched(dnnl::matmul::desc(q, k, s), attr, engine);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "unknown CPU";
}

}  // namespace

cpu_kernel_isa cpu_kernel_isa_selected() {
  static const cpu_kernel_isa selected = [] {
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core:
      case dnnl::cpu_isa::avx512_core_vnni:
      case dnnl::cpu_isa::avx512_core_bf16:
      case dnnl::cpu_isa::avx512_core_amx:
      case dnnl::cpu_isa::avx512_mic:
      case dnnl::cpu_isa::avx512_mic_4ops:
        return cpu_kernel_isa_avx512;
      case dnnl::cpu_isa::avx2:
      case dnnl::cpu_isa::avx2_vnni:
        return cpu_kernel_isa_avx2;
      default:
        return cpu_kernel_isa_baseline;
    }
  }();
  return selected;
}

const char* cpu_kernel_isa_name(cpu_kernel_isa isa) {
  switch (isa) {
    case cpu_kernel_isa_avx512:
      return "avx512";
    case cpu_kernel_isa_avx2:
      return "avx2";
    default:
      return "baseline";
  }
}

bool cpu_bf16_matmul_native() {
  static const bool native = onednn_builds_bf16_matmuls();
  return native;
}

const char* cpu_onednn_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "unknown";
  }
}

std::string cpu_path_summary() {
  const dnnl_version_t* v = dnnl::version();
  const char* cap = std::getenv("DNNL_MAX_CPU_ISA");
  return fmt::format("cpu: {}; oneDNN {}.{}.{} isa {}{}; bf16 matmul: {}; kernels: {}", cpu_model_name(),
                     v->major, v->minor, v->patch, cpu_onednn_isa_name(),
                     cap && *cap ? fmt::format(" (capped by DNNL_MAX_CPU_ISA={})", cap) : std::string(),
                     cpu_bf16_matmul_native() ? "native" : "fp32 on bf16-rounded values",
                     cpu_kernel_isa_name(cpu_kernel_isa_selected()));
}

}  // namespace smelt
