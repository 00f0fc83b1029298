// LoRA training against the PyTorch reference (tests/ref/lora_reference.py via hf_reference.py):
// the step loss and every LoRA gradient, a 10-step AdamW trajectory with clipping and a cosine
// schedule, and an adapter written by smelt evaluated by the reference. fp32 models, no dropout
// (dropout masks cannot match across implementations). Skipped when PyTorch is missing.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "engine/tiny_model.h"
#include "model/adapter.h"
#include "model/safetensors.h"
#include "train/lora_adapter.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace smelt {
namespace {

using test::make_tiny_model;
using test::run_shell;
using test::shell_quote;
using test::temp_dir;

using test::torch_available;

std::string reference() {
  return test::torch_python() + " " + shell_quote(test::source_path("tests/ref/hf_reference.py"));
}

struct sample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;
};

// Deterministic pseudo-conversations: ids from the vocabulary, a trained tail and a trained middle.
sample make_sample(int n, int seed, int64_t vocab) {
  sample s;
  uint64_t x = 1469598103934665603ull ^ static_cast<uint64_t>(seed);
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s.ids.push_back(static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(vocab)));
    s.trained.push_back((i >= n / 3 && i < n / 2) || i >= n - n / 4 ? 1 : 0);
  }
  return s;
}

using step_batches = std::vector<std::vector<sample>>;  // micro-batches of one step

nlohmann::json step_json(const step_batches& step) {
  nlohmann::json mb = nlohmann::json::array();
  for (const auto& micro : step) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : micro) {
      std::vector<int> trained(s.trained.begin(), s.trained.end());
      list.push_back({{"ids", s.ids}, {"trained", trained}});
    }
    mb.push_back(list);
  }
  return {{"micro_batches", mb}};
}

std::vector<packed_batch> pack(const step_batches& step) {
  std::vector<packed_batch> out;
  for (const auto& micro : step) {
    packed_batch& b = out.emplace_back();
    for (const auto& s : micro) packed_batch_add(b, s.ids, s.trained);
  }
  return out;
}

// One step as the trainer takes it: global count, grad_scale 1/count, no dropout.
double step_loss_and_grads(lora_model& m, const step_batches& step) {
  lora_model_zero_grads(m);
  auto batches = pack(step);
  int64_t count = 0;
  for (const auto& b : batches) count += b.label_count();
  double sum = 0;
  for (const auto& b : batches) {
    auto r = lora_model_forward_backward(m, b, 1.0f / static_cast<float>(count), 0);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
    sum += r->sum;
  }
  return sum / static_cast<double>(count);
}

double nmse(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i)
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), den += double(b[i]) * b[i];
  return den == 0 ? num : num / den;
}

class LoraReference : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!torch_available()) GTEST_SKIP() << "PyTorch not available";
    model_path_ = make_tiny_model(dir_, GetParam(), "f32");
    // B random so that A's gradients are not all zero; all seven targets.
    auto r = run_shell(reference() + " lora-init " + shell_quote(model_path_) +
                       " --rank 4 --alpha 8 --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
                       " --random-b 0.05 --seed 3 --out " +
                       shell_quote(dir_ / "init"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto md = model_dir_open(model_path_);
    ASSERT_TRUE(md.ok());
    auto base = transformer_create(std::move(*md), matmul_backend_onednn);
    ASSERT_TRUE(base.ok());
    base_ = std::move(*base);
    auto a = adapter_read(dir_ / "init");
    ASSERT_TRUE(a.ok()) << a.message();
    auto m = lora_model_from_adapter(*base_, *a);
    ASSERT_TRUE(m.ok()) << m.message();
    model_ = std::move(*m);
    model_.options.dropout = 0;
    vocab_ = base_->config.vocab_size;
  }
  step_batches step(int k) {
    // Two micro-batches, the first packing two samples of different lengths.
    return {{make_sample(23 + k, 10 * k + 1, vocab_), make_sample(11 + k % 3, 10 * k + 2, vocab_)},
            {make_sample(17, 10 * k + 3, vocab_)}};
  }
  temp_dir dir_;
  std::filesystem::path model_path_;
  std::unique_ptr<transformer> base_;
  lora_model model_;
  int64_t vocab_ = 0;
};

// Loss to fp32 rounding; gradients NMSE <= 1e-5 per tensor (the bound; fp32 sums in a
// different order, through two independent implementations of the backward).
TEST_P(LoraReference, LossAndGradientsMatch) {
  step_batches s = step(0);
  test::write_file(dir_ / "batch.json", step_json(s).dump());
  auto r = run_shell(reference() + " lora-grads " + shell_quote(model_path_) + " --adapter " +
                     shell_quote(dir_ / "init") + " --batch " + shell_quote(dir_ / "batch.json") + " --out " +
                     shell_quote(dir_ / "grads.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  double expect_loss = nlohmann::json::parse(r.out)["loss"].get<double>();
  double loss = step_loss_and_grads(model_, s);
  EXPECT_NEAR(loss, expect_loss, 1e-6 * expect_loss);
  auto grads = safetensors_file::open(dir_ / "grads.safetensors");
  ASSERT_TRUE(grads.ok()) << grads.message();
  int compared = 0;
  double worst = 0;
  for (size_t l = 0; l < model_.layers.size(); ++l)
    for (int t = 0; t < lora_target_count; ++t) {
      const auto& p = model_.layers[l][t];
      ASSERT_TRUE(p.has_value());
      for (char which : {'A', 'B'}) {
        const tensor_view* g = grads->find(adapter_tensor_name(
            static_cast<int64_t>(l), lora_target_name(static_cast<lora_target>(t)), which));
        ASSERT_NE(g, nullptr);
        const std::vector<float>& ours = which == 'A' ? p->dA : p->dB;
        ASSERT_EQ(static_cast<size_t>(g->numel()), ours.size());
        std::vector<float> theirs(ours.size());
        for (size_t i = 0; i < theirs.size(); ++i) theirs[i] = g->element(i);
        double e = nmse(ours.data(), theirs.data(), ours.size());
        worst = std::max(worst, e);
        EXPECT_LE(e, 1e-5) << "layer " << l << " " << lora_target_name(static_cast<lora_target>(t)) << " "
                           << which;
        ++compared;
      }
    }
  EXPECT_EQ(compared, static_cast<int>(model_.layers.size()) * 14);
  RecordProperty("worst_grad_nmse", fmt::format("{:.3g}", worst));

  // Keeping every layer's activations instead of recomputing them runs the same ops on the same
  // values: the same loss and gradients to the bit.
  ASSERT_EQ(model_.activation_budget, 0);
  std::vector<std::vector<float>> recomputed;
  for (const auto& layer : model_.layers)
    for (const auto& p : layer) recomputed.push_back(p->dA), recomputed.push_back(p->dB);
  model_.activation_budget = int64_t{1} << 40;
  EXPECT_EQ(step_loss_and_grads(model_, s), loss);
  size_t i = 0;
  for (const auto& layer : model_.layers)
    for (const auto& p : layer) {
      EXPECT_EQ(p->dA, recomputed[i++]);
      EXPECT_EQ(p->dB, recomputed[i++]);
    }
}

// Ten AdamW steps (lr 1e-3, cosine with 2 warmup steps, weight decay 0.01, clipping at 1.0): per-step
// losses within 1e-5 relative. Adam divides by sqrt(v), so small gradient differences become
// relative update differences of the same size; over ten steps they stay far below 1e-5 of the loss.
// The adapter smelt ends with, written in PEFT format, is then evaluated by the reference.
TEST_P(LoraReference, TenStepTrajectoryAndSavedAdapter) {
  nlohmann::json steps = nlohmann::json::array();
  std::vector<step_batches> all;
  for (int k = 0; k < 10; ++k) all.push_back(step(k)), steps.push_back(step_json(all.back()));
  test::write_file(dir_ / "steps.json", steps.dump());
  auto r =
      run_shell(reference() + " lora-train " + shell_quote(model_path_) + " --adapter " +
                shell_quote(dir_ / "init") + " --steps " + shell_quote(dir_ / "steps.json") +
                " --lr 1e-3 --schedule cosine --warmup 2 --weight-decay 0.01 --max-grad-norm 1.0 --out " +
                shell_quote(dir_ / "ref-final"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto expect = nlohmann::json::parse(r.out)["losses"].get<std::vector<double>>();
  ASSERT_EQ(expect.size(), 10u);

  std::vector<adamw_group> groups = lora_model_parameters(model_);
  adamw_options o;
  o.weight_decay = 0.01;
  adamw opt(groups, o);
  for (int k = 0; k < 10; ++k) {
    double loss = step_loss_and_grads(model_, all[k]);
    EXPECT_NEAR(loss, expect[k], 1e-5 * expect[k]) << "step " << k;
    clip_grad_norm(groups, 1.0);
    opt.step(lr_at(k, lr_schedule_cosine, 1e-3, 2, 10));
  }
  // The final weights themselves: Adam's normalised steps move every element by about lr per step,
  // so fp32 gradient noise changes weights by far less than 1e-6 relative to how far they moved.
  auto ref_final = adapter_read(dir_ / "ref-final");
  ASSERT_TRUE(ref_final.ok()) << ref_final.message();
  auto init = adapter_read(dir_ / "init");
  ASSERT_TRUE(init.ok());
  adapter mine = lora_model_to_adapter(model_, "");
  double moved = 0, off = 0;
  for (size_t i = 0; i < mine.tensors.size(); ++i)
    for (size_t j = 0; j < mine.tensors[i].A.size(); ++j) {
      moved += std::pow(double(mine.tensors[i].A[j]) - init->tensors[i].A[j], 2);
      off += std::pow(double(mine.tensors[i].A[j]) - ref_final->tensors[i].A[j], 2);
    }
  EXPECT_GT(moved, 0.0);
  EXPECT_LE(off, 1e-6 * moved) << "moved " << moved << ", differs from the reference by " << off;
  RecordProperty("final_weight_diff_over_update", fmt::format("{:.3g}", off / moved));

  ASSERT_TRUE(adapter_write(dir_ / "ours", lora_model_to_adapter(model_, model_path_.string())).ok());
  test::write_file(dir_ / "eval.json", step_json(step(3)).dump());
  auto e = run_shell(reference() + " lora-eval " + shell_quote(model_path_) + " --adapter " +
                     shell_quote(dir_ / "ours") + " --batch " + shell_quote(dir_ / "eval.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  double theirs = nlohmann::json::parse(e.out)["loss"].get<double>();
  loss_sum ours;
  for (const auto& b : pack(step(3))) {
    auto l = lora_model_loss(model_, b);
    ASSERT_TRUE(l.ok());
    ours.sum += l->sum, ours.count += l->count;
  }
  EXPECT_NEAR(ours.sum / ours.count, theirs, 1e-6 * theirs);
}

INSTANTIATE_TEST_SUITE_P(Archs, LoraReference, ::testing::Values("llama", "qwen3"));

}  // namespace
}  // namespace smelt
