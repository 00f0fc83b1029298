// Forward ops against naive double-precision versions written straight from the formulas, on
// random inputs; plus the oneDNN linear against the reference linear for odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "engine/attention_onednn.h"
#include "engine/bf16.h"
#include "engine/matmul.h"
#include "engine/ops.h"
#include "engine/random_tensors.h"

namespace smelt {
namespace {

using test::random_vector;

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

// fp32 ops on O(1) values: 1e-5 absolute leaves room for fp32 rounding over sums of ~100 terms.
constexpr double k_fp32_tolerance = 1e-5;

TEST(Ops, RmsnormMatchesFormula) {
  const int64_t N = 5, C = 96;
  auto x = random_vector(N * C, 1), w = random_vector(C, 2);
  std::vector<float> out(N * C), rstd(N);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
  std::vector<double> expect(N * C);
  for (int64_t n = 0; n < N; ++n) {
    double ss = 0;
    for (int64_t i = 0; i < C; ++i) ss += double(x[n * C + i]) * x[n * C + i];
    double r = 1.0 / std::sqrt(ss / C + 1e-6);
    EXPECT_NEAR(rstd[n], r, 1e-5 * r);
    for (int64_t i = 0; i < C; ++i) expect[n * C + i] = x[n * C + i] * r * w[i];
  }
  EXPECT_LT(max_abs_diff(out, expect), k_fp32_tolerance);
}

TEST(Ops, RopeRotatesHalvesAndIsIdentityAtZero) {
  const int64_t T = 3, H = 2, D = 8;
  auto x = random_vector(T * H * D, 3);
  std::vector<float> inv(D / 2);
  rope_inv_freq(inv.data(), D, 10000.0, {});
  for (int64_t i = 0; i < D / 2; ++i) EXPECT_NEAR(inv[i], std::pow(10000.0, -2.0 * i / D), 1e-7);
  std::vector<int64_t> pos = {0, 1, 17};
  std::vector<float> y = x;
  rope_forward(y.data(), pos.data(), inv.data(), T, H, D);
  std::vector<double> expect(T * H * D);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < D / 2; ++i) {
        const float* v = x.data() + (t * H + h) * D;
        double a = pos[t] * double(inv[i]);
        expect[(t * H + h) * D + i] = v[i] * std::cos(a) - v[i + D / 2] * std::sin(a);
        expect[(t * H + h) * D + i + D / 2] = v[i + D / 2] * std::cos(a) + v[i] * std::sin(a);
      }
  EXPECT_LT(max_abs_diff(y, expect), k_fp32_tolerance);
  for (int64_t i = 0; i < H * D; ++i) EXPECT_EQ(y[i], x[i]);  // position 0
}

// Llama 3.1's published scaling (factor 8, low 1, high 4, original 8192, theta 500000): the
// highest frequencies are kept, the lowest divided by 8.
TEST(Ops, RopeLlama3Scaling) {
  const int64_t D = 128;
  std::vector<float> plain(D / 2), scaled(D / 2);
  rope_inv_freq(plain.data(), D, 500000.0, {});
  rope_inv_freq(scaled.data(), D, 500000.0, {8.0, 1.0, 4.0, 8192.0});
  EXPECT_EQ(scaled[0], plain[0]);
  EXPECT_NEAR(scaled[D / 2 - 1], plain[D / 2 - 1] / 8, 1e-12);
  int blended = 0;
  for (int64_t i = 0; i < D / 2; ++i) {
    double wavelen = 2 * M_PI / plain[i];
    if (wavelen >= 8192.0 / 4 && wavelen <= 8192.0) {
      ++blended;
      EXPECT_LT(scaled[i], plain[i]);
      EXPECT_GT(scaled[i], plain[i] / 8);
    }
  }
  EXPECT_GT(blended, 0);
}

void naive_attention(std::vector<double>& out, const std::vector<float>& q, const std::vector<float>& k,
                     const std::vector<float>& v, int64_t T, int64_t P, int64_t Q, int64_t KV, int64_t D,
                     int64_t window) {
  out.assign(T * Q * D, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < Q; ++h) {
      int64_t kvh = h / (Q / KV), pos = P + t;
      std::vector<double> w(pos + 1, 0.0);
      double mx = -1e300, sum = 0;
      for (int64_t s = 0; s <= pos; ++s) {
        if (window > 0 && pos - s >= window) continue;
        double d = 0;
        for (int64_t i = 0; i < D; ++i) d += double(q[(t * Q + h) * D + i]) * k[(s * KV + kvh) * D + i];
        w[s] = d / std::sqrt(double(D));
        mx = std::max(mx, w[s]);
      }
      for (int64_t s = 0; s <= pos; ++s) {
        if (window > 0 && pos - s >= window) continue;
        w[s] = std::exp(w[s] - mx);
        sum += w[s];
      }
      for (int64_t s = 0; s <= pos; ++s) {
        if (window > 0 && pos - s >= window) continue;
        for (int64_t i = 0; i < D; ++i) out[t * Q * D + h * D + i] += w[s] / sum * v[(s * KV + kvh) * D + i];
      }
    }
}

TEST(Ops, AttentionCausalGqaWithPastAndWindow) {
  const int64_t T = 6, P = 5, Q = 4, KV = 2, D = 16;
  auto q = random_vector(T * Q * D, 4), k = random_vector((P + T) * KV * D, 5),
       v = random_vector((P + T) * KV * D, 6);
  for (int64_t window : {0, 3, 100}) {
    std::vector<float> out(T * Q * D);
    attention_forward(out.data(), q.data(), k.data(), v.data(), T, P, Q, KV, D, window);
    std::vector<double> expect;
    naive_attention(expect, q, k, v, T, P, Q, KV, D, window);
    EXPECT_LT(max_abs_diff(out, expect), k_fp32_tolerance) << "window " << window;
  }
  // A window of 1 makes every query read only its own value.
  std::vector<float> out(T * Q * D);
  attention_forward(out.data(), q.data(), k.data(), v.data(), T, P, Q, KV, D, 1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < D; ++i)
      EXPECT_FLOAT_EQ(out[t * Q * D + 3 * D + i], v[((P + t) * KV + 1) * D + i]);
}

TEST(Ops, SwigluAndResidual) {
  auto g = random_vector(100, 7, 3.0f), u = random_vector(100, 8);
  std::vector<float> out(100);
  swiglu_forward(out.data(), g.data(), u.data(), 100);
  std::vector<double> expect(100);
  for (int i = 0; i < 100; ++i) expect[i] = g[i] / (1 + std::exp(-double(g[i]))) * u[i];
  EXPECT_LT(max_abs_diff(out, expect), k_fp32_tolerance);
  std::vector<float> x = u;
  residual_forward(x.data(), g.data(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(x[i], u[i] + g[i]);
}

TEST(Ops, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256)), 1.0f);       // tie -> even (down)
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3.0f / 256)), 1.015625f);  // tie -> even (up)
  std::vector<float> row = {0.1f, -2.5f, 3.14159f};
  std::vector<uint16_t> b(3);
  float_row_to_bf16(b.data(), row.data(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b[i], float_to_bf16(row[i]));
  EXPECT_EQ(f16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_float(0xc000), -2.0f);
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));
}

// oneDNN against the reference linear, odd sizes, with and without bias, both dtypes.
TEST(Ops, OnednnLinearMatchesReference) {
  matmul_context fast(matmul_backend_onednn), ref(matmul_backend_reference);
  for (int64_t M : {1, 7, 33}) {
    const int64_t N = 45, K = 70;
    auto x = random_vector(M * K, 9), wf = random_vector(N * K, 10, 0.1f), bias = random_vector(N, 11);
    std::vector<uint16_t> wb(N * K);
    float_row_to_bf16(wb.data(), wf.data(), wb.size());
    for (weight_dtype dt : {weight_dtype_f32, weight_dtype_bf16}) {
      weight_matrix w{dt, dt == weight_dtype_f32 ? static_cast<const void*>(wf.data()) : wb.data(), N, K};
      for (const float* b : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
        std::vector<float> a(M * N), r(M * N);
        linear_forward(fast, a.data(), x.data(), w, b, M);
        linear_forward(ref, r.data(), x.data(), w, b, M);
        std::vector<double> rd(r.begin(), r.end());
        // Sums of 70 products of O(0.1): fp32 order differences stay below 1e-5; bf16 inputs are
        // rounded identically by both before multiplying.
        EXPECT_LT(max_abs_diff(a, rd), 1e-5) << "M " << M << " dtype " << dt;
      }
    }
  }
  EXPECT_NE(std::string(matmul_backend_description(fast)).find("onednn"), std::string::npos);
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

// The oneDNN prefill attention against the plain loop: past keys, a query count crossing the
// 128-row block, GQA groups and sliding windows. Both are fp32 with different summation orders.
TEST(Ops, OnednnAttentionMatchesPlainLoop) {
  matmul_context ctx(matmul_backend_onednn);
  const int64_t Q = 6, KV = 2, D = 32;
  for (auto [T, P, window] :
       {std::tuple<int64_t, int64_t, int64_t>{200, 0, 0}, {9, 40, 0}, {150, 30, 50}, {20, 5, 1}}) {
    auto q = random_vector(T * Q * D, 12), k = random_vector((P + T) * KV * D, 13),
         v = random_vector((P + T) * KV * D, 14);
    std::vector<float> plain(T * Q * D), fast(T * Q * D);
    attention_forward(plain.data(), q.data(), k.data(), v.data(), T, P, Q, KV, D, window);
    attention_forward_onednn(ctx, fast.data(), q.data(), k.data(), v.data(), T, P, Q, KV, D, window);
    std::vector<double> expect(plain.begin(), plain.end());
    EXPECT_LT(max_abs_diff(fast, expect), k_fp32_tolerance)
        << "T " << T << " P " << P << " window " << window;
  }
}

}  // namespace
}  // namespace smelt
