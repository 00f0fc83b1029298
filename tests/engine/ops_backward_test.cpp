// Backward ops against central finite differences of their forwards (loss L = Σ out · w with
// random w, accumulated in double), the oneDNN attention backward against the plain one, and the
// oneDNN linear input-gradient and general fp32 product against the reference backend.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/attention_onednn.h"
#include "engine/bf16.h"
#include "engine/matmul.h"
#include "engine/ops.h"
#include "engine/ops_backward.h"
#include "engine/random_tensors.h"

namespace smelt {
namespace {

using test::random_vector;
using test::weighted_sum;

// Central differences with step 1e-2: the forwards are fp32, so L carries rounding noise of about
// 1e-7 · Σ|out·w| ~ 1e-6 here, i.e. ~1e-4 in the quotient; the truncation error (h²/6)·L''' is
// ~2e-5 for these O(1) smooth functions (the worst seen is 6e-5; SMELT_FD_REPORT=1 prints it).
// Hence |fd - analytic| <= 5e-4 + 1e-3·|analytic|; a wrong term (a missing factor, a sign, a
// dropped group head) is O(0.1) or more.
constexpr double k_fd_step = 1e-2, k_fd_abs = 5e-4, k_fd_rel = 1e-3;

// Checks ANALYTIC (the gradient of L w.r.t. X) against differences of LOSS() over every element of X.
void expect_matches_differences(std::vector<float>& x, const std::vector<float>& analytic,
                                const std::function<double()>& loss, const std::string& what,
                                bool nonzero = true) {
  ASSERT_EQ(x.size(), analytic.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    const float up = saved + static_cast<float>(k_fd_step), down = saved - static_cast<float>(k_fd_step);
    x[i] = up;
    const double lp = loss();
    x[i] = down;
    const double lm = loss();
    x[i] = saved;
    const double fd = (lp - lm) / (double(up) - double(down));
    const double err = std::fabs(fd - analytic[i]);
    worst = std::max(worst, err);
    EXPECT_LE(err, k_fd_abs + k_fd_rel * std::fabs(analytic[i]))
        << what << " element " << i << ": analytic " << analytic[i] << ", differences " << fd;
  }
  if (getenv("SMELT_FD_REPORT")) std::printf("%s: worst |fd - analytic| %.2e\n", what.c_str(), worst);
  // A gradient that is all zeros would pass trivially against a constant forward; make sure it is not.
  if (!nonzero) return;
  double norm = 0;
  for (float g : analytic) norm += double(g) * g;
  EXPECT_GT(norm, 1e-6) << what << ": zero gradient";
}

TEST(OpsBackward, RmsnormMatchesDifferences) {
  const int64_t N = 3, C = 16;
  auto x = random_vector(N * C, 11), w = random_vector(C, 12), lw = random_vector(N * C, 13);
  auto forward = [&] {
    std::vector<float> out(N * C), rstd(N);
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
    return out;
  };
  std::vector<float> out(N * C), rstd(N);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
  std::vector<float> dx(N * C, 0.5f);  // gradients accumulate: start from a known value
  rmsnorm_backward(dx.data(), lw.data(), x.data(), w.data(), rstd.data(), N, C);
  for (auto& g : dx) g -= 0.5f;
  expect_matches_differences(
      x, dx, [&] { return weighted_sum(forward(), lw); }, "rmsnorm dinp");
}

TEST(OpsBackward, RopeMatchesDifferencesAndInvertsForward) {
  const int64_t T = 4, H = 2, D = 8;
  std::vector<int64_t> pos = {0, 1, 5, 33};
  std::vector<float> inv(D / 2);
  rope_inv_freq(inv.data(), D, 10000.0, {});
  auto x = random_vector(T * H * D, 21), lw = random_vector(T * H * D, 22);
  auto forward = [&] {
    std::vector<float> y = x;
    rope_forward(y.data(), pos.data(), inv.data(), T, H, D);
    return y;
  };
  std::vector<float> dx = lw;
  rope_backward(dx.data(), pos.data(), inv.data(), T, H, D);
  expect_matches_differences(
      x, dx, [&] { return weighted_sum(forward(), lw); }, "rope dx");
  // Orthogonal: backward undoes forward (fp32 rounding of O(1) values: 1e-6).
  std::vector<float> y = forward();
  rope_backward(y.data(), pos.data(), inv.data(), T, H, D);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-6);
}

TEST(OpsBackward, SwigluMatchesDifferences) {
  const int64_t n = 60;
  auto g = random_vector(n, 31, 3.0f), u = random_vector(n, 32), lw = random_vector(n, 33);
  auto forward = [&] {
    std::vector<float> out(n);
    swiglu_forward(out.data(), g.data(), u.data(), n);
    return out;
  };
  std::vector<float> dg(n, 0.0f), du(n, 0.0f);
  swiglu_backward(dg.data(), du.data(), lw.data(), g.data(), u.data(), n);
  auto loss = [&] { return weighted_sum(forward(), lw); };
  expect_matches_differences(g, dg, loss, "swiglu dgate");
  expect_matches_differences(u, du, loss, "swiglu dup");
}

struct attention_case {
  int64_t T, Q, KV, D, window;
};

// MHA, GQA groups of 2 and 3, MQA, windows shorter than T and as long as T.
const attention_case k_attention_cases[] = {
    {5, 2, 2, 4, 0}, {7, 4, 2, 8, 0}, {9, 6, 2, 4, 3}, {6, 4, 1, 8, 0}, {8, 3, 1, 4, 8}, {6, 2, 1, 4, 1},
};

TEST(OpsBackward, AttentionMatchesDifferences) {
  for (const auto& c : k_attention_cases) {
    const std::string name = "T" + std::to_string(c.T) + " Q" + std::to_string(c.Q) + " KV" +
                             std::to_string(c.KV) + " window " + std::to_string(c.window);
    // Scores of O(1) keep the softmax away from saturation, where differences say nothing.
    auto q = random_vector(c.T * c.Q * c.D, 41, 0.7f), k = random_vector(c.T * c.KV * c.D, 42, 0.7f),
         v = random_vector(c.T * c.KV * c.D, 43), lw = random_vector(c.T * c.Q * c.D, 44);
    auto loss = [&] {
      std::vector<float> out(c.T * c.Q * c.D);
      attention_forward(out.data(), q.data(), k.data(), v.data(), c.T, 0, c.Q, c.KV, c.D, c.window);
      return weighted_sum(out, lw);
    };
    std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
    attention_backward(dq.data(), dk.data(), dv.data(), lw.data(), q.data(), k.data(), v.data(), c.T, c.Q,
                       c.KV, c.D, c.window);
    // A window of 1 attends to one key: the softmax is constant, dq and dk are exactly zero.
    const bool scores_matter = c.window != 1;
    expect_matches_differences(q, dq, loss, name + " dq", scores_matter);
    expect_matches_differences(k, dk, loss, name + " dk", scores_matter);
    expect_matches_differences(v, dv, loss, name + " dv");
  }
}

// oneDNN blocks queries by 128: lengths below, at and across block boundaries, windows inside one
// block and spanning several. Both compute the same fp32 sums in different orders: relative to the
// gradients' scale, 1e-5 is ~100 fp32 ulps over sums of up to 300 terms.
TEST(OpsBackward, AttentionOnednnMatchesPlain) {
  matmul_context ctx(matmul_backend_onednn);
  const attention_case cases[] = {{7, 4, 2, 8, 0},     {128, 4, 2, 16, 0},   {300, 4, 2, 16, 0},
                                  {300, 6, 2, 16, 50}, {257, 2, 1, 32, 200}, {130, 4, 4, 8, 1}};
  for (const auto& c : cases) {
    auto q = random_vector(c.T * c.Q * c.D, 51), k = random_vector(c.T * c.KV * c.D, 52),
         v = random_vector(c.T * c.KV * c.D, 53), dout = random_vector(c.T * c.Q * c.D, 54);
    std::vector<float> dq(q.size(), 0.25f), dk(k.size(), 0.25f), dv(v.size(), 0.25f);  // accumulated into
    std::vector<float> eq = dq, ek = dk, ev = dv;
    attention_backward(eq.data(), ek.data(), ev.data(), dout.data(), q.data(), k.data(), v.data(), c.T, c.Q,
                       c.KV, c.D, c.window);
    attention_backward_onednn(ctx, dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                              c.T, c.Q, c.KV, c.D, c.window);
    auto check = [&](const std::vector<float>& got, const std::vector<float>& want, const char* what,
                     bool nonzero = true) {
      double scale = 0, worst = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        scale = std::max(scale, std::fabs(double(want[i]) - 0.25));
        worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
      }
      if (nonzero) {
        EXPECT_GT(scale, 1e-3) << what;
      }
      EXPECT_LE(worst, 1e-5 * std::max(scale, 1.0)) << what << " T" << c.T << " window " << c.window;
    };
    check(dq, eq, "dq", c.window != 1);  // window 1: zero, as above
    check(dk, ek, "dk", c.window != 1);
    check(dv, ev, "dv");
  }
}

// bf16 inputs (as PyTorch's autocast): each gradient within 1e-2 of the fp32 plain loop's scale —
// bf16 keeps 8 bits, ~4e-3 relative per rounding, and the errors of independent roundings average
// out over the sums — and clearly closer than that to it than to a different input's gradient.
TEST(OpsBackward, AttentionOnednnBf16IsCloseToFp32) {
  matmul_context ctx(matmul_backend_onednn);
  const attention_case cases[] = {{300, 6, 2, 16, 0}, {257, 2, 1, 32, 200}, {140, 4, 4, 8, 0}};
  for (const auto& c : cases) {
    auto q = random_vector(c.T * c.Q * c.D, 71), k = random_vector(c.T * c.KV * c.D, 72),
         v = random_vector(c.T * c.KV * c.D, 73), dout = random_vector(c.T * c.Q * c.D, 74);
    std::vector<float> out32(q.size()), out16(q.size());
    attention_forward(out32.data(), q.data(), k.data(), v.data(), c.T, 0, c.Q, c.KV, c.D, c.window);
    attention_forward_onednn(ctx, out16.data(), q.data(), k.data(), v.data(), c.T, 0, c.Q, c.KV, c.D,
                             c.window, attention_inputs_bf16);
    std::vector<float> eq(q.size()), ek(k.size()), ev(v.size()), dq = eq, dk = ek, dv = ev;
    attention_backward(eq.data(), ek.data(), ev.data(), dout.data(), q.data(), k.data(), v.data(), c.T, c.Q,
                       c.KV, c.D, c.window);
    attention_backward_onednn(ctx, dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                              c.T, c.Q, c.KV, c.D, c.window, attention_inputs_bf16);
    auto check = [&](const std::vector<float>& got, const std::vector<float>& want, const char* what) {
      double scale = 0, worst = 0, err2 = 0, ref2 = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        scale = std::max(scale, std::fabs(double(want[i])));
        worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
        err2 += (double(got[i]) - want[i]) * (double(got[i]) - want[i]), ref2 += double(want[i]) * want[i];
      }
      // Measured NMSE 4e-6..2e-5; fp32 in a different order differs by ~1e-13, so 1e-8 tells
      // whether the bf16 rounding happened at all.
      EXPECT_GT(err2 / ref2, 1e-8) << what << ": bf16 rounding changed nothing";
      EXPECT_LE(worst, 1e-2 * scale) << what << " T" << c.T;
      EXPECT_LE(err2 / ref2, 1e-4) << what << " T" << c.T;  // NMSE
    };
    check(out16, out32, "out");
    check(dq, eq, "dq");
    check(dk, ek, "dk");
    check(dv, ev, "dv");
  }
}

TEST(OpsBackward, LinearBackwardInputMatchesDifferences) {
  const int64_t M = 3, N = 5, K = 7;
  auto W = random_vector(N * K, 61), x = random_vector(M * K, 62), lw = random_vector(M * N, 63);
  weight_matrix w{weight_dtype_f32, W.data(), N, K};
  for (auto backend : {matmul_backend_reference, matmul_backend_onednn}) {
    matmul_context ctx(backend);
    auto loss = [&] {
      std::vector<float> out(M * N);
      linear_forward(ctx, out.data(), x.data(), w, nullptr, M);
      return weighted_sum(out, lw);
    };
    std::vector<float> dx(M * K, 1e9f);  // overwritten when not accumulating
    linear_backward_input(ctx, dx.data(), lw.data(), w, M, false);
    expect_matches_differences(x, dx, loss, matmul_backend_description(ctx));
    std::vector<float> acc(M * K, 2.0f);
    linear_backward_input(ctx, acc.data(), lw.data(), w, M, true);
    for (int64_t i = 0; i < M * K; ++i) EXPECT_NEAR(acc[i], dx[i] + 2.0f, 1e-5) << "accumulate";
  }
}

// oneDNN against the reference (double sums): f32 weights within fp32 rounding of sums of N = 300
// O(1) products (2e-5 relative to the largest value); bf16 weights: both round dout to bf16 and
// accumulate exactly-representable products, so only the summation order differs (same bound).
TEST(OpsBackward, LinearBackwardInputOnednnMatchesReference) {
  const int64_t M = 37, N = 300, K = 65;
  auto Wf = random_vector(N * K, 71), dout = random_vector(M * N, 72);
  std::vector<uint16_t> Wb(Wf.size());
  for (size_t i = 0; i < Wf.size(); ++i) Wb[i] = float_to_bf16(Wf[i]);
  matmul_context ref(matmul_backend_reference), dnn(matmul_backend_onednn);
  for (auto w : {weight_matrix{weight_dtype_f32, Wf.data(), N, K},
                 weight_matrix{weight_dtype_bf16, Wb.data(), N, K}}) {
    for (bool accumulate : {false, true}) {
      std::vector<float> a(M * K, 0.5f), b(M * K, 0.5f);
      linear_backward_input(ref, a.data(), dout.data(), w, M, accumulate);
      linear_backward_input(dnn, b.data(), dout.data(), w, M, accumulate);
      double scale = 0, worst = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::fabs(double(a[i])));
        worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
      }
      EXPECT_LE(worst, 2e-5 * scale) << (w.dtype == weight_dtype_bf16 ? "bf16" : "f32") << " accumulate "
                                     << accumulate;
    }
  }
  // bf16 really rounds dout: the result differs from the f32-weight one by bf16's resolution.
  std::vector<float> f(M * K), g(M * K);
  weight_matrix wb{weight_dtype_bf16, Wb.data(), N, K}, wf{weight_dtype_f32, Wf.data(), N, K};
  linear_backward_input(ref, f.data(), dout.data(), wf, M, false);
  linear_backward_input(ref, g.data(), dout.data(), wb, M, false);
  double diff = 0;
  for (size_t i = 0; i < f.size(); ++i) diff = std::max(diff, std::fabs(double(f[i]) - g[i]));
  EXPECT_GT(diff, 1e-3);
}

TEST(OpsBackward, MatmulF32OnednnMatchesReference) {
  const int64_t M = 19, N = 8, K = 33;
  auto A = random_vector(M * K, 81), B = random_vector(K * N, 82), C0 = random_vector(M * N, 83);
  matmul_context ref(matmul_backend_reference), dnn(matmul_backend_onednn);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f, -0.5f}) {
        // A transposed holds the same numbers laid out [K, M]; likewise B as [N, K].
        std::vector<float> a(A.size()), b(B.size());
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k = 0; k < K; ++k) (ta ? a[k * M + m] : a[m * K + k]) = A[m * K + k];
        for (int64_t k = 0; k < K; ++k)
          for (int64_t n = 0; n < N; ++n) (tb ? b[n * K + k] : b[k * N + n]) = B[k * N + n];
        std::vector<float> want(M * N), c1 = C0, c2 = C0;
        if (beta == 0.0f) c2.assign(M * N, NAN);  // beta 0 never reads C
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += double(A[m * K + k]) * B[k * N + n];
            want[m * N + n] = static_cast<float>(1.5 * s + beta * double(C0[m * N + n]));
          }
        matmul_f32(ref, c1.data(), a.data(), b.data(), M, N, K, ta, tb, 1.5f, beta);
        matmul_f32(dnn, c2.data(), a.data(), b.data(), M, N, K, ta, tb, 1.5f, beta);
        // Sums of 33 O(1) products: the reference is double-accumulated (1e-6 = a few fp32 ulps of
        // values ~10); oneDNN accumulates in fp32 (1e-5).
        for (int64_t i = 0; i < M * N; ++i) {
          EXPECT_NEAR(c1[i], want[i], 1e-6 * std::max(1.0f, std::fabs(want[i]))) << ta << tb << beta;
          EXPECT_NEAR(c2[i], want[i], 1e-5 * std::max(1.0f, std::fabs(want[i]))) << ta << tb << beta;
        }
      }
}

}  // namespace
}  // namespace smelt
