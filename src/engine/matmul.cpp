// linear_forward on the reference and oneDNN backends. oneDNN sees W [N, K] row-major as the
// matrix B [K, N] with strides (1, K) (format tag `ba`), so weights are used in place, never
// reordered or copied. Primitives are cached per (M, N, K, dtype, bias).
#include "engine/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "engine/bf16.h"
#include "engine/cpu_isa.h"

namespace smelt {

struct matmul_context::onednn_state {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::tuple<int64_t, int64_t, int64_t, int, bool>, dnnl::matmul> primitives;
  std::string description;
  std::vector<float> widened;
  // linear_backward_input and matmul_f32 primitives, keyed by shape, flags and scale bits.
  std::map<std::vector<int64_t>, dnnl::matmul> general;
};

matmul_context::matmul_context(matmul_backend backend) : backend_(backend) {
  if (backend_ == matmul_backend_onednn) onednn_ = std::make_unique<onednn_state>();
}

matmul_context::~matmul_context() = default;

namespace {

void linear_reference(std::vector<uint16_t>& scratch, float* out, const float* inp, const weight_matrix& w,
                      const float* bias, int64_t M) {
  const int64_t N = w.rows, K = w.cols;
  // Inputs of a bf16 linear are rounded to bf16, as the oneDNN path and a bf16 PyTorch model do.
  std::vector<float> rounded;
  if (w.dtype == weight_dtype_bf16) {
    rounded.resize(static_cast<size_t>(M * K));
    for (int64_t i = 0; i < M * K; ++i) rounded[i] = bf16_to_float(float_to_bf16(inp[i]));
    inp = rounded.data();
  }
  (void)scratch;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      const float* x = inp + m * K;
      double sum = bias ? bias[n] : 0.0;
      if (w.dtype == weight_dtype_bf16) {
        const uint16_t* row = static_cast<const uint16_t*>(w.data) + n * K;
        for (int64_t k = 0; k < K; ++k) sum += double(x[k]) * double(bf16_to_float(row[k]));
      } else {
        const float* row = static_cast<const float*>(w.data) + n * K;
        for (int64_t k = 0; k < K; ++k) sum += double(x[k]) * double(row[k]);
      }
      out[m * N + n] = static_cast<float>(sum);
    }
  }
}

// dst [M, N] (row stride LDC) = src [M, K] · B, B given as W [N, K] row-major; fp32.
void onednn_f32_matmul(matmul_context::onednn_state& st, float* dst, int64_t ldc, const float* src,
                       const float* w, const float* bias, int64_t M, int64_t N, int64_t K) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::memory::desc src_md({M, K}, dt::f32, tag::ab);
  dnnl::memory::desc wei_md({K, N}, dt::f32, tag::ba);
  dnnl::memory::desc bias_md({1, N}, dt::f32, tag::ab);
  dnnl::memory::desc dst_md({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
  auto desc =
      bias ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md) : dnnl::matmul::desc(src_md, wei_md, dst_md);
  dnnl::matmul prim(dnnl::matmul::primitive_desc(desc, st.engine));
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, dnnl::memory(src_md, st.engine, const_cast<float*>(src))},
      {DNNL_ARG_WEIGHTS, dnnl::memory(wei_md, st.engine, const_cast<float*>(w))},
      {DNNL_ARG_DST, dnnl::memory(dst_md, st.engine, dst)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_md, st.engine, const_cast<float*>(bias)));
  prim.execute(st.stream, args);
  st.stream.wait();
}

// bf16 weights on a CPU without bf16 matmul: inputs rounded to bf16 (same numbers as the native
// path), weights widened to fp32 a block of rows at a time, so no fp32 copy of W ever exists whole.
void linear_onednn_widened(matmul_context& ctx, float* out, const float* inp, const weight_matrix& w,
                           const float* bias, int64_t M) {
  auto& st = ctx.onednn();
  const int64_t N = w.rows, K = w.cols, block = 256;
  std::vector<float> rounded(static_cast<size_t>(M * K));
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m)
    float_row_round_bf16(rounded.data() + m * K, inp + m * K, static_cast<size_t>(K));
  st.widened.resize(static_cast<size_t>(block * K));
  for (int64_t n0 = 0; n0 < N; n0 += block) {
    int64_t nb = std::min(block, N - n0);
    const uint16_t* rows = static_cast<const uint16_t*>(w.data) + n0 * K;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nb; ++r)
      bf16_row_to_float(st.widened.data() + r * K, rows + r * K, static_cast<size_t>(K));
    onednn_f32_matmul(st, out + n0, N, rounded.data(), st.widened.data(), bias ? bias + n0 : nullptr, M, nb,
                      K);
  }
}

void linear_onednn(matmul_context& ctx, float* out, const float* inp, const weight_matrix& w,
                   const float* bias, int64_t M) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  auto& st = ctx.onednn();
  const int64_t N = w.rows, K = w.cols;
  const bool is_bf16 = w.dtype == weight_dtype_bf16;
  if (is_bf16 && !cpu_bf16_matmul_native()) return linear_onednn_widened(ctx, out, inp, w, bias, M);
  const dt in_type = is_bf16 ? dt::bf16 : dt::f32;
  dnnl::memory::desc src_md({M, K}, in_type, tag::ab);
  dnnl::memory::desc wei_md({K, N}, in_type, tag::ba);
  dnnl::memory::desc bias_md({1, N}, dt::f32, tag::ab);
  dnnl::memory::desc dst_md({M, N}, dt::f32, tag::ab);

  auto key = std::make_tuple(M, N, K, static_cast<int>(w.dtype), bias != nullptr);
  auto it = st.primitives.find(key);
  if (it == st.primitives.end()) {
    auto desc = bias ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md)
                     : dnnl::matmul::desc(src_md, wei_md, dst_md);
    dnnl::matmul::primitive_desc pd(desc, st.engine);
    if (st.primitives.size() > 256) st.primitives.clear();  // many prompt lengths: start over
    it = st.primitives.emplace(key, dnnl::matmul(pd)).first;
  }

  void* src_ptr = const_cast<float*>(inp);
  if (is_bf16) {
    auto& scratch = ctx.bf16_scratch();
    if (scratch.size() < static_cast<size_t>(M * K)) scratch.resize(static_cast<size_t>(M * K));
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m)
      float_row_to_bf16(scratch.data() + m * K, inp + m * K, static_cast<size_t>(K));
    src_ptr = scratch.data();
  }
  dnnl::memory src(src_md, st.engine, src_ptr);
  dnnl::memory wei(wei_md, st.engine, const_cast<void*>(w.data));
  dnnl::memory dst(dst_md, st.engine, out);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_md, st.engine, const_cast<float*>(bias)));
  it->second.execute(st.stream, args);
  st.stream.wait();
}

}  // namespace

void linear_forward(matmul_context& ctx, float* out, const float* inp, const weight_matrix& w,
                    const float* bias, int64_t M) {
  if (M == 0) return;
  if (ctx.backend() == matmul_backend_reference) {
    linear_reference(ctx.bf16_scratch(), out, inp, w, bias, M);
  } else {
    linear_onednn(ctx, out, inp, w, bias, M);
  }
}

// ---- Backward of the frozen linear and the general fp32 product (training) ----

namespace {

// C [M, N] (row stride LDC) = alpha · A · B + beta · C through oneDNN, A [M, K] and B [K, N] given by
// their strides (a transpose is only a stride swap), TYPE the element type of A and B. beta == 0
// never reads C (it may hold garbage).
void onednn_matmul_2d(matmul_context::onednn_state& st, dnnl::memory::data_type type, const void* a,
                      const dnnl::memory::dims& a_strides, const void* b, const dnnl::memory::dims& b_strides,
                      float* c, int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta) {
  using dt = dnnl::memory::data_type;
  dnnl::memory::desc a_md({M, K}, type, a_strides), b_md({K, N}, type, b_strides),
      c_md({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
  uint32_t alpha_bits, beta_bits;
  std::memcpy(&alpha_bits, &alpha, 4);
  std::memcpy(&beta_bits, &beta, 4);
  std::vector<int64_t> key = {M,
                              N,
                              K,
                              a_strides[0],
                              a_strides[1],
                              b_strides[0],
                              b_strides[1],
                              ldc,
                              static_cast<int64_t>(type),
                              alpha_bits,
                              beta_bits};
  auto it = st.general.find(key);
  if (it == st.general.end()) {
    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, st.engine);
    if (st.general.size() > 512) st.general.clear();  // many shapes (packed lengths): start over
    it = st.general.emplace(std::move(key), dnnl::matmul(pd)).first;
  }
  it->second.execute(st.stream, {{DNNL_ARG_SRC, dnnl::memory(a_md, st.engine, const_cast<void*>(a))},
                                 {DNNL_ARG_WEIGHTS, dnnl::memory(b_md, st.engine, const_cast<void*>(b))},
                                 {DNNL_ARG_DST, dnnl::memory(c_md, st.engine, c)}});
  st.stream.wait();
}

void linear_backward_input_reference(float* dinp, const float* dout, const weight_matrix& w, int64_t M,
                                     bool accumulate) {
  const int64_t N = w.rows, K = w.cols;
  const bool is_bf16 = w.dtype == weight_dtype_bf16;
#pragma omp parallel
  {
    std::vector<double> acc(static_cast<size_t>(K));
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < N; ++n) {
        float g = dout[m * N + n];
        if (is_bf16) g = bf16_to_float(float_to_bf16(g));
        if (is_bf16) {
          const uint16_t* row = static_cast<const uint16_t*>(w.data) + n * K;
          for (int64_t k = 0; k < K; ++k) acc[k] += double(g) * double(bf16_to_float(row[k]));
        } else {
          const float* row = static_cast<const float*>(w.data) + n * K;
          for (int64_t k = 0; k < K; ++k) acc[k] += double(g) * double(row[k]);
        }
      }
      float* d = dinp + m * K;
      for (int64_t k = 0; k < K; ++k) d[k] = static_cast<float>(accumulate ? d[k] + acc[k] : acc[k]);
    }
  }
}

void linear_backward_input_onednn(matmul_context& ctx, float* dinp, const float* dout, const weight_matrix& w,
                                  int64_t M, bool accumulate) {
  using dt = dnnl::memory::data_type;
  auto& st = ctx.onednn();
  const int64_t N = w.rows, K = w.cols;
  const float beta = accumulate ? 1.0f : 0.0f;
  if (w.dtype == weight_dtype_f32) {
    // dinp [M, K] = dout [M, N] · W [N, K], W read in place (row-major, tag ab).
    onednn_matmul_2d(st, dt::f32, dout, {N, 1}, w.data, {K, 1}, dinp, K, M, K, N, 1.0f, beta);
    return;
  }
  if (cpu_bf16_matmul_native()) {
    auto& scratch = ctx.bf16_scratch();
    if (scratch.size() < static_cast<size_t>(M * N)) scratch.resize(static_cast<size_t>(M * N));
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m)
      float_row_to_bf16(scratch.data() + m * N, dout + m * N, static_cast<size_t>(N));
    onednn_matmul_2d(st, dt::bf16, scratch.data(), {N, 1}, w.data, {K, 1}, dinp, K, M, K, N, 1.0f, beta);
    return;
  }
  // No bf16 matmul on this CPU: dout rounded to bf16 values in fp32, W widened a block of its rows
  // (the contraction dimension) at a time; every block after the first adds to dinp.
  const int64_t block = 256;
  std::vector<float> rounded(static_cast<size_t>(M * N));
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m)
    float_row_round_bf16(rounded.data() + m * N, dout + m * N, static_cast<size_t>(N));
  st.widened.resize(static_cast<size_t>(block * K));
  for (int64_t n0 = 0; n0 < N; n0 += block) {
    const int64_t nb = std::min(block, N - n0);
    const uint16_t* rows = static_cast<const uint16_t*>(w.data) + n0 * K;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nb; ++r)
      bf16_row_to_float(st.widened.data() + r * K, rows + r * K, static_cast<size_t>(K));
    onednn_matmul_2d(st, dt::f32, rounded.data() + n0, {N, 1}, st.widened.data(), {K, 1}, dinp, K, M, K, nb,
                     1.0f, n0 == 0 ? beta : 1.0f);
  }
}

void matmul_f32_reference(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                          bool trans_a, bool trans_b, float alpha, float beta) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        double a = trans_a ? A[k * M + m] : A[m * K + k];
        double b = trans_b ? B[n * K + k] : B[k * N + n];
        sum += a * b;
      }
      double prior = beta != 0.0f ? double(beta) * C[m * N + n] : 0.0;
      C[m * N + n] = static_cast<float>(double(alpha) * sum + prior);
    }
  }
}

}  // namespace

void linear_backward_input(matmul_context& ctx, float* dinp, const float* dout, const weight_matrix& w,
                           int64_t M, bool accumulate) {
  if (M == 0) return;
  if (ctx.backend() == matmul_backend_reference) {
    linear_backward_input_reference(dinp, dout, w, M, accumulate);
  } else {
    linear_backward_input_onednn(ctx, dinp, dout, w, M, accumulate);
  }
}

void matmul_f32(matmul_context& ctx, float* C, const float* A, const float* B, int64_t M, int64_t N,
                int64_t K, bool trans_a, bool trans_b, float alpha, float beta) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: C = beta · C
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta != 0.0f ? beta * C[i] : 0.0f;
    return;
  }
  if (ctx.backend() == matmul_backend_reference) {
    matmul_f32_reference(C, A, B, M, N, K, trans_a, trans_b, alpha, beta);
    return;
  }
  // op(A) [M, K]: A [M, K] has strides (K, 1); A [K, M] read transposed has strides (1, M).
  dnnl::memory::dims a_strides = trans_a ? dnnl::memory::dims{1, M} : dnnl::memory::dims{K, 1};
  dnnl::memory::dims b_strides = trans_b ? dnnl::memory::dims{1, K} : dnnl::memory::dims{N, 1};
  onednn_matmul_2d(ctx.onednn(), dnnl::memory::data_type::f32, A, a_strides, B, b_strides, C, N, M, N, K,
                   alpha, beta);
}

const char* matmul_backend_description(matmul_context& ctx) {
  if (ctx.backend() == matmul_backend_reference) return "reference";
  auto& st = ctx.onednn();
  if (st.description.empty())
    st.description = std::string("onednn (") + cpu_onednn_isa_name() +
                     (cpu_bf16_matmul_native() ? ")" : "; fp32, bf16 weights widened per block)");
  return st.description.c_str();
}

}  // namespace smelt
