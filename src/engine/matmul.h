// Linear layers against frozen weights kept in their stored dtype: out = inp · Wᵀ (+ bias), W in
// PyTorch's [out, in] layout. Two backends: a plain reference (the specification, used by tests)
// and oneDNN (AVX-512 bf16 / AMX where the CPU has them, chosen by oneDNN at run time). Gradients
// and LoRA live elsewhere; this file only multiplies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

namespace smelt {

enum weight_dtype { weight_dtype_bf16, weight_dtype_f32 };

// W [rows, cols] row-major, not owned (points into a mapped safetensors file or an owned copy).
struct weight_matrix {
  weight_dtype dtype = weight_dtype_bf16;
  const void* data = nullptr;
  int64_t rows = 0;  // out features
  int64_t cols = 0;  // in features
};

enum matmul_backend { matmul_backend_reference, matmul_backend_onednn };

// Per-model matmul state: the backend, oneDNN engine/stream and a primitive cache keyed by shape.
// Not thread-safe: one context per thread of model work (the ops inside use all cores).
class matmul_context {
 public:
  explicit matmul_context(matmul_backend backend);
  ~matmul_context();
  matmul_context(const matmul_context&) = delete;
  matmul_context& operator=(const matmul_context&) = delete;

  matmul_backend backend() const { return backend_; }
  struct onednn_state;  // matmul.cpp
  onednn_state& onednn() { return *onednn_; }
  std::vector<uint16_t>& bf16_scratch() { return bf16_scratch_; }
  std::vector<float>& attention_scratch() { return attention_scratch_; }
  std::vector<uint16_t>& attention_bf16_scratch() { return attention_bf16_scratch_; }
  std::vector<float>& attention_rounded_scratch() { return attention_rounded_scratch_; }

 private:
  matmul_backend backend_;
  std::unique_ptr<onednn_state> onednn_;
  std::vector<uint16_t> bf16_scratch_;
  std::vector<float> attention_scratch_;
  std::vector<uint16_t> attention_bf16_scratch_;
  std::vector<float> attention_rounded_scratch_;  // bf16 roundings held as fp32 (no bf16 matmul)
};

// out [M, N] = inp [M, K] · Wᵀ + bias [N] (bias may be null); N = w.rows, K = w.cols.
// With bf16 weights the input rows are rounded to bf16 first (as a bf16 PyTorch model feeds its
// linears) and products accumulate in fp32; with f32 weights everything is fp32.
void linear_forward(matmul_context& ctx, float* out, const float* inp, const weight_matrix& w,
                    const float* bias, int64_t M);

// Backward of linear_forward with respect to its input (W is frozen, so no weight gradient):
// dinp [M, K] (+)= dout [M, N] · W. With bf16 weights dout is rounded to bf16 first (as autocast
// does); ACCUMULATE adds to dinp instead of overwriting it.
void linear_backward_input(matmul_context& ctx, float* dinp, const float* dout, const weight_matrix& w,
                           int64_t M, bool accumulate);

// General fp32 product for small trainable matrices (LoRA): C [M, N] = alpha · op(A) · op(B) + beta · C,
// op(A) [M, K] is A [M, K] or, when TRANS_A, A [K, M] read transposed; likewise op(B) [K, N] from
// B [K, N] or B [N, K]. Row-major, contiguous.
void matmul_f32(matmul_context& ctx, float* C, const float* A, const float* B, int64_t M, int64_t N,
                int64_t K, bool trans_a, bool trans_b, float alpha, float beta);

// A name for logs and benchmarks: "onednn (avx512_core_bf16)", "reference".
const char* matmul_backend_description(matmul_context& ctx);

}  // namespace smelt
