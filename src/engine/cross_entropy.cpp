// cross_entropy.h: a chunk of rows of logits at a time through linear_forward, a log-softmax per row
// (fp32 exp, double sums), the logits buffer overwritten by the gradient grad_scale · (softmax -
// onehot), then dhidden = that · lm_head through linear_backward_input. Label validation is the
// caller's (an assert here).
#include "engine/cross_entropy.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "engine/simd.h"
#include "engine/vec_exp.h"

namespace smelt {

namespace {

SMELT_KERNEL float row_max_body(const float* x, int64_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  return m;
}
SMELT_DISPATCH(float, row_max, (const float* x, int64_t n), (x, n))

// Σ exp(x - mx) with the exps in fp32 (vec_exp, vectorised) and fp32 partial sums folded in double
// every block, so a 150k vocabulary stays accurate to ~1e-7 relative. With STORE the exps replace x
// (the backward scales them into the softmax, so each logit is exponentiated once).
SMELT_KERNEL double row_sum_exp_body(float* x, int64_t n, float mx, bool store) {
  double total = 0;
  constexpr int64_t block = 1024;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t e = std::min(n, b + block);
    float part = 0;
    if (store) {
#pragma omp simd reduction(+ : part)
      for (int64_t i = b; i < e; ++i) {
        x[i] = vec_exp(x[i] - mx);
        part += x[i];
      }
    } else {
#pragma omp simd reduction(+ : part)
      for (int64_t i = b; i < e; ++i) part += vec_exp(x[i] - mx);
    }
    total += part;
  }
  return total;
}
SMELT_DISPATCH(double, row_sum_exp, (float* x, int64_t n, float mx, bool store), (x, n, mx, store))

// x (n) *= s, in place (exps times g / their sum: the softmax times g).
SMELT_KERNEL void row_scale_body(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
SMELT_DISPATCH(void, row_scale, (float* x, int64_t n, float s), (x, n, s))

}  // namespace

double cross_entropy_forward_backward(matmul_context& ctx, float* dhidden, const float* hidden,
                                      const int32_t* labels, const weight_matrix& lm_head, int64_t R,
                                      float grad_scale, int64_t chunk) {
  const int64_t V = lm_head.rows, C = lm_head.cols;
  chunk = std::max<int64_t>(1, std::min(chunk, R));
  // Kept across calls: a chunk of logits is hundreds of MB, which a fresh allocation would fault in
  // page by page on every step.
  // (A local reference: inside the OpenMP region the thread_local would name each worker's own.)
  static thread_local std::vector<float> kept;
  std::vector<float>& logits = kept;
  logits.resize(static_cast<size_t>(chunk * V));
  // Per-row losses summed in row order at the end: the total does not depend on chunk or threads.
  std::vector<double> row_loss(static_cast<size_t>(R));
  for (int64_t r0 = 0; r0 < R; r0 += chunk) {
    const int64_t rows = std::min(chunk, R - r0);
    linear_forward(ctx, logits.data(), hidden + r0 * C, lm_head, nullptr, rows);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      float* row = logits.data() + r * V;
      const int32_t label = labels[r0 + r];
      assert(label >= 0 && label < V && "cross_entropy: label out of range (callers validate)");
      const float mx = row_max(row, V);
      const float label_logit = row[label];
      const double sum = row_sum_exp(row, V, mx, dhidden != nullptr);
      const double lse = double(mx) + std::log(sum);
      row_loss[r0 + r] = lse - double(label_logit);
      if (dhidden) {
        row_scale(row, V, static_cast<float>(double(grad_scale) / sum));
        row[label] -= grad_scale;
      }
    }
    if (dhidden) linear_backward_input(ctx, dhidden + r0 * C, logits.data(), lm_head, rows, false);
  }
  double total = 0;
  for (double l : row_loss) total += l;
  return total;
}

}  // namespace smelt
