// Chunked cross-entropy (engine/cross_entropy.h): the loss against a log-softmax computed in
// double from double logits, the hidden gradient against finite differences of the returned loss,
// chunk sizes 1, 7 and > R giving the same numbers, oneDNN against the reference backend (f32 and
// bf16 lm_head). Out-of-range labels are the caller's to reject (an assert inside, not tested).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/bf16.h"
#include "engine/cross_entropy.h"
#include "engine/random_tensors.h"

namespace smelt {
namespace {

using test::random_vector;

std::vector<int32_t> random_labels(int64_t R, int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> labels(R);
  for (auto& l : labels) l = static_cast<int32_t>(rng() % V);
  return labels;
}

// Σ_r -log softmax(hidden_r · Wᵀ)[label_r], everything in double.
double direct_loss(const std::vector<float>& hidden, const std::vector<float>& W,
                   const std::vector<int32_t>& labels, int64_t R, int64_t C, int64_t V) {
  double total = 0;
  for (int64_t r = 0; r < R; ++r) {
    std::vector<double> logits(V);
    double mx = -1e300;
    for (int64_t v = 0; v < V; ++v) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += double(hidden[r * C + c]) * W[v * C + c];
      logits[v] = s;
      mx = std::max(mx, s);
    }
    double sum = 0;
    for (double l : logits) sum += std::exp(l - mx);
    total += mx + std::log(sum) - logits[labels[r]];
  }
  return total;
}

// Logits of O(3) (hidden and W scaled so) keep the softmax neither flat nor one-hot.
struct problem {
  int64_t R = 9, C = 16, V = 50;
  std::vector<float> hidden = random_vector(R * C, 1), W = random_vector(V * C, 2, 0.75f);
  std::vector<int32_t> labels = random_labels(R, V, 3);
  weight_matrix lm_head() const { return {weight_dtype_f32, W.data(), V, C}; }
};

// The loss is a double sum of per-row terms whose fp32 parts (logits, exp) carry ~1e-7 relative
// error each: 1e-6 relative to the total is ten times that.
TEST(CrossEntropy, LossEqualsDirectLogSoftmax) {
  problem p;
  const double want = direct_loss(p.hidden, p.W, p.labels, p.R, p.C, p.V);
  for (auto backend : {matmul_backend_reference, matmul_backend_onednn}) {
    matmul_context ctx(backend);
    std::vector<float> dh(p.R * p.C);
    const double got = cross_entropy_forward_backward(ctx, dh.data(), p.hidden.data(), p.labels.data(),
                                                      p.lm_head(), p.R, 1.0f);
    EXPECT_NEAR(got, want, 1e-6 * want) << matmul_backend_description(ctx);
    // Evaluation (no gradient) returns the same loss.
    EXPECT_EQ(cross_entropy_forward_backward(ctx, nullptr, p.hidden.data(), p.labels.data(), p.lm_head(), p.R,
                                             1.0f),
              got);
  }
  // A one-row check by hand: uniform logits (zero hidden) give log V.
  matmul_context ctx(matmul_backend_onednn);
  std::vector<float> zero(p.C, 0.0f);
  EXPECT_NEAR(
      cross_entropy_forward_backward(ctx, nullptr, zero.data(), p.labels.data(), p.lm_head(), 1, 1.0f),
      std::log(double(p.V)), 1e-6);
}

// Central differences (step 1e-2) of grad_scale · loss: fp32 logits give the loss noise ~1e-6, i.e.
// ~1e-4 in the quotient, truncation ~(h²/6)·L''' ~ 1e-4 for logits of O(3): 1e-3 absolute + 1e-3
// relative. grad_scale 0.37 checks that the gradient is of grad_scale · sum, not of the sum.
TEST(CrossEntropy, GradientMatchesDifferences) {
  problem p;
  const float grad_scale = 0.37f;
  for (auto backend : {matmul_backend_reference, matmul_backend_onednn}) {
    matmul_context ctx(backend);
    std::vector<float> dh(p.R * p.C, 1e9f);  // written, not accumulated
    cross_entropy_forward_backward(ctx, dh.data(), p.hidden.data(), p.labels.data(), p.lm_head(), p.R,
                                   grad_scale, 4);
    double norm = 0;
    for (size_t i = 0; i < p.hidden.size(); ++i) {
      const float keep = p.hidden[i], up = keep + 0.01f, down = keep - 0.01f;
      p.hidden[i] = up;
      const double lp = cross_entropy_forward_backward(ctx, nullptr, p.hidden.data(), p.labels.data(),
                                                       p.lm_head(), p.R, 1.0f);
      p.hidden[i] = down;
      const double lm = cross_entropy_forward_backward(ctx, nullptr, p.hidden.data(), p.labels.data(),
                                                       p.lm_head(), p.R, 1.0f);
      p.hidden[i] = keep;
      const double fd = grad_scale * (lp - lm) / (double(up) - double(down));
      EXPECT_LE(std::fabs(fd - dh[i]), 1e-3 + 1e-3 * std::fabs(fd))
          << matmul_backend_description(ctx) << " dhidden[" << i << "]: analytic " << dh[i]
          << ", differences " << fd;
      norm += double(dh[i]) * dh[i];
    }
    EXPECT_GT(norm, 1e-3);
  }
}

// Chunking only changes how many rows each matmul sees: on the reference backend (double sums per
// element) the numbers are identical; oneDNN may pick other kernels for other row counts, so there
// 1e-6 relative (a few fp32 ulps of the values).
TEST(CrossEntropy, ChunkSizeDoesNotMatter) {
  problem p;
  for (auto backend : {matmul_backend_reference, matmul_backend_onednn}) {
    matmul_context ctx(backend);
    std::vector<float> base(p.R * p.C);
    const double base_loss = cross_entropy_forward_backward(ctx, base.data(), p.hidden.data(),
                                                            p.labels.data(), p.lm_head(), p.R, 1.0f, p.R + 5);
    for (int64_t chunk : {1, 7, 256}) {
      std::vector<float> dh(p.R * p.C);
      const double loss = cross_entropy_forward_backward(ctx, dh.data(), p.hidden.data(), p.labels.data(),
                                                         p.lm_head(), p.R, 1.0f, chunk);
      const std::string name =
          std::string(matmul_backend_description(ctx)) + " chunk " + std::to_string(chunk);
      if (backend == matmul_backend_reference) {
        EXPECT_EQ(loss, base_loss) << name;
        EXPECT_EQ(dh, base) << name;
      } else {
        EXPECT_NEAR(loss, base_loss, 1e-6 * base_loss) << name;
        for (size_t i = 0; i < dh.size(); ++i) EXPECT_NEAR(dh[i], base[i], 1e-6) << name << " " << i;
      }
    }
  }
}

// bf16 lm_head: both backends round hidden (forward) and the logit gradient (backward) to bf16 and
// sum exact products in fp32 or double, so they differ only by summation order: 1e-5 relative on
// the loss and 1e-5 absolute on gradients of O(0.1), over a vocabulary of 1000 and C = 64.
TEST(CrossEntropy, Bf16OnednnMatchesReference) {
  const int64_t R = 21, C = 64, V = 1000;
  auto hidden = random_vector(R * C, 4), Wf = random_vector(V * C, 5, 0.4f);
  auto labels = random_labels(R, V, 6);
  std::vector<uint16_t> Wb(Wf.size());
  for (size_t i = 0; i < Wf.size(); ++i) Wb[i] = float_to_bf16(Wf[i]);
  weight_matrix w{weight_dtype_bf16, Wb.data(), V, C};
  matmul_context ref(matmul_backend_reference), dnn(matmul_backend_onednn);
  std::vector<float> a(R * C), b(R * C);
  const double la =
      cross_entropy_forward_backward(ref, a.data(), hidden.data(), labels.data(), w, R, 1.0f / R, 8);
  const double lb =
      cross_entropy_forward_backward(dnn, b.data(), hidden.data(), labels.data(), w, R, 1.0f / R, 8);
  EXPECT_NEAR(lb, la, 1e-5 * la);
  double norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(b[i], a[i], 1e-5) << i;
    norm += double(a[i]) * a[i];
  }
  EXPECT_GT(norm, 1e-4);
}

}  // namespace
}  // namespace smelt
