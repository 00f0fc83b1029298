// Learning-rate schedules against Hugging Face's formulas run in Python at test time, with the lr
// each optimizer step actually uses taken from torch.optim.lr_scheduler.LambdaLR (the convention
// HF's Trainer relies on: step k's update uses base · lambda(k)). Skipped when PyTorch is missing.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "support/test_support.h"
#include "train/schedule.h"

namespace smelt {
namespace {

using test::run_shell;
using test::shell_quote;
using test::temp_dir;

using test::torch_available;
using test::torch_python;

// transformers/optimization.py's lr lambdas, transcribed; LambdaLR drives a real optimizer.
constexpr const char* k_reference = R"(
import json, math, sys, torch
def warm(step, w):
    return float(step) / float(max(1, w))
def constant(step, w, t):
    return warm(step, w) if step < w else 1.0
def linear(step, w, t):
    if step < w: return warm(step, w)
    return max(0.0, float(t - step) / float(max(1, t - w)))
def cosine(step, w, t, num_cycles=0.5):
    if step < w: return warm(step, w)
    progress = float(step - w) / float(max(1, t - w))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
out = []
for case in json.load(sys.stdin):
    fn = {"constant": constant, "linear": linear, "cosine": cosine}[case["schedule"]]
    w, t, base = case["warmup"], case["total"], case["base"]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: fn(s, w, t))
    lrs = []
    for k in range(case["steps"]):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out.append(lrs)
print(json.dumps(out))
)";

TEST(schedule, matches_hf_schedules_through_lambda_lr) {
  if (!torch_available()) GTEST_SKIP() << "no PyTorch (" << torch_python() << ")";
  struct one_case {
    lr_schedule schedule;
    int64_t warmup, total, steps;
    double base;
  };
  std::vector<one_case> cases;
  for (lr_schedule s : {lr_schedule_constant, lr_schedule_linear, lr_schedule_cosine}) {
    cases.push_back({s, 10, 100, 100, 1e-4});
    cases.push_back({s, 0, 37, 37, 2e-4});   // no warmup: the first step already uses the full lr
    cases.push_back({s, 20, 20, 20, 1e-3});  // total == warmup: warmup to the end
    cases.push_back({s, 3, 10, 16, 5e-5});   // steps past the total (resumed runs may overshoot)
    cases.push_back({s, 1, 2, 2, 1.0});
  }
  nlohmann::json in = nlohmann::json::array();
  for (const auto& c : cases)
    in.push_back({{"schedule", lr_schedule_name(c.schedule)},
                  {"warmup", c.warmup},
                  {"total", c.total},
                  {"steps", c.steps},
                  {"base", c.base}});
  temp_dir dir;
  test::write_file(dir / "ref.py", k_reference);
  test::write_file(dir / "cases.json", in.dump());
  auto r =
      run_shell(torch_python() + " " + shell_quote(dir / "ref.py") + " < " + shell_quote(dir / "cases.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto want = nlohmann::json::parse(r.out);
  ASSERT_EQ(want.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    ASSERT_EQ(want[i].size(), static_cast<size_t>(c.steps));
    for (int64_t k = 0; k < c.steps; ++k) {
      double got = lr_at(k, c.schedule, c.base, c.warmup, c.total);
      double expected = want[i][k].get<double>();
      // Both sides evaluate the same double formula; only libm's cos may differ in the last ulp.
      EXPECT_NEAR(got, expected, 1e-12 * c.base)
          << lr_schedule_name(c.schedule) << " warmup " << c.warmup << " total " << c.total << " step " << k;
    }
  }
}

TEST(schedule, edge_cases_by_definition) {
  // Warmup starts from 0 and reaches the base lr exactly at step == warmup.
  EXPECT_EQ(lr_at(0, lr_schedule_cosine, 1e-4, 10, 100), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(10, lr_schedule_cosine, 1e-4, 10, 100), 1e-4);
  EXPECT_DOUBLE_EQ(lr_at(5, lr_schedule_linear, 1e-4, 10, 100), 0.5e-4);
  // No warmup: step 0 at the full rate.
  EXPECT_DOUBLE_EQ(lr_at(0, lr_schedule_linear, 3e-4, 0, 10), 3e-4);
  // Linear and cosine reach 0 at the total; linear stays 0 after it.
  EXPECT_NEAR(lr_at(100, lr_schedule_cosine, 1e-4, 10, 100), 0.0, 1e-20);
  EXPECT_EQ(lr_at(100, lr_schedule_linear, 1e-4, 10, 100), 0.0);
  EXPECT_EQ(lr_at(150, lr_schedule_linear, 1e-4, 10, 100), 0.0);
  // total == warmup: the lr after warmup is the first decayed value, max(1, 0) steps of decay.
  EXPECT_EQ(lr_at(20, lr_schedule_linear, 1e-3, 20, 20), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(20, lr_schedule_constant, 1e-3, 20, 20), 1e-3);
}

TEST(schedule, parse_names_the_bad_value) {
  EXPECT_EQ(*lr_schedule_parse("cosine"), lr_schedule_cosine);
  auto bad = lr_schedule_parse("cosin");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "unknown learning-rate schedule \"cosin\" (expected constant, linear or cosine)");
}

}  // namespace
}  // namespace smelt
