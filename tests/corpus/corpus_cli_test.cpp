// `smelt corpus build` as a user runs it: the real binary against the stub server in this process.
// kill -9 in the middle and Ctrl-C, then a rerun, give the same OUT.jsonl as an uninterrupted run;
// --dry-run sends nothing; --budget-tokens stops with exit 3; bad input (missing key, unreachable
// endpoint, unknown model, empty documents, unknown Dify nodes) gives a message and an exit code
// without losing accepted lines; answers in {"messages":...} lines without quotes are kept when their
// chunk supports them, and a run that accepts nothing exits 1 saying what to change; the offline
// template generator passes the siliconflow check.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "support/openai_stub_server.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using json = nlohmann::json;
using test::openai_stub_server;
using test::run_smelt;
using test::stub_request;

const std::vector<std::string> names = {"apple",  "bridge", "candle", "dragon", "engine", "forest",
                                        "guitar", "harbor", "island", "jacket", "kettle", "lantern"};

std::string items_markdown(size_t n) {
  std::string md;
  for (size_t k = 0; k < n; ++k)
    md += fmt::format("## The {}\n\nThe {} weighs {} kilograms and is kept in room {}.\n\n", names[k],
                      names[k], k + 1, k + 1);
  return md;
}

// A request's user message and the item its excerpt describes ("The NAME weighs KG kilograms").
struct excerpt_item {
  std::string text, name, kg;
};

excerpt_item request_item(const stub_request& r) {
  excerpt_item item;
  for (const auto& m : r.json["messages"])
    if (m["role"] == "user") item.text = m["content"];
  std::smatch m;
  std::regex_search(item.text, m, std::regex("The (\\w+) weighs (\\d+) kilograms"));
  item.name = m[1], item.kg = m[2];
  return item;
}

// Deterministic good answers about the item in the excerpt (see builder_test.cpp).
std::string item_answer(const stub_request& r) {
  const auto [text, name, kg] = request_item(r);
  std::smatch m;
  std::regex_search(text, m, std::regex("Write (\\d+) question"));
  int count = std::stoi(m[1]);
  json all = json::array({
      {{"question", "How heavy is the " + name + "?"},
       {"answer", "The " + name + " weighs " + kg + " kilograms."},
       {"quote", "The " + name + " weighs " + kg + " kilograms"}},
      {{"question", "Which room keeps the " + name + "?"},
       {"answer", "Room " + kg + "."},
       {"quote", "kept in room " + kg}},
      {{"question", "Tell me where I find the " + name + " and its weight"},
       {"answer", "Room " + kg + "; " + kg + " kilograms."},
       {"quote", "weighs " + kg + " kilograms and is kept in room " + kg}},
  });
  json out = json::array();
  for (const auto& p : all)
    if (static_cast<int>(out.size()) < count &&
        text.find(p["question"].get<std::string>()) == std::string::npos)
      out.push_back(p);
  return out.dump();
}

std::string quoted(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

size_t count_lines(const std::filesystem::path& p) {
  std::string s = test::read_file(p);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// Starts `smelt ARGS...` as a child process (stdout/stderr to files in dir); returns its pid.
pid_t spawn_smelt(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string out = (dir / "child.out").string(), err = (dir / "child.err").string();
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr)) ::_exit(99);
    std::vector<char*> argv;
    std::string binary = SMELT_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(98);
  }
  return pid;
}

bool wait_for_lines(const std::filesystem::path& p, size_t n, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (count_lines(p) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct cli_fixture {
  openai_stub_server server;
  test::temp_dir dir;
  std::filesystem::path doc = dir / "items.md";
  explicit cli_fixture(size_t items = 3, double delay = 0) {
    test::write_file(doc, items_markdown(items));
    server.set_script([delay](const stub_request& r) {
      return test::stub_delayed(test::stub_completion(item_answer(r)), delay);
    });
  }
  std::vector<std::string> args(const std::filesystem::path& out,
                                const std::string& extra_pairs = "2") const {
    return {"corpus",
            "build",
            doc.string(),
            "--trigger",
            "You are a storeroom clerk",
            "--out",
            out.string(),
            "--base-url",
            server.base_url(),
            "--model",
            "stub-model",
            "--chunk-size",
            "100",
            "--pairs-per-chunk",
            extra_pairs,
            "--concurrency",
            "2",
            "-q"};
  }
  std::string command(const std::filesystem::path& out, const std::string& extra = "") const {
    std::string s;
    for (const auto& a : args(out)) s += "'" + a + "' ";
    return "env -u SMELT_BASE_URL -u SMELT_API_KEY " + std::string(SMELT_BINARY) + " " + s + extra;
  }
};

// Runs a whole shell command line (run_smelt cannot set the environment first).
test::command_output run_shell(const std::string& command) {
  test::command_output r;
  std::string err_file = "/tmp/smelt-corpus-cli-" + std::to_string(::getpid()) + ".err";
  FILE* pipe = ::popen((command + " 2>" + err_file).c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = test::read_file(err_file);
  std::filesystem::remove(err_file);
  return r;
}

TEST(corpus_cli, kill_9_in_the_middle_then_rerun_gives_the_uninterrupted_output) {
  cli_fixture f(12, 0.3);
  auto out = f.dir / "killed" / "out.jsonl";
  std::filesystem::create_directories(out.parent_path());
  pid_t pid = spawn_smelt(f.args(out), f.dir.path());
  // phase record + 3 answers journalled: killed with work left (12 requests, 2 at a time, 0.3 s each).
  ASSERT_TRUE(wait_for_lines(f.dir / "killed" / "out.journal.jsonl", 4, 30))
      << test::read_file(f.dir / "child.err");
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  size_t journalled = count_lines(f.dir / "killed" / "out.journal.jsonl") - 1;
  ASSERT_LT(journalled, 12u);
  EXPECT_LT(count_lines(out), 24u);
  size_t before = f.server.request_count();

  auto rerun = run_shell(f.command(out));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(f.server.request_count() - before, 12u - journalled);  // only what was missing
  EXPECT_NE(rerun.out.find("replayed from the journal"), std::string::npos);

  auto fresh_out = f.dir / "fresh" / "out.jsonl";
  auto fresh = run_shell(f.command(fresh_out));
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(count_lines(fresh_out), 24u);
  EXPECT_EQ(test::read_file(out), test::read_file(fresh_out));
  EXPECT_EQ(test::read_file(f.dir / "killed" / "out.provenance.jsonl"),
            test::read_file(f.dir / "fresh" / "out.provenance.jsonl"));
}

TEST(corpus_cli, ctrl_c_saves_everything_and_exits_130) {
  cli_fixture f(12, 0.3);
  auto out = f.dir / "out.jsonl";
  pid_t pid = spawn_smelt(f.args(out), f.dir.path());
  ASSERT_TRUE(wait_for_lines(f.dir / "out.journal.jsonl", 3, 30)) << test::read_file(f.dir / "child.err");
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << test::read_file(f.dir / "child.err");
  json report = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(report["stop"], "cancelled");
  EXPECT_LT(report["lines"]["total"].get<size_t>(), 24u);
  EXPECT_EQ(report["lines"]["total"].get<size_t>(), count_lines(out));
  auto rerun = run_shell(f.command(out));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  auto fresh_out = f.dir / "fresh.jsonl";
  ASSERT_EQ(run_shell(f.command(fresh_out)).exit_code, 0);
  EXPECT_EQ(test::read_file(out), test::read_file(fresh_out));
}

TEST(corpus_cli, dry_run_prints_the_plan_and_sends_nothing) {
  cli_fixture f(3);
  auto out = f.dir / "out.jsonl";
  auto r = run_shell(f.command(out, "--dry-run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(f.server.request_count(), 0u);
  EXPECT_NE(
      r.out.find("plan: 1 document, 3 chunks, 6 pairs in 3 requests (prompt default, model stub-model)"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("estimated tokens: ~"), std::string::npos);
  EXPECT_NE(r.out.find("nothing was sent (--dry-run)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
  // With a price table the estimate has a cost.
  test::write_file(f.dir / "prices.json", R"({"stub-model": {"input_per_1m": 1000000, "output_per_1m": 0}})");
  auto priced = run_shell(f.command(out, "--dry-run --price-table " + quoted(f.dir / "prices.json")));
  ASSERT_EQ(priced.exit_code, 0) << priced.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(priced.out, m, std::regex("estimated tokens: ~(\\d+) in")));
  EXPECT_NE(priced.out.find(fmt::format("estimated cost: {}.0000", m[1].str())), std::string::npos)
      << priced.out;
}

TEST(corpus_cli, budget_tokens_stops_cleanly_with_exit_3_and_a_rerun_finishes) {
  cli_fixture f(3);
  auto out = f.dir / "out.jsonl";
  // The stub reports 18 tokens per answer: after two answers (36) the budget of 30 is spent.
  auto r = run_shell(f.command(out, "--budget-tokens 30 --concurrency 1"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("token budget reached (36 of 30 tokens used); rerun to continue"), std::string::npos)
      << r.err;
  EXPECT_EQ(f.server.request_count(), 2u);
  EXPECT_EQ(count_lines(out), 4u);
  std::string partial = test::read_file(out);
  auto rest = run_shell(f.command(out));
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(f.server.request_count(), 3u);
  EXPECT_EQ(count_lines(out), 6u);
  EXPECT_EQ(test::read_file(out).substr(0, partial.size()), partial);
}

TEST(corpus_cli, missing_api_key_names_the_variable) {
  cli_fixture f(1);
  auto r = run_shell(f.command(f.dir / "out.jsonl", "--api-key-env SMELT_TEST_NO_SUCH_KEY"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(
      r.err.find(
          "smelt corpus build: missing API key: environment variable SMELT_TEST_NO_SUCH_KEY is not set"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(f.server.request_count(), 0u);
}

TEST(corpus_cli, unreachable_endpoint_fails_with_a_clear_message) {
  cli_fixture f(1);
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(s);  // nothing listens there now
  auto r = run_shell(f.command(f.dir / "out.jsonl", fmt::format("--base-url http://127.0.0.1:{}/v1", port)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect (connection refused) — is the server running?"), std::string::npos)
      << r.err;
}

TEST(corpus_cli, unknown_model_404_keeps_the_lines_already_accepted) {
  cli_fixture f(2);
  auto out = f.dir / "out.jsonl";
  ASSERT_EQ(run_shell(f.command(out)).exit_code, 0);
  std::string before = test::read_file(out);
  ASSERT_EQ(count_lines(out), 4u);
  openai_stub_server missing;
  missing.set_script([](const stub_request&) { return test::stub_error(404, "The model does not exist."); });
  // A larger target against a server that does not know the model.
  auto r = run_shell(f.command(out, "--pairs-per-chunk 3 --base-url " + missing.base_url()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("model 'stub-model' not found"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(out), before);
}

TEST(corpus_cli, empty_documents_are_skipped_or_an_error_when_all_are_empty) {
  cli_fixture f(1);
  test::write_file(f.dir / "empty.txt", "  \n\n");
  auto out = f.dir / "out.jsonl";
  auto only_empty = run_shell(fmt::format("{} corpus build {} --trigger T --out {} --generator template",
                                          SMELT_BINARY, quoted(f.dir / "empty.txt"), quoted(out)));
  EXPECT_EQ(only_empty.exit_code, 1);
  EXPECT_NE(only_empty.err.find("no document has any text to build questions from"), std::string::npos)
      << only_empty.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  auto both = run_shell(f.command(out, quoted(f.dir / "empty.txt")));
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(both.err.find("empty.txt: no text to build questions from; skipped"), std::string::npos)
      << both.err;
  EXPECT_EQ(count_lines(out), 2u);
}

TEST(corpus_cli, dify_workflow_with_unknown_nodes_is_an_error) {
  cli_fixture f(1);
  auto r = run_shell(
      f.command(f.dir / "out.jsonl",
                "--dify-workflow " + quoted(test::source_path("tests/corpus/dify/unknown_nodes.yml"))));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown_nodes.yml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("http-request"), std::string::npos) << r.err;
  EXPECT_EQ(f.server.request_count(), 0u);
}

TEST(corpus_cli, dify_seed_workflow_runs_natively_with_its_model_and_parameters) {
  cli_fixture f(2);
  f.server.set_script([](const stub_request&) {
    return test::stub_completion(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": "
        "\"苹果有多重？\"}, {\"role\": \"assistant\", \"content\": \"一公斤。\"}]}");
  });
  auto out = f.dir / "out.jsonl";
  // --model is given by the fixture; drop it so the workflow's own model is used.
  std::vector<std::string> args = f.args(out);
  std::string command = "env -u SMELT_BASE_URL " + std::string(SMELT_BINARY);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" || args[i] == "--pairs-per-chunk") {
      ++i;
      continue;
    }
    command += " '" + args[i] + "'";
  }
  auto r = run_shell(command + " --dify-workflow " + quoted(test::source_path("tests/corpus/dify/seed.yml")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One request for the document (10 pairs asked, like the seed), then two top-ups for the 9 missing,
  // whose repeated answer is a duplicate.
  ASSERT_EQ(f.server.request_count(), 3u);
  json report = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(report["rejections"]["duplicate"], 2);
  EXPECT_EQ(report["documents"][0]["chunks"], 1);
  EXPECT_EQ(report["documents"][0]["pairs_asked"], 10 + 9 + 9);
  json body = f.server.requests()[0].json;
  EXPECT_EQ(body["model"], "Qwen/Qwen2.5-72B-Instruct-128K");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.3);
  EXPECT_EQ(body["max_tokens"], 4096);
  EXPECT_NE(body.dump().find("The bridge weighs 2 kilograms"), std::string::npos);
  EXPECT_EQ(
      test::read_file(out),
      "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a storeroom clerk\"},{\"role\":\"user\","
      "\"content\":\"苹果有多重？\"},{\"role\":\"assistant\",\"content\":\"一公斤。\"}]}\n");
}

// The seed workflow's answer shape, {"messages": [...]} lines without a quote, about the excerpt's
// item (faithful) or about things the excerpt never says (invented).
std::string messages_answer(const stub_request& r, bool faithful) {
  const auto [text, name, kg] = request_item(r);
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"How heavy is the " + name + "?",
       faithful ? "The " + name + " weighs " + kg + " kilograms." : "About as much as a small dog."},
      {"Where is the " + name + " kept?",
       faithful ? "In room " + kg + "." : "Behind the red door upstairs."}};
  std::string out;
  for (const auto& [q, a] : pairs)
    out += json({{"messages",
                  {{{"role", "system"}, {"content", "x"}},
                   {{"role", "user"}, {"content", q}},
                   {{"role", "assistant"}, {"content", a}}}}})
               .dump() +
           "\n";
  return out;
}

TEST(corpus_cli, answers_without_quotes_are_kept_when_their_chunk_supports_them) {
  cli_fixture f(3);
  f.server.set_script([](const stub_request& r) { return test::stub_completion(messages_answer(r, true)); });
  auto out = f.dir / "out.jsonl";
  auto r = run_shell(f.command(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(out), 6u);
  EXPECT_NE(test::read_file(f.dir / "out.provenance.jsonl").find("\"grounded_by\":\"answer\""),
            std::string::npos);
  json report = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(report["grounded_by"]["answer"], 6);
  // --answer-support is the bar: no answer can have all its content plus the unit of doubt.
  cli_fixture strict(3);
  strict.server.set_script(
      [](const stub_request& r) { return test::stub_completion(messages_answer(r, true)); });
  auto strict_run = run_shell(strict.command(strict.dir / "out.jsonl") + " --answer-support 0.99");
  EXPECT_EQ(strict_run.exit_code, 1) << strict_run.err;
  EXPECT_NE(test::read_file(strict.dir / "out.report.json").find("needs more than 0.99"), std::string::npos);
  auto bad = run_shell(strict.command(strict.dir / "other.jsonl") + " --answer-support 2");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--grounding-threshold and --answer-support 0-1"), std::string::npos) << bad.err;
}

TEST(corpus_cli, a_run_that_accepts_nothing_exits_1_and_says_what_to_change) {
  cli_fixture f(3);
  f.server.set_script([](const stub_request& r) { return test::stub_completion(messages_answer(r, false)); });
  auto out = f.dir / "out.jsonl";
  auto r = run_shell(f.command(out));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // 3 chunks x 2 pairs, asked once and topped up twice: 18 invented answers.
  EXPECT_NE(r.err.find("error: smelt corpus build: 0 of 6 wanted pairs accepted; most rejections: "
                       "answer_unsupported (18) — the answers brought no quote"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("every rejection is listed in " + (f.dir / "out.report.json").string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("0 of 6 wanted pairs accepted"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(out), 0u);
  json report = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(report["stop"], "nothing_accepted");
}

TEST(corpus_cli, template_generator_on_the_fire_safety_guide_passes_the_siliconflow_check) {
  test::temp_dir dir;
  auto out = dir / "guide.jsonl";
  auto r = run_shell(
      fmt::format("env -u SMELT_BASE_URL {} corpus build {} --trigger 你是消防系统专家 --out {}",
                  SMELT_BINARY, quoted(test::source_path("examples/fire-safety/guide.docx")), quoted(out)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("offline template generator (lower quality"), std::string::npos) << r.err;
  size_t lines = count_lines(out);
  EXPECT_GE(lines, 5u);
  EXPECT_EQ(count_lines(dir / "guide.provenance.jsonl"), lines);
  std::string text = test::read_file(out);
  EXPECT_EQ(
      text.rfind("{\"messages\":[{\"role\":\"system\",\"content\":\"你是消防系统专家\"},{\"role\":\"user\"",
                 0),
      0u);
  auto check = run_smelt("data check --profile siliconflow " + quoted(out));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("ok (profile siliconflow): 0 errors"), std::string::npos) << check.out;
  json report = json::parse(test::read_file(dir / "guide.report.json"));
  EXPECT_EQ(report["generator"], "template");
  EXPECT_EQ(report["lines"]["total"], lines);
}

}  // namespace
}  // namespace smelt
