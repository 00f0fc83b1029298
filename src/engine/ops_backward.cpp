// CPU backward passes of ops.h (declared in ops_backward.h): the plain specification that the
// oneDNN attention backward and the trainer are tested against, parallel over rows with OpenMP and
// vectorisable inner loops. Matmul gradients (linear, LoRA) live in matmul.cpp and lora.cpp.
#include "engine/ops_backward.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/simd.h"
#include "engine/vec_exp.h"

namespace smelt {

namespace {

// out = x * r * w with r = (mean(x²) + eps)^-1/2:
// dx_i = r w_i dout_i - r³/C · x_i · Σ_j dout_j w_j x_j.
SMELT_KERNEL void rmsnorm_backward_row_body(float* dx, const float* dout, const float* x, const float* w,
                                            float r, int64_t C) {
  float s = 0;
  for (int64_t i = 0; i < C; ++i) s += dout[i] * w[i] * x[i];
  const float c = r * r * r * s / static_cast<float>(C);
  for (int64_t i = 0; i < C; ++i) dx[i] += r * w[i] * dout[i] - c * x[i];
}
SMELT_DISPATCH(void, rmsnorm_backward_row,
               (float* dx, const float* dout, const float* x, const float* w, float r, int64_t C),
               (dx, dout, x, w, r, C))

}  // namespace

void rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N > 4)
  for (int64_t n = 0; n < N; ++n)
    rmsnorm_backward_row(dinp + n * C, dout + n * C, inp + n * C, weight, rstd[n], C);
}

void rope_backward(float* dx, const int64_t* positions, const float* inv_freq, int64_t T, int64_t H,
                   int64_t D) {
  const int64_t half = D / 2;
#pragma omp parallel if (T > 4)
  {
    std::vector<float> cosv(half), sinv(half);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        float angle = static_cast<float>(positions[t]) * inv_freq[i];  // as rope_forward forms it
        cosv[i] = std::cos(angle);
        sinv[i] = std::sin(angle);
      }
      for (int64_t h = 0; h < H; ++h) {
        float* v = dx + (t * H + h) * D;
        // The transpose of [[cos, -sin], [sin, cos]].
        for (int64_t i = 0; i < half; ++i) {
          float a = v[i], b = v[i + half];
          v[i] = a * cosv[i] + b * sinv[i];
          v[i + half] = b * cosv[i] - a * sinv[i];
        }
      }
    }
  }
}

// Two passes, no T×T buffer. Pass 1 (parallel over query rows): the row's softmax P, dP_s = dO·v_s,
// delta = Σ_s P_s dP_s (= dO·O), dq = scale Σ_s P_s (dP_s - delta) k_s; keeps the row's log-sum-exp
// and delta. Pass 2 (parallel over keys, so dk/dv rows have one writer): P and dS recomputed from
// them, dk_s += scale Σ dS q, dv_s += Σ P dO over the queries (and group heads) that see key s.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, int64_t T, int64_t Q, int64_t KV, int64_t D, int64_t window) {
  const int64_t group = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float> lse(static_cast<size_t>(T * Q)), delta(static_cast<size_t>(T * Q));
#pragma omp parallel
  {
    std::vector<float> p(static_cast<size_t>(T)), dp(static_cast<size_t>(T));
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < Q; ++h) {
        const int64_t kvh = h / group, first = window > 0 ? std::max<int64_t>(0, t - window + 1) : 0;
        const float* qv = q + (t * Q + h) * D;
        const float* go = dout + (t * Q + h) * D;
        float mx = -INFINITY;
        for (int64_t s = first; s <= t; ++s) {
          p[s] = vec_dot(qv, k + (s * KV + kvh) * D, D) * scale;
          mx = std::max(mx, p[s]);
        }
        float sum = 0;
        for (int64_t s = first; s <= t; ++s) {
          p[s] = std::exp(p[s] - mx);
          sum += p[s];
        }
        const float inv = 1.0f / sum;
        float dl = 0;
        for (int64_t s = first; s <= t; ++s) {
          p[s] *= inv;
          dp[s] = vec_dot(go, v + (s * KV + kvh) * D, D);
          dl += p[s] * dp[s];
        }
        float* g = dq + (t * Q + h) * D;
        for (int64_t s = first; s <= t; ++s)
          vec_axpy(g, scale * p[s] * (dp[s] - dl), k + (s * KV + kvh) * D, D);
        lse[t * Q + h] = mx + std::log(sum);
        delta[t * Q + h] = dl;
      }
    }
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t s = 0; s < T; ++s) {
      for (int64_t kvh = 0; kvh < KV; ++kvh) {
        const float* kv = k + (s * KV + kvh) * D;
        const float* vv = v + (s * KV + kvh) * D;
        float* gk = dk + (s * KV + kvh) * D;
        float* gv = dv + (s * KV + kvh) * D;
        const int64_t last = window > 0 ? std::min(T - 1, s + window - 1) : T - 1;
        for (int64_t t = s; t <= last; ++t) {
          for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
            const float* qv = q + (t * Q + h) * D;
            const float* go = dout + (t * Q + h) * D;
            const float pr = std::exp(vec_dot(qv, kv, D) * scale - lse[t * Q + h]);
            const float ds = pr * (vec_dot(go, vv, D) - delta[t * Q + h]);
            vec_axpy(gk, scale * ds, qv, D);
            vec_axpy(gv, pr, go, D);
          }
        }
      }
    }
  }
}

namespace {

// silu(g) = g σ(g); silu'(g) = σ(g) (1 + g (1 - σ(g))).
SMELT_KERNEL void swiglu_backward_block_body(float* dgate, float* dup, const float* dout, const float* gate,
                                             const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], sig = 1.0f / (1.0f + vec_exp(-g));
    dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
    dup[i] += dout[i] * g * sig;
  }
}
SMELT_DISPATCH(void, swiglu_backward_block,
               (float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n),
               (dgate, dup, dout, gate, up, n))

}  // namespace

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < n; b += k_elementwise_block) {
    const int64_t m = std::min(k_elementwise_block, n - b);
    swiglu_backward_block(dgate + b, dup + b, dout + b, gate + b, up + b, m);
  }
}

}  // namespace smelt
