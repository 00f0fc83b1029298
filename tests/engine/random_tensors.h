// Random inputs for op tests and the weighted-sum loss that finite-difference checks use.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace smelt::test {

// N normal(0, scale) values from a seeded generator.
inline std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// L = sum(out * w) in double: a scalar loss whose gradient with respect to out is w.
inline double weighted_sum(const std::vector<float>& out, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += double(out[i]) * double(w[i]);
  return s;
}

}  // namespace smelt::test
