// CPU implementations of ops.h. Row loops run on OpenMP threads; the innermost loops are plain
// and compiled once per ISA (target_clones) so they vectorise on AVX-512 machines and still run
// on older ones. Accumulations that decide accuracy (norms, softmax) are fp32 with fp32 exp.
#include "engine/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/bf16.h"
#include "engine/simd.h"
#include "engine/vec_exp.h"

namespace smelt {

void embedding_forward(float* out, const weight_matrix& table, const int32_t* ids, int64_t T) {
  const int64_t C = table.cols;
  for (int64_t t = 0; t < T; ++t) {
    if (table.dtype == weight_dtype_bf16) {
      bf16_row_to_float(out + t * C, static_cast<const uint16_t*>(table.data) + int64_t(ids[t]) * C,
                        static_cast<size_t>(C));
    } else {
      std::memcpy(out + t * C, static_cast<const float*>(table.data) + int64_t(ids[t]) * C,
                  sizeof(float) * C);
    }
  }
}

namespace {

SMELT_KERNEL void rmsnorm_row_body(float* out, float* rstd, const float* x, const float* w, int64_t C,
                                   float eps) {
  float sum = 0;
  for (int64_t i = 0; i < C; ++i) sum += x[i] * x[i];
  float r = 1.0f / std::sqrt(sum / static_cast<float>(C) + eps);
  for (int64_t i = 0; i < C; ++i) out[i] = x[i] * r * w[i];
  if (rstd) *rstd = r;
}
SMELT_DISPATCH(void, rmsnorm_row,
               (float* out, float* rstd, const float* x, const float* w, int64_t C, float eps),
               (out, rstd, x, w, C, eps))

}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                     float eps) {
#pragma omp parallel for schedule(static) if (N > 4)
  for (int64_t n = 0; n < N; ++n)
    rmsnorm_row(out + n * C, rstd ? rstd + n : nullptr, inp + n * C, weight, C, eps);
}

void rope_forward(float* x, const int64_t* positions, const float* inv_freq, int64_t T, int64_t H,
                  int64_t D) {
  const int64_t half = D / 2;
#pragma omp parallel for schedule(static) if (T > 4)
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> cosv(half), sinv(half);
    for (int64_t i = 0; i < half; ++i) {
      // The angle is formed in fp32 as PyTorch forms it (position * inv_freq), then cos/sin of it.
      float angle = static_cast<float>(positions[t]) * inv_freq[i];
      cosv[i] = std::cos(angle);
      sinv[i] = std::sin(angle);
    }
    for (int64_t h = 0; h < H; ++h) {
      float* v = x + (t * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        float a = v[i], b = v[i + half];
        v[i] = a * cosv[i] - b * sinv[i];
        v[i + half] = b * cosv[i] + a * sinv[i];
      }
    }
  }
}

void attention_forward(float* out, const float* q, const float* k, const float* v, int64_t T, int64_t P,
                       int64_t Q, int64_t KV, int64_t D, int64_t window) {
  const int64_t group = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
#pragma omp parallel
  {
    std::vector<float> scores(static_cast<size_t>(P + T));
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < Q; ++h) {
        const int64_t pos = P + t, kvh = h / group;
        const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
        const float* qv = q + (t * Q + h) * D;
        float max_score = -INFINITY;
        for (int64_t s = first; s <= pos; ++s) {
          float sc = vec_dot(qv, k + (s * KV + kvh) * D, D) * scale;
          scores[s] = sc;
          max_score = std::max(max_score, sc);
        }
        float sum = 0;
        for (int64_t s = first; s <= pos; ++s) {
          scores[s] = std::exp(scores[s] - max_score);
          sum += scores[s];
        }
        float* o = out + t * Q * D + h * D;
        std::fill(o, o + D, 0.0f);
        const float inv = 1.0f / sum;
        for (int64_t s = first; s <= pos; ++s) vec_axpy(o, scores[s] * inv, v + (s * KV + kvh) * D, D);
      }
    }
  }
}

namespace {

SMELT_KERNEL void swiglu_block_body(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + vec_exp(-gate[i])) * up[i];
}
SMELT_DISPATCH(void, swiglu_block, (float* out, const float* gate, const float* up, int64_t n),
               (out, gate, up, n))

SMELT_KERNEL void residual_block_body(float* x, const float* delta, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += delta[i];
}
SMELT_DISPATCH(void, residual_block, (float* x, const float* delta, int64_t n), (x, delta, n))

}  // namespace

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < n; b += k_elementwise_block)
    swiglu_block(out + b, gate + b, up + b, std::min(k_elementwise_block, n - b));
}

void residual_forward(float* x, const float* delta, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < n; b += k_elementwise_block)
    residual_block(x + b, delta + b, std::min(k_elementwise_block, n - b));
}

void rope_inv_freq(float* inv_freq, int64_t D, double theta, const rope_llama3_scaling& scaling) {
  const double pi = 3.14159265358979323846;
  for (int64_t i = 0; i < D / 2; ++i) {
    // PyTorch: 1 / theta ** (arange(0, D, 2).float() / D), in fp32.
    float exponent = static_cast<float>(2 * i) / static_cast<float>(D);
    double f = 1.0 / std::pow(theta, static_cast<double>(exponent));
    if (scaling.factor > 0) {
      // Llama 3.1: long wavelengths are divided by factor, short ones kept, the band between blended.
      double low_wavelen = scaling.original_max_position_embeddings / scaling.low_freq_factor;
      double high_wavelen = scaling.original_max_position_embeddings / scaling.high_freq_factor;
      double wavelen = 2 * pi / f;
      if (wavelen > low_wavelen) {
        f = f / scaling.factor;
      } else if (wavelen >= high_wavelen) {
        double smooth = (scaling.original_max_position_embeddings / wavelen - scaling.low_freq_factor) /
                        (scaling.high_freq_factor - scaling.low_freq_factor);
        f = (1 - smooth) * f / scaling.factor + smooth * f;
      }
    }
    inv_freq[i] = static_cast<float>(f);
  }
}

}  // namespace smelt
