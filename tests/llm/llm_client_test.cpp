// llm_chat against the scripted OpenAI stub server on 127.0.0.1: request bodies and headers, answers,
// streams, reasoning stripping, retries and their waits, and the exact error messages users see.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "llm/api_key.h"
#include "llm/llm_client.h"
#include "support/openai_stub_server.h"

namespace smelt {
namespace {

using json = nlohmann::json;
using test::openai_stub_server;

// Config for the stub: small waits so retry tests stay fast; `waits` records every pause.
struct fixture_config {
  llm_config config;
  std::shared_ptr<std::vector<double>> waits = std::make_shared<std::vector<double>>();
  explicit fixture_config(const openai_stub_server& server) {
    config.base_url = server.base_url();
    config.api_key = "sk-test-123";
    config.api_key_env = "SMELT_TEST_KEY";
    config.model = "stub-model";
    config.timeout_seconds = 10;
    config.backoff_base_seconds = 0.01;
    config.backoff_max_seconds = 0.05;
    auto w = waits;
    config.sleep = [w](double s) { w->push_back(s); };
  }
};

chat_request user_says(const std::string& text) {
  chat_request r;
  r.messages = {{"user", text}};
  return r;
}

TEST(llm_client, good_answer_sends_configured_body_and_key) {
  openai_stub_server server;
  server.enqueue(test::stub_completion("Fire doors must stay closed."));
  fixture_config f(server);
  f.config.model = "Qwen/Qwen2.5-7B-Instruct";
  chat_request req;
  req.messages = {{"system", "You write questions."}, {"user", "Chunk: fire doors."}};
  req.temperature = 0.7;
  req.top_p = 0.9;
  req.frequency_penalty = 0.5;
  req.max_tokens = 256;
  req.seed = 42;
  req.extra = {{"enable_thinking", false}, {"temperature", 0.2}};

  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "Fire doors must stay closed.");
  EXPECT_EQ(r->reasoning, "");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->prompt_tokens, 11);
  EXPECT_EQ(r->completion_tokens, 7);
  EXPECT_EQ(r->model, "stub-model");
  EXPECT_EQ(r->http_status, 200);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->retry_wait_seconds, 0);

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/v1/chat/completions");
  EXPECT_EQ(seen[0].header("authorization"), "Bearer sk-test-123");
  EXPECT_EQ(seen[0].header("content-type"), "application/json");
  json expected = {{"model", "Qwen/Qwen2.5-7B-Instruct"},
                   {"messages", json::array({{{"role", "system"}, {"content", "You write questions."}},
                                             {{"role", "user"}, {"content", "Chunk: fire doors."}}})},
                   {"temperature", 0.2},  // extra overrides
                   {"top_p", 0.9},
                   {"frequency_penalty", 0.5},
                   {"max_tokens", 256},
                   {"seed", 42},
                   {"stream", false},
                   {"enable_thinking", false}};
  EXPECT_EQ(seen[0].json, expected) << seen[0].body;
}

TEST(llm_client, unset_fields_are_left_out_and_empty_key_sends_no_header) {
  openai_stub_server server;
  fixture_config f(server);
  f.config.api_key = "";
  f.config.base_url = server.base_url() + "/";  // a trailing slash is tolerated
  auto r = llm_chat(f.config, user_says("hi"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "ok");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("authorization"), "");
  EXPECT_EQ(seen[0].json, (json{{"model", "stub-model"},
                                {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                                {"stream", false}}));
}

TEST(llm_client, streaming_assembles_deltas) {
  openai_stub_server server;
  auto stream = test::stub_stream({"Keep ", "exits ", "clear."});
  stream.event_delay_seconds = 0.02;
  server.enqueue(stream);
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  std::vector<std::string> pieces;
  req.on_delta = [&](const chat_delta& d) {
    pieces.emplace_back(d.content);
    EXPECT_EQ(d.attempt, 1);
  };
  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "Keep exits clear.");
  EXPECT_EQ(pieces, (std::vector<std::string>{"Keep ", "exits ", "clear."}));
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->prompt_tokens, 11);
  EXPECT_EQ(r->completion_tokens, 7);
  EXPECT_EQ(r->model, "stub-model");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].json["stream"], true);
  EXPECT_EQ(seen[0].header("accept"), "text/event-stream");
}

TEST(llm_client, streaming_request_answered_in_one_piece_still_works) {
  openai_stub_server server;
  server.enqueue(test::stub_completion("whole"));
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "whole");
}

TEST(llm_client, think_tags_are_stripped_into_reasoning) {
  openai_stub_server server;
  server.enqueue(
      test::stub_completion("<think>\nThe user wants a question.\n</think>\n\nWhere are the exits?"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "Where are the exits?");
  EXPECT_EQ(r->reasoning, "The user wants a question.");
}

TEST(llm_client, reasoning_fields_are_kept_apart) {
  openai_stub_server server;
  server.enqueue(test::stub_completion("Answer A.", "stop", {{"reasoning_content", "thought A"}}));
  server.enqueue(test::stub_completion("Answer B.", "stop", {{"reasoning", "thought B"}}));
  fixture_config f(server);
  auto a = llm_chat(f.config, user_says("q"));
  auto b = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(a->content, "Answer A.");
  EXPECT_EQ(a->reasoning, "thought A");
  EXPECT_EQ(b->content, "Answer B.");
  EXPECT_EQ(b->reasoning, "thought B");
}

TEST(llm_client, truncated_thinking_leaves_no_content) {
  openai_stub_server server;
  server.enqueue(test::stub_completion("<think>Let me count the floors: one, two", "length"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "");
  EXPECT_EQ(r->reasoning, "Let me count the floors: one, two");
  EXPECT_EQ(r->finish_reason, "length");
}

TEST(llm_client, streamed_reasoning_and_think_tags_are_stripped) {
  openai_stub_server server;
  server.enqueue(
      test::stub_stream({"<think>tag ", "thought</think>", "\n\nFinal."}, "stop", {"field ", "thought"}));
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  std::string reasoning_seen;
  req.on_delta = [&](const chat_delta& d) { reasoning_seen += d.reasoning; };
  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "Final.");
  EXPECT_EQ(r->reasoning, "field thought\ntag thought");
  EXPECT_EQ(reasoning_seen, "field thought");
}

TEST(llm_client, strip_think_cases) {
  auto s = llm_strip_think("  plain answer \n");
  EXPECT_EQ(s.content, "plain answer");
  EXPECT_EQ(s.reasoning, "");
  s = llm_strip_think("thought without opening tag</think>\nAnswer");
  EXPECT_EQ(s.content, "Answer");
  EXPECT_EQ(s.reasoning, "thought without opening tag");
  s = llm_strip_think("Answer mentioning <think> later");
  EXPECT_EQ(s.content, "Answer mentioning <think> later");
  EXPECT_EQ(s.reasoning, "");
  s = llm_strip_think("<think></think>Only answer");
  EXPECT_EQ(s.content, "Only answer");
  EXPECT_EQ(s.reasoning, "");
}

TEST(llm_client, retry_after_is_honoured_then_success) {
  openai_stub_server server;
  server.enqueue(test::stub_error(429, "rate limited", "1"));
  server.enqueue(test::stub_completion("after the wait"));
  fixture_config f(server);
  f.config.sleep = nullptr;  // really wait
  auto start = std::chrono::steady_clock::now();
  auto r = llm_chat(f.config, user_says("q"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "after the wait");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->retry_wait_seconds, 1.0);
  EXPECT_GE(took, 1.0);
  EXPECT_GE(r->elapsed_seconds, 1.0);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(llm_client, retry_after_is_capped) {
  openai_stub_server server;
  server.enqueue(test::stub_error(503, "maintenance", "3600"));
  server.enqueue(test::stub_completion("back"));
  fixture_config f(server);
  f.config.retry_after_max_seconds = 2.5;
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(*f.waits, (std::vector<double>{2.5}));
}

TEST(llm_client, server_errors_are_retried_with_jittered_backoff) {
  openai_stub_server server;
  server.enqueue(test::stub_error(500, "boom"));
  server.enqueue(test::stub_error(502, "bad gateway"));
  server.enqueue(test::stub_error(504, "gateway timeout"));
  server.enqueue(test::stub_completion("fine"));
  fixture_config f(server);
  f.config.backoff_base_seconds = 0.1;
  f.config.backoff_max_seconds = 0.3;
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "fine");
  EXPECT_EQ(r->attempts, 4);
  ASSERT_EQ(f.waits->size(), 3u);
  // full jitter: uniform(0, min(max, base * 2^n)) for n = 0, 1, 2
  const double caps[] = {0.1, 0.2, 0.3};
  double total = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GE((*f.waits)[i], 0.0);
    EXPECT_LE((*f.waits)[i], caps[i]);
    total += (*f.waits)[i];
  }
  EXPECT_DOUBLE_EQ(r->retry_wait_seconds, total);
}

TEST(llm_client, retries_exhausted_says_how_many_and_the_last_status) {
  openai_stub_server server;
  server.set_script([](const test::stub_request&) { return test::stub_error(503, "model overloaded"); });
  fixture_config f(server);
  f.config.max_retries = 2;
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST " + server.base_url() +
                "/chat/completions: gave up after 3 attempts; last error: HTTP 503: model overloaded");
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(llm_client, unknown_model_gives_404_message_without_retry) {
  openai_stub_server server;
  server.enqueue(test::stub_error(404, "The model `nope` does not exist."));
  fixture_config f(server);
  f.config.model = "nope";
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  std::string url = server.base_url() + "/chat/completions";
  EXPECT_EQ(r.message(),
            "POST " + url + ": model 'nope' not found at " + url +
                " (HTTP 404): The model `nope` does not exist. (check the model name and the base URL)");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(llm_client, bad_key_gives_401_message_naming_the_variable) {
  openai_stub_server server;
  server.enqueue(test::stub_error(401, "Invalid token"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "POST " + server.base_url() +
                             "/chat/completions: authentication failed (HTTP 401): check the API key in "
                             "$SMELT_TEST_KEY: Invalid token");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(llm_client, other_4xx_shows_the_server_message_without_retry) {
  openai_stub_server server;
  server.enqueue(test::stub_error(400, "max_tokens must be at most 8192"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST " + server.base_url() + "/chat/completions: HTTP 400: max_tokens must be at most 8192");
  EXPECT_EQ(server.request_count(), 1u);
}

// A port on 127.0.0.1 nobody listens on: bind an ephemeral one and close it again.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(llm_client, unreachable_endpoint_says_connection_refused) {
  llm_config config;
  int port = closed_port();
  config.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  config.model = "m";
  config.sleep = [](double) {};
  auto r = llm_chat(config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST http://127.0.0.1:" + std::to_string(port) +
                "/v1/chat/completions: cannot connect (connection refused) — is the server running?");
}

TEST(llm_client, slow_server_times_out_per_request) {
  openai_stub_server server;
  server.set_script(
      [](const test::stub_request&) { return test::stub_delayed(test::stub_completion("late"), 5); });
  fixture_config f(server);
  f.config.timeout_seconds = 0.3;
  f.config.max_retries = 1;
  auto start = std::chrono::steady_clock::now();
  auto r = llm_chat(f.config, user_says("q"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST " + server.base_url() +
                "/chat/completions: gave up after 2 attempts; last error: timed out after 0.3 s (the "
                "per-request timeout)");
  EXPECT_GE(took, 0.55);  // two 0.3 s attempts; curl's timer may fire a millisecond or so early
  EXPECT_LT(took, 3.0);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(llm_client, slow_answer_within_timeout_succeeds) {
  openai_stub_server server;
  server.enqueue(test::stub_delayed(test::stub_completion("slow but fine"), 0.4));
  fixture_config f(server);
  f.config.timeout_seconds = 3;
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "slow but fine");
  EXPECT_EQ(r->attempts, 1);
  EXPECT_GE(r->elapsed_seconds, 0.4);
}

TEST(llm_client, dropped_connection_is_retried) {
  openai_stub_server server;
  server.enqueue(test::stub_drop());
  server.enqueue(test::stub_completion("second time lucky"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "second time lucky");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(llm_client, dropped_connection_every_time_names_the_cause) {
  openai_stub_server server;
  server.set_script([](const test::stub_request&) { return test::stub_drop(); });
  fixture_config f(server);
  f.config.max_retries = 1;
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST " + server.base_url() +
                "/chat/completions: gave up after 2 attempts; last error: connection dropped (Empty "
                "reply from server)");
}

TEST(llm_client, truncated_body_is_retried) {
  openai_stub_server server;
  auto cut = test::stub_completion("this answer is cut off");
  cut.action = test::stub_action::stub_action_truncate;
  cut.truncate_at = 20;
  server.enqueue(cut);
  server.enqueue(test::stub_completion("complete"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "complete");
  EXPECT_EQ(r->attempts, 2);
}

TEST(llm_client, stream_dropped_midway_restarts_with_next_attempt_number) {
  openai_stub_server server;
  auto cut = test::stub_stream({"par", "tial"});
  cut.events.resize(3);  // role chunk + two pieces, no finish, no [DONE]
  cut.action = test::stub_action::stub_action_truncate;
  server.enqueue(cut);
  server.enqueue(test::stub_stream({"whole ", "answer"}));
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  std::vector<std::pair<int, std::string>> seen;
  req.on_delta = [&](const chat_delta& d) { seen.emplace_back(d.attempt, std::string(d.content)); };
  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "whole answer");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{
                      {1, "par"}, {1, "tial"}, {2, "whole "}, {2, "answer"}}));
}

TEST(llm_client, stream_without_done_is_retried) {
  openai_stub_server server;
  auto cut = test::stub_stream({"par", "tial"});
  cut.events.resize(3);  // ends cleanly but without finish_reason or [DONE]
  server.enqueue(cut);
  server.enqueue(test::stub_stream({"ok"}));
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  auto r = llm_chat(f.config, req);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->content, "ok");
  EXPECT_EQ(r->attempts, 2);
}

TEST(llm_client, malformed_json_is_reported_with_the_body) {
  openai_stub_server server;
  server.enqueue(test::stub_raw(200, "{\"choices\": [{\"message\": "));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "POST " + server.base_url() +
                "/chat/completions: response is not a JSON object: {\"choices\": [{\"message\":");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(llm_client, answer_without_choices_is_an_error) {
  openai_stub_server server;
  server.enqueue(test::stub_raw(200, R"({"id":"x","choices":[]})"));
  fixture_config f(server);
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "POST " + server.base_url() +
                             "/chat/completions: response has no choices: {\"id\":\"x\",\"choices\":[]}");
}

TEST(llm_client, malformed_stream_event_is_an_error) {
  openai_stub_server server;
  auto s = test::stub_stream({"a"});
  s.events[1] = "{not json";
  server.enqueue(s);
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  auto r = llm_chat(f.config, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "POST " + server.base_url() +
                             "/chat/completions: stream event 2 is not a JSON object: {not json");
}

TEST(llm_client, error_inside_stream_is_reported) {
  openai_stub_server server;
  auto s = test::stub_stream({"a"});
  s.events.insert(s.events.begin() + 1, R"({"error":{"message":"context length exceeded"}})");
  server.enqueue(s);
  fixture_config f(server);
  chat_request req = user_says("q");
  req.stream = true;
  auto r = llm_chat(f.config, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "POST " + server.base_url() +
                             "/chat/completions: server error in stream: context length exceeded");
}

TEST(llm_client, missing_configuration_is_reported) {
  llm_config config;
  config.model = "m";
  auto r = llm_chat(config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.message(),
      "llm: no base URL configured: give the OpenAI-compatible endpoint, e.g. https://api.siliconflow.cn/v1");
  config.base_url = "http://127.0.0.1:1/v1";
  config.model = "";
  r = llm_chat(config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "llm: no model configured: give the model name the server expects");
}

TEST(llm_client, api_key_comes_from_the_named_variable) {
  ::setenv("SMELT_LLM_TEST_KEY", " sk-abc \n", 1);
  auto key = llm_api_key_from_env("SMELT_LLM_TEST_KEY");
  ASSERT_TRUE(key.ok()) << key.message();
  EXPECT_EQ(*key, "sk-abc");
  ::unsetenv("SMELT_LLM_TEST_KEY");
  key = llm_api_key_from_env("SMELT_LLM_TEST_KEY");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(
      key.message(),
      "missing API key: environment variable SMELT_LLM_TEST_KEY is not set (export SMELT_LLM_TEST_KEY=<your "
      "key>)");
  ::setenv("SMELT_LLM_TEST_KEY", "", 1);
  key = llm_api_key_from_env("SMELT_LLM_TEST_KEY");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(
      key.message(),
      "missing API key: environment variable SMELT_LLM_TEST_KEY is empty (export SMELT_LLM_TEST_KEY=<your "
      "key>)");
  ::unsetenv("SMELT_LLM_TEST_KEY");
}

TEST(llm_client, no_key_sent_and_401_says_to_set_the_variable) {
  openai_stub_server server;
  server.enqueue(test::stub_error(401, "missing bearer token"));
  fixture_config f(server);
  f.config.api_key = "";
  auto r = llm_chat(f.config, user_says("q"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "POST " + server.base_url() +
                             "/chat/completions: authentication failed (HTTP 401): no API key was sent: set "
                             "$SMELT_TEST_KEY: missing bearer token");
}

TEST(llm_client, retry_after_parsing) {
  EXPECT_EQ(llm_parse_retry_after("7"), 7.0);
  EXPECT_EQ(llm_parse_retry_after(" 0 "), 0.0);
  EXPECT_EQ(llm_parse_retry_after("soon"), std::nullopt);
  EXPECT_EQ(llm_parse_retry_after(""), std::nullopt);
  EXPECT_EQ(llm_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0);  // in the past: no wait
  // An HTTP-date 30 s ahead.
  std::time_t ahead = std::time(nullptr) + 30;
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&ahead));
  auto s = llm_parse_retry_after(buf);
  ASSERT_TRUE(s.has_value()) << buf;
  EXPECT_GE(*s, 28.0);
  EXPECT_LE(*s, 30.0);
}

TEST(llm_client, chat_url_is_built_from_the_base) {
  llm_config c;
  c.base_url = "https://api.siliconflow.cn/v1";
  EXPECT_EQ(llm_chat_url(c), "https://api.siliconflow.cn/v1/chat/completions");
  c.base_url = "http://localhost:11434/v1/";
  EXPECT_EQ(llm_chat_url(c), "http://localhost:11434/v1/chat/completions");
  c.base_url = "http://h/v1/chat/completions";
  EXPECT_EQ(llm_chat_url(c), "http://h/v1/chat/completions");
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(llm_client, cancel_flag_stops_a_request_in_progress) {
  test::openai_stub_server server;
  server.enqueue(test::stub_delayed(test::stub_completion("too late"), 8));
  llm_config config;
  config.base_url = server.base_url();
  config.model = "stub-model";
  std::atomic<bool> cancel{false};
  config.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto r = llm_chat(config, user_says("q"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "cancelled");
  EXPECT_LT(took, 3.0);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(llm_client, cancel_flag_cuts_a_retry_wait_short) {
  test::openai_stub_server server;
  server.enqueue(test::stub_error(429, "slow down", "30"));
  llm_config config;
  config.base_url = server.base_url();
  config.model = "stub-model";
  std::atomic<bool> cancel{false};
  config.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto r = llm_chat(config, user_says("q"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "cancelled");
  EXPECT_LT(took, 2.0);
  EXPECT_EQ(server.request_count(), 1u);
}

}  // namespace
}  // namespace smelt
