// LoRA (engine/lora.h) as PEFT defines it: the forward and all three gradients against PyTorch
// autograd on the same inputs and the same dropout mask (skipped when test::torch_python() has no
// torch), against finite differences, the Kaiming-uniform bound against torch's own init, and the
// dropout mask's rate and reproducibility.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/lora.h"
#include "engine/random_tensors.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using test::random_vector;
using test::weighted_sum;

template <class T>
void write_raw(const std::filesystem::path& p, const std::vector<T>& v) {
  test::write_file(p, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

std::vector<float> read_floats(const std::filesystem::path& p) {
  std::string s = test::read_file(p);
  std::vector<float> v(s.size() / sizeof(float));
  std::memcpy(v.data(), s.data(), v.size() * sizeof(float));
  return v;
}

// A LoRA of rank R on a linear IN -> OUT, B random (a trained B: zero would hide dx and dA).
lora_weights make_lora(int64_t rank, int64_t in, int64_t out, float scale, uint64_t seed) {
  std::mt19937_64 rng(seed);
  lora_weights w = lora_create(rank, in, out, scale, rng);
  w.B = random_vector(w.B.size(), static_cast<uint32_t>(seed) + 1, 0.5f);
  return w;
}

TEST(Lora, CreateIsKaimingUniformAndZeroB) {
  const int64_t rank = 8, in = 4000, out = 12;
  std::mt19937_64 rng(7), rng2(7), rng3(8);
  lora_weights w = lora_create(rank, in, out, 2.0f, rng);
  EXPECT_EQ(w.A.size(), size_t(rank * in));
  EXPECT_EQ(w.B.size(), size_t(out * rank));
  for (float b : w.B) EXPECT_EQ(b, 0.0f);
  const double bound = 1.0 / std::sqrt(double(in));
  double mx = 0, sum = 0, sq = 0;
  for (float a : w.A) {
    mx = std::max(mx, std::fabs(double(a)));
    sum += a;
    sq += double(a) * a;
  }
  const double n = double(w.A.size());
  EXPECT_LE(mx, bound);
  EXPECT_GE(mx, 0.999 * bound);  // 32000 draws: the largest |a| is within bound/16000 of the bound
  // U(-b, b): mean 0 and variance b²/3; 5 standard errors of each estimate.
  EXPECT_NEAR(sum / n, 0.0, 5 * bound / std::sqrt(3 * n));
  EXPECT_NEAR(sq / n, bound * bound / 3, 5 * bound * bound * std::sqrt(4.0 / 45 / n));
  EXPECT_EQ(lora_create(rank, in, out, 2.0f, rng2).A, w.A);  // the seed reproduces the adapter
  EXPECT_NE(lora_create(rank, in, out, 2.0f, rng3).A, w.A);
}

TEST(Lora, KaimingBoundMatchesTorchInit) {
  if (!test::torch_available()) GTEST_SKIP() << test::torch_python() << " has no torch";
  // torch.nn.init.kaiming_uniform_(a=sqrt(5)) is what PEFT applies to lora_A; its largest |value|
  // over many draws approaches the bound, which must be ours.
  const int64_t in = 896;
  auto r = test::run_shell(
      test::torch_python() + " -c 'import math,torch; t=torch.empty(64," + std::to_string(in) +
      "); torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)); print(repr(t.abs().max().item()))'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double torch_max = std::stod(r.out), bound = 1.0 / std::sqrt(double(in));
  EXPECT_LE(torch_max, bound * (1 + 1e-6));
  EXPECT_GE(torch_max, bound * 0.999);
}

TEST(Lora, DropoutMaskRateAndReproducibility) {
  matmul_context ctx(matmul_backend_onednn);
  const int64_t M = 64, in = 1000, out = 4;
  lora_weights w = make_lora(2, in, out, 1.0f, 3);
  auto x = random_vector(M * in, 4);
  std::vector<float> y(M * out, 0.0f);
  std::mt19937_64 rng(99);
  lora_saved saved;
  lora_forward(ctx, y.data(), x.data(), w, M, 0.25f, rng, saved);
  ASSERT_EQ(saved.keep.size(), size_t(M * in));
  EXPECT_FLOAT_EQ(saved.keep_scale, 1.0f / 0.75f);
  double kept = 0;
  for (uint8_t k : saved.keep) kept += k;
  const double n = double(M * in);
  EXPECT_NEAR(kept / n, 0.75, 5 * std::sqrt(0.25 * 0.75 / n));  // 5 standard errors
  // Same seed, one thread or all: the same mask. A later draw: a different one.
  lora_saved one_thread, again;
  std::mt19937_64 rng2(99);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  lora_forward(ctx, y.data(), x.data(), w, M, 0.25f, rng2, one_thread);
  omp_set_num_threads(threads);
  EXPECT_EQ(one_thread.keep, saved.keep);
  lora_forward(ctx, y.data(), x.data(), w, M, 0.25f, rng2, again);
  EXPECT_NE(again.keep, saved.keep);
  // No dropout: no mask.
  lora_forward(ctx, y.data(), x.data(), w, M, 0.0f, rng2, again);
  EXPECT_TRUE(again.keep.empty());
}

// Central differences (step 1e-2) of L = Σ y·w in double: as in ops_backward_test, fp32 noise
// ~1e-4 and truncation 0 (the branch is bilinear in each parameter and linear in x), so 5e-4
// absolute + 1e-3 relative. The dropout mask is held fixed by re-seeding the RNG for every forward.
TEST(Lora, BackwardMatchesDifferences) {
  const int64_t M = 5, in = 6, out = 7;
  for (auto backend : {matmul_backend_reference, matmul_backend_onednn}) {
    matmul_context ctx(backend);
    for (int64_t rank : {1, 8}) {
      for (float dropout : {0.0f, 0.3f}) {
        lora_weights w = make_lora(rank, in, out, 16.0f / rank, 10 + rank);
        auto x = random_vector(M * in, 11), lw = random_vector(M * out, 12), y0 = random_vector(M * out, 13);
        auto loss = [&] {
          std::vector<float> y = y0;
          std::mt19937_64 rng(5);
          lora_saved saved;
          lora_forward(ctx, y.data(), x.data(), w, M, dropout, rng, saved);
          return weighted_sum(y, lw);
        };
        std::vector<float> y = y0;
        std::mt19937_64 rng(5);
        lora_saved saved;
        lora_forward(ctx, y.data(), x.data(), w, M, dropout, rng, saved);
        std::vector<float> dx(M * in, 0.0f), dA(w.A.size(), 0.0f), dB(w.B.size(), 0.0f);
        lora_backward(ctx, dx.data(), dA.data(), dB.data(), lw.data(), x.data(), w, saved, M);
        const std::string name = std::string(matmul_backend_description(ctx)) + " rank " +
                                 std::to_string(rank) + " dropout " + std::to_string(dropout);
        auto check = [&](std::vector<float>& param, const std::vector<float>& grad, const char* what) {
          for (size_t i = 0; i < param.size(); ++i) {
            const float keep = param[i];
            const float up = keep + 0.01f, down = keep - 0.01f;
            param[i] = up;
            const double lp = loss();
            param[i] = down;
            const double lm = loss();
            param[i] = keep;
            const double fd = (lp - lm) / (double(up) - double(down));
            EXPECT_LE(std::fabs(fd - grad[i]), 5e-4 + 1e-3 * std::fabs(grad[i]))
                << name << " " << what << "[" << i << "]: analytic " << grad[i] << ", differences " << fd;
          }
        };
        check(x, dx, "dx");
        check(w.A, dA, "dA");
        check(w.B, dB, "dB");
      }
    }
  }
}

// The forward and all gradients against PyTorch autograd of PEFT's Linear.forward:
// result + lora_B(lora_A(dropout(x))) * scaling, with nn.Dropout's training-mode output
// x · mask / (1 - p) for our mask. Both sides fp32 on O(1) numbers with sums of at most 48 terms:
// 1e-5 relative to each tensor's largest value is ~100 ulps, while a misplaced scale, a mask
// applied to the wrong side or a transposed factor changes values by O(1).
TEST(Lora, MatchesTorchAutograd) {
  if (!test::torch_available()) GTEST_SKIP() << test::torch_python() << " has no torch";
  const int64_t M = 9, in = 48, out = 20;
  const char* script = R"PY(
import sys, numpy as np, torch
d = sys.argv[1]; M, I, O, R = map(int, sys.argv[2:6]); scale = float(sys.argv[6]); p = float(sys.argv[7])
ld = lambda n, shape: torch.from_numpy(np.fromfile(d + "/" + n, dtype=np.float32).reshape(shape).copy())
lora_A = torch.nn.Linear(I, R, bias=False); lora_B = torch.nn.Linear(R, O, bias=False)
with torch.no_grad():
    lora_A.weight.copy_(ld("A", (R, I))); lora_B.weight.copy_(ld("B", (O, R)))
x = ld("x", (M, I)).requires_grad_()
keep = torch.from_numpy(np.fromfile(d + "/keep", dtype=np.uint8).reshape(M, I).astype(np.float32))
dropped = x * keep / (1 - p) if p > 0 else x
y = ld("y0", (M, O)) + lora_B(lora_A(dropped)) * scale
y.backward(ld("dy", (M, O)))
for name, t in [("y", y), ("dx", x.grad), ("dA", lora_A.weight.grad), ("dB", lora_B.weight.grad)]:
    t.detach().numpy().astype(np.float32).tofile(d + "/torch_" + name)
)PY";
  test::temp_dir dir;
  test::write_file(dir / "lora.py", script);
  matmul_context ref(matmul_backend_reference), dnn(matmul_backend_onednn);
  for (int64_t rank : {1, 8}) {
    for (float dropout : {0.0f, 0.25f}) {
      const float scale = 32.0f / rank;  // PEFT: lora_alpha / r
      lora_weights w = make_lora(rank, in, out, scale, 20 + rank);
      auto x = random_vector(M * in, 21), dy = random_vector(M * out, 22), y0 = random_vector(M * out, 23);
      struct result {
        std::string name;
        std::vector<float> y, dx, dA, dB;
        std::vector<uint8_t> keep;
      };
      std::vector<result> results;
      for (matmul_context* ctx : {&ref, &dnn}) {
        result res{std::string(matmul_backend_description(*ctx)) + " rank " + std::to_string(rank) +
                       " dropout " + std::to_string(dropout),
                   y0,
                   std::vector<float>(M * in, 0.0f),
                   std::vector<float>(w.A.size(), 0.0f),
                   std::vector<float>(w.B.size(), 0.0f),
                   {}};
        std::mt19937_64 rng(6);
        lora_saved saved;
        lora_forward(*ctx, res.y.data(), x.data(), w, M, dropout, rng, saved);
        lora_backward(*ctx, res.dx.data(), res.dA.data(), res.dB.data(), dy.data(), x.data(), w, saved, M);
        res.keep = saved.keep;
        results.push_back(std::move(res));
      }
      ASSERT_EQ(results[0].keep, results[1].keep);  // the mask depends on the seed only
      std::vector<uint8_t> keep = results[0].keep;
      if (keep.empty()) keep.assign(M * in, 1);
      write_raw(dir / "x", x);
      write_raw(dir / "A", w.A);
      write_raw(dir / "B", w.B);
      write_raw(dir / "keep", keep);
      write_raw(dir / "dy", dy);
      write_raw(dir / "y0", y0);
      auto r = test::run_shell(test::torch_python() + " " + test::shell_quote(dir / "lora.py") + " " +
                               test::shell_quote(dir.path()) + " " + std::to_string(M) + " " +
                               std::to_string(in) + " " + std::to_string(out) + " " + std::to_string(rank) +
                               " " + std::to_string(scale) + " " + std::to_string(dropout));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      for (const auto& res : results) {
        auto compare = [&](const std::vector<float>& got, const char* file) {
          auto want = read_floats(dir / file);
          ASSERT_EQ(got.size(), want.size()) << file;
          double scale_max = 0, worst = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            scale_max = std::max(scale_max, std::fabs(double(want[i])));
            worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
          }
          EXPECT_GT(scale_max, 1e-3) << res.name << " " << file;
          EXPECT_LE(worst, 1e-5 * scale_max) << res.name << " " << file;
        };
        compare(res.y, "torch_y");
        compare(res.dx, "torch_dx");
        compare(res.dA, "torch_dA");
        compare(res.dB, "torch_dB");
      }
    }
  }
}

}  // namespace
}  // namespace smelt
