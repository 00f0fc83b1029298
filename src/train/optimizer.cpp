// AdamW and gradient clipping on fp32 buffers, following torch.optim.AdamW's single-tensor path
// operation by operation (so results agree to float rounding), and the state file. Scalars
// (bias corrections, step sizes) are computed in double, as torch does in Python floats.
#include "train/optimizer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <string>

#include "model/safetensors.h"

namespace smelt {

namespace fs = std::filesystem;

adamw::adamw(std::vector<adamw_group> groups, adamw_options options)
    : groups_(std::move(groups)), options_(options) {
  for (const adamw_group& g : groups_) {
    m_.emplace_back(g.n, 0.0f);
    v_.emplace_back(g.n, 0.0f);
  }
}

void adamw::step(double lr) {
  ++step_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bias1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(b2, static_cast<double>(step_));
  const float decay = static_cast<float>(1.0 - lr * options_.weight_decay);
  const float step_size = static_cast<float>(lr / bias1);
  const float bias2_sqrt = static_cast<float>(std::sqrt(bias2));
  const float eps = static_cast<float>(options_.eps);
  const float one_minus_b1 = static_cast<float>(1.0 - b1), one_minus_b2 = static_cast<float>(1.0 - b2);
  const float fb2 = static_cast<float>(b2);
  const bool decays = options_.weight_decay != 0.0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    float* p = groups_[gi].param;
    const float* g = groups_[gi].grad;
    float* m = m_[gi].data();
    float* v = v_[gi].data();
    const int64_t n = static_cast<int64_t>(groups_[gi].n);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      if (decays) p[i] *= decay;
      m[i] += one_minus_b1 * (g[i] - m[i]);                    // exp_avg.lerp_(grad, 1 - beta1)
      v[i] = v[i] * fb2 + one_minus_b2 * (g[i] * g[i]);        // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
      const float denom = std::sqrt(v[i]) / bias2_sqrt + eps;  // (sqrt(v) / sqrt(bc2)).add_(eps)
      p[i] += -step_size * (m[i] / denom);                     // addcdiv_(m, denom, value=-lr/bc1)
    }
  }
}

double clip_grad_norm(const std::vector<adamw_group>& groups, double max_norm) {
  double sum = 0;
  for (const adamw_group& g : groups) {
    const int64_t n = static_cast<int64_t>(g.n);
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g.grad[i]) * g.grad[i];
    sum += s;
  }
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (const adamw_group& g : groups) {
      const int64_t n = static_cast<int64_t>(g.n);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) g.grad[i] *= c;
    }
  }
  return norm;
}

status adamw::save(const fs::path& path) const {
  std::vector<safetensors_write_tensor> tensors;
  for (size_t i = 0; i < groups_.size(); ++i) {
    const int64_t n = static_cast<int64_t>(groups_[i].n);
    tensors.push_back({fmt::format("adamw.m.{}", i),
                       tensor_dtype_f32,
                       {n},
                       safetensors_fill_bytes(m_[i].data(), m_[i].size() * 4)});
    tensors.push_back({fmt::format("adamw.v.{}", i),
                       tensor_dtype_f32,
                       {n},
                       safetensors_fill_bytes(v_[i].data(), v_[i].size() * 4)});
  }
  return safetensors_write(
      path, tensors,
      {{"adamw.step", std::to_string(step_)}, {"adamw.groups", std::to_string(groups_.size())}});
}

status adamw::load(const fs::path& path) {
  auto file = safetensors_file::open(path);
  if (!file) return file.err();
  const auto& meta = file->metadata();
  auto step_it = meta.find("adamw.step");
  int64_t step = -1;
  if (step_it != meta.end()) {
    try {
      size_t used = 0;
      step = std::stoll(step_it->second, &used);
      if (used != step_it->second.size()) step = -1;
    } catch (const std::exception&) {
      step = -1;
    }
  }
  if (step < 0)
    return make_error(fmt::format("{}: __metadata__ adamw.step: expected a step count, got {}", path.string(),
                                  step_it == meta.end() ? "nothing" : "\"" + step_it->second + "\""));
  size_t stored_groups = 0;
  while (file->find(fmt::format("adamw.m.{}", stored_groups))) ++stored_groups;
  if (stored_groups != groups_.size() || file->tensors().size() != 2 * groups_.size())
    return make_error(
        fmt::format("{}: holds {} tensors ({} parameter groups) but the optimizer has {} groups",
                    path.string(), file->tensors().size(), stored_groups, groups_.size()));
  std::vector<std::vector<float>> m(groups_.size()), v(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) {
    for (int w = 0; w < 2; ++w) {
      std::string name = fmt::format("adamw.{}.{}", w ? "v" : "m", i);
      const tensor_view* t = file->find(name);
      const int64_t n = static_cast<int64_t>(groups_[i].n);
      if (!t) return make_error(fmt::format("{}: tensor {} is missing", path.string(), name));
      if (t->dtype != tensor_dtype_f32 || t->shape != std::vector<int64_t>{n})
        return make_error(fmt::format("{}: tensor {}: {} {} but the optimizer expects F32 [{}]",
                                      path.string(), name, tensor_dtype_name(t->dtype),
                                      tensor_shape_string(t->shape), n));
      auto& dst = w ? v[i] : m[i];
      dst.resize(groups_[i].n);
      if (n) std::memcpy(dst.data(), t->data, t->size_bytes);
    }
  }
  m_ = std::move(m);
  v_ = std::move(v);
  step_ = step;
  return {};
}

}  // namespace smelt
