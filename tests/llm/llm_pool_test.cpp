// llm_pool against the stub server: the configured concurrency is reached exactly and never exceeded, as
// the server itself observes; every callback runs once; cancel() skips what has not started.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>

#include "llm/llm_pool.h"
#include "support/openai_stub_server.h"

namespace smelt {
namespace {

using test::openai_stub_server;

llm_config pool_config(const openai_stub_server& server, int concurrency) {
  llm_config c;
  c.base_url = server.base_url();
  c.model = "stub-model";
  c.concurrency = concurrency;
  c.timeout_seconds = 20;
  c.backoff_base_seconds = 0.01;
  c.backoff_max_seconds = 0.02;
  return c;
}

// Each request answers with its own user message after `delay` seconds.
void echo_after(openai_stub_server& server, double delay) {
  server.set_script([delay](const test::stub_request& r) {
    return test::stub_delayed(test::stub_completion(r.json["messages"][0]["content"].get<std::string>()),
                              delay);
  });
}

chat_request numbered(int i) {
  chat_request r;
  r.messages = {{"user", "request " + std::to_string(i)}};
  return r;
}

void run_pool(int concurrency, int requests) {
  openai_stub_server server;
  echo_after(server, 0.2);
  std::mutex mutex;
  std::set<std::string> answers;
  auto start = std::chrono::steady_clock::now();
  llm_pool_stats stats;
  {
    llm_pool pool(pool_config(server, concurrency));
    for (int i = 0; i < requests; ++i) {
      pool.submit(numbered(i), [&](result<chat_response> r) {
        ASSERT_TRUE(r.ok()) << r.message();
        std::lock_guard lock(mutex);
        answers.insert(r->content);
      });
    }
    pool.wait();
    stats = pool.stats();
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(answers.size(), static_cast<size_t>(requests));
  EXPECT_EQ(answers.count("request 0"), 1u);
  EXPECT_EQ(answers.count("request " + std::to_string(requests - 1)), 1u);
  EXPECT_EQ(server.request_count(), static_cast<size_t>(requests));
  EXPECT_EQ(server.peak_in_flight(), concurrency);  // reached, and never more
  EXPECT_EQ(stats.peak_in_flight, concurrency);
  EXPECT_EQ(stats.submitted, requests);
  EXPECT_EQ(stats.completed, requests);
  EXPECT_EQ(stats.failed, 0);
  EXPECT_EQ(stats.in_flight, 0);
  // `requests / concurrency` waves of 0.2 s each cannot finish sooner.
  EXPECT_GE(took, 0.2 * requests / concurrency - 0.01);
}

TEST(llm_pool, concurrency_8_with_32_requests_peaks_at_exactly_8) {
  run_pool(8, 32);
}

TEST(llm_pool, concurrency_3_never_exceeds_3) {
  run_pool(3, 10);
}

TEST(llm_pool, failures_reach_their_callbacks) {
  openai_stub_server server;
  server.set_script([](const test::stub_request& r) {
    std::string text = r.json["messages"][0]["content"].get<std::string>();
    if (text == "request 2") return test::stub_error(400, "bad request 2");
    return test::stub_completion(text);
  });
  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<int> ok{0};
  llm_pool pool(pool_config(server, 2));
  for (int i = 0; i < 5; ++i) {
    pool.submit(numbered(i), [&](result<chat_response> r) {
      if (r.ok()) {
        ++ok;
      } else {
        std::lock_guard lock(mutex);
        errors.push_back(r.message());
      }
    });
  }
  pool.wait();
  EXPECT_EQ(ok.load(), 4);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "POST " + server.base_url() + "/chat/completions: HTTP 400: bad request 2");
  EXPECT_EQ(pool.stats().failed, 1);
}

TEST(llm_pool, cancel_skips_requests_not_yet_started) {
  openai_stub_server server;
  echo_after(server, 0.3);
  std::atomic<int> ok{0}, cancelled{0};
  llm_pool pool(pool_config(server, 2));
  for (int i = 0; i < 10; ++i) {
    pool.submit(numbered(i), [&](result<chat_response> r) {
      if (r.ok()) {
        ++ok;
      } else if (r.message() == "cancelled") {
        ++cancelled;
      }
    });
  }
  while (server.request_count() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  pool.cancel();
  pool.wait();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(cancelled.load(), 8);
  EXPECT_EQ(server.request_count(), 2u);
}

}  // namespace
}  // namespace smelt
