// `smelt compare`, `smelt generate --adapter` and `smelt chat --adapter` as a user runs them: a tiny
// random Qwen3 model (`smelt model init`, real Qwen3 tokenizer) and two PEFT adapters written with
// model/adapter.h. Checks the JSON and Markdown reports, determinism, that each answer is exactly
// what `smelt generate` prints with the same options, and the errors for bad adapters and prompts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>

#include "engine/tiny_model.h"
#include "model/adapter.h"
#include "support/test_support.h"

namespace smelt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::read_file;
using test::run_smelt;
using test::shell_quote;
using test::temp_dir;
using test::write_file;

// A PEFT adapter for the model config at MODEL: A ~ U(-1/sqrt(in), 1/sqrt(in)), B ~ N(0, 0.5) so that
// the adapter visibly changes the answers of the random model.
void write_adapter(const fs::path& model, const fs::path& out, std::vector<std::string> targets, int64_t rank,
                   uint64_t seed, int64_t grow_intermediate = 0) {
  auto config = model_config_read(model / "config.json");
  ASSERT_TRUE(config.ok()) << config.message();
  config->intermediate_size += grow_intermediate;
  adapter a;
  a.config.rank = rank;
  a.config.alpha = 2.0 * rank;
  a.config.target_modules = targets;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (int64_t layer = 0; layer < config->num_hidden_layers; ++layer)
    for (const std::string& m : targets) {
      adapter_tensor& t = a.tensors.emplace_back();
      t.layer = layer;
      t.module = m;
      t.rank = rank;
      ASSERT_TRUE(adapter_module_shape(*config, m, t.out, t.in));
      std::uniform_real_distribution<float> uniform(-1.0f / std::sqrt(float(t.in)),
                                                    1.0f / std::sqrt(float(t.in)));
      for (int64_t i = 0; i < rank * t.in; ++i) t.A.push_back(uniform(rng));
      for (int64_t i = 0; i < t.out * rank; ++i) t.B.push_back(normal(rng));
    }
  auto s = adapter_write(out, a);
  ASSERT_TRUE(s.ok()) << s.message();
}

class Compare : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = test::make_tiny_model(dir_, "qwen3", "f32");
    adapter_a_ = dir_ / "runs" / "alpha" / "checkpoints" / "step-2";
    adapter_b_ = dir_ / "beta-final";
    write_adapter(model_, adapter_a_,
                  {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, 4, 1);
    write_adapter(model_, adapter_b_, {"q_proj", "v_proj"}, 2, 2);
    prompts_ = dir_ / "prompts.jsonl";
    write_file(
        prompts_,
        R"({"messages":[{"role":"system","content":"You answer about doors."},{"role":"user","content":"What is a fire door?"},{"role":"assistant","content":"A door that resists fire."}]})"
        "\n\n"
        R"({"messages":[{"role":"user","content":"Name two metals."}]})"
        "\n");
  }
  // The sampling options every run here shares: sampled (not greedy), so the seed matters.
  std::string options() const { return "--max-tokens 8 --seed 5 --temperature 0.9 --top-k 50"; }
  test::command_output compare(const fs::path& out, const std::string& prompts = "") const {
    return run_smelt("compare --model " + shell_quote(model_) + " --adapters " + shell_quote(adapter_a_) +
                     "," + shell_quote(adapter_b_) + " --prompts " +
                     (prompts.empty() ? shell_quote(prompts_) : prompts) + " --out " + shell_quote(out) +
                     " " + options());
  }
  // `smelt generate --json` with the same options; EXTRA adds --system / --adapter.
  json generate(const std::string& prompt, const std::string& extra) const {
    auto r = run_smelt("generate " + shell_quote(model_) + " --prompt " + shell_quote(prompt) + " " + extra +
                       " " + options() + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  temp_dir dir_;
  fs::path model_, adapter_a_, adapter_b_, prompts_;
};

TEST_F(Compare, ReportsEqualGenerateAndAreDeterministic) {
  auto r = compare(dir_ / "cmp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + (dir_ / "cmp").string() + ".json and "), std::string::npos) << r.err;
  json j = json::parse(read_file(dir_ / "cmp.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0]["label"], "base");
  EXPECT_TRUE(j["models"][0]["adapter"].is_null());
  EXPECT_EQ(j["models"][1]["label"], "step-2");
  EXPECT_EQ(j["models"][1]["adapter"], adapter_a_.string());
  EXPECT_EQ(j["models"][2]["label"], "beta-final");
  EXPECT_EQ(j["options"]["seed"], 5);
  EXPECT_EQ(j["options"]["max_tokens"], 8);
  ASSERT_EQ(j["prompts"].size(), 2u);
  EXPECT_EQ(j["prompts"][0]["line"], 1);
  EXPECT_EQ(j["prompts"][0]["prompt"], "What is a fire door?");
  EXPECT_EQ(j["prompts"][0]["system"], "You answer about doors.");
  EXPECT_EQ(j["prompts"][0]["reference"], "A door that resists fire.");
  EXPECT_EQ(j["prompts"][1]["line"], 3);
  EXPECT_TRUE(j["prompts"][1]["reference"].is_null());

  // Every answer is what `smelt generate` gives with the same options (and system message, adapter).
  const std::string adapter_args[] = {"", "--adapter " + shell_quote(adapter_a_),
                                      "--adapter " + shell_quote(adapter_b_)};
  bool adapters_changed_something = false;
  for (size_t p = 0; p < 2; ++p) {
    const json& prompt = j["prompts"][p];
    ASSERT_EQ(prompt["answers"].size(), 3u);
    std::string system =
        prompt.contains("system") ? "--system " + shell_quote(prompt["system"].get<std::string>()) : "";
    for (size_t m = 0; m < 3; ++m) {
      const json& a = prompt["answers"][m];
      EXPECT_EQ(a["model"], j["models"][m]["label"]);
      json g = generate(prompt["prompt"].get<std::string>(), system + " " + adapter_args[m]);
      EXPECT_EQ(a["text"], g["text"]) << "prompt " << p << " model " << m;
      EXPECT_EQ(a["generated_tokens"], g["generated_tokens"]);
      EXPECT_EQ(a["prompt_tokens"], g["prompt_tokens"]);
      EXPECT_EQ(a["finish_reason"], g["finish_reason"]);
      EXPECT_GE(a["generated_tokens"].get<int>(), 1);
      EXPECT_LE(a["generated_tokens"].get<int>(), 8);
      if (m > 0 && a["text"] != prompt["answers"][0]["text"]) adapters_changed_something = true;
    }
  }
  // Random adapters must change some answer, or "the adapter was applied" is not being tested.
  EXPECT_TRUE(adapters_changed_something);

  // Same seed, same answers.
  auto again = compare(dir_ / "again");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json k = json::parse(read_file(dir_ / "again.json"));
  for (size_t p = 0; p < 2; ++p)
    for (size_t m = 0; m < 3; ++m)
      EXPECT_EQ(k["prompts"][p]["answers"][m]["text"], j["prompts"][p]["answers"][m]["text"]);
  EXPECT_EQ(again.out, r.out);

  // The terminal shows a block per prompt with every model's answer labelled.
  EXPECT_NE(r.out.find("=== prompt 1/2 (line 1) ===\nWhat is a fire door?\n--- reference ---\n"
                       "A door that resists fire.\n--- base ("),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("=== prompt 2/2 (line 3) ===\nName two metals.\n--- base ("), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--- step-2 ("), std::string::npos);
  EXPECT_NE(r.out.find("--- beta-final ("), std::string::npos);

  // Markdown: a summary table, then per prompt the prompt, the reference and every answer.
  std::string md = read_file(dir_ / "cmp.md");
  EXPECT_EQ(md.rfind("# smelt compare\n", 0), 0u) << md;
  EXPECT_NE(md.find("| base | — |"), std::string::npos) << md;
  EXPECT_NE(md.find("| step-2 | `" + adapter_a_.string() + "` |"), std::string::npos) << md;
  EXPECT_NE(md.find("## 1. What is a fire door?\n"), std::string::npos) << md;
  EXPECT_NE(md.find("**reference**\n\n> A door that resists fire.  \n"), std::string::npos) << md;
  EXPECT_NE(md.find("## 2. Name two metals.\n"), std::string::npos) << md;
  for (const json& prompt : j["prompts"])
    for (const json& a : prompt["answers"]) {
      EXPECT_NE(md.find("**" + a["model"].get<std::string>() + "** (" +
                        std::to_string(a["generated_tokens"].get<int>()) + " tokens, " +
                        a["finish_reason"].get<std::string>() + ")"),
                std::string::npos);
      // Every line of the answer is quoted in the Markdown.
      std::string text = a["text"];
      size_t at = 0;
      while (at < text.size()) {
        size_t end = text.find_first_of("\r\n", at);
        if (end == std::string::npos) end = text.size();
        std::string piece = text.substr(at, end - at);
        if (!piece.empty()) {
          EXPECT_NE(md.find(piece), std::string::npos) << piece;
        }
        at = end + 1;
      }
    }
}

// Plain text prompts: one a line, no reference, the --system option applies.
TEST_F(Compare, TextPromptsFile) {
  fs::path txt = dir_ / "prompts.txt";
  write_file(txt, "What is a fire door?\n\n  Name two metals.  \n");
  auto r = compare(dir_ / "txt", shell_quote(txt));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(read_file(dir_ / "txt.json"));
  ASSERT_EQ(j["prompts"].size(), 2u);
  EXPECT_EQ(j["prompts"][1]["prompt"], "Name two metals.");
  EXPECT_EQ(j["prompts"][1]["line"], 3);
  EXPECT_TRUE(j["prompts"][0]["reference"].is_null());
  EXPECT_EQ(j["prompts"][0]["answers"][1]["text"],
            generate("What is a fire door?", "--adapter " + shell_quote(adapter_a_))["text"]);
}

// `smelt chat --adapter` streams the same reply as `smelt generate --adapter` for the same turn.
TEST_F(Compare, ChatWithAdapter) {
  auto r = test::run_shell("printf 'What is a fire door?\\n' | '" + std::string(SMELT_BINARY) + "' chat " +
                           shell_quote(model_) + " --adapter " + shell_quote(adapter_a_) + " " + options());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json g = generate("What is a fire door?", "--adapter " + shell_quote(adapter_a_));
  EXPECT_EQ(r.out, g["text"].get<std::string>() + "\n");
  json base = generate("What is a fire door?", "");
  EXPECT_NE(base["text"], g["text"]);
}

TEST_F(Compare, MismatchedAdapterIsAClearError) {
  fs::path wrong = dir_ / "wrong";
  write_adapter(model_, wrong, {"up_proj"}, 2, 3, 16);
  auto c = run_smelt("compare --model " + shell_quote(model_) + " --adapters " + shell_quote(adapter_a_) +
                     "," + shell_quote(wrong) + " --prompts " + shell_quote(prompts_) + " --out " +
                     shell_quote(dir_ / "bad") + " " + options());
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.err.find("smelt compare: " + wrong.string() +
                       ": adapter: tensor base_model.model.model.layers.0."
                       "mlp.up_proj.lora_B.weight: shape ["),
            std::string::npos)
      << c.err;
  EXPECT_NE(c.err.find("intermediate_size"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad.json"));
  for (std::string command : {"generate", "chat"}) {
    auto g = run_smelt(command + " " + shell_quote(model_) + " --adapter " + shell_quote(wrong) +
                       (command == "generate" ? " --prompt hi" : "") + " </dev/null");
    EXPECT_EQ(g.exit_code, 1) << command;
    EXPECT_NE(g.err.find("smelt " + command + ": " + wrong.string() + ": adapter: tensor"), std::string::npos)
        << g.err;
  }
  auto missing = run_smelt("generate " + shell_quote(model_) + " --adapter " + shell_quote(dir_ / "nope") +
                           " --prompt hi");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find((dir_ / "nope").string()), std::string::npos) << missing.err;
}

TEST_F(Compare, BadPromptsAndUsage) {
  fs::path bad = dir_ / "bad.jsonl";
  write_file(bad, R"({"messages":[{"role":"user","content":"hi"}]})"
                  "\nnot json\n");
  auto r = compare(dir_ / "x", shell_quote(bad));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("smelt compare: " + bad.string() + ":2: not a JSON object"), std::string::npos)
      << r.err;
  write_file(bad, R"({"messages":[{"role":"assistant","content":"hi"}]})"
                  "\n");
  r = compare(dir_ / "x", shell_quote(bad));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ":1: messages: no user message"), std::string::npos) << r.err;
  write_file(bad, "\n\n");
  r = compare(dir_ / "x", shell_quote(bad));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ": no prompts"), std::string::npos) << r.err;
  r = run_smelt("compare --model " + shell_quote(model_) + " --prompts " + shell_quote(prompts_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--adapters is required"), std::string::npos) << r.err;
  auto help = run_smelt("compare --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("write PREFIX.json and PREFIX.md (default: compare)"), std::string::npos)
      << help.out;
  EXPECT_FALSE(fs::exists(dir_ / "x.json"));
}

}  // namespace
}  // namespace smelt
