// Corpus generation throughput against a local OpenAI-compatible stub with a fixed 500 ms latency:
// accepted pairs per minute at concurrency 1, 8, 32, 64 (should scale near-linearly) and smelt's own
// CPU time per request. The stub runs in a forked child so its CPU time is not counted as smelt's.
// Per request it does what the corpus builder does for one chunk: render the default prompt, send it
// through llm_pool (libcurl), salvage-parse the answer, ground every quote in the chunk. Journal,
// dedup and file output are left out (they are per accepted line, not per request, and the builder's).
// Usage: corpus_bench [LATENCY_S=0.5] [REQUESTS_PER_SLOT=4]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "corpus/grounding.h"
#include "corpus/prompts.h"
#include "corpus/salvage.h"
#include "llm/llm_pool.h"
#include "support/openai_stub_server.h"

namespace {

using smelt::test::openai_stub_server;
using smelt::test::stub_reply;

// A chunk about the size the chunker produces by default (a few hundred words), Chinese and English.
std::string bench_chunk() {
  std::string text = "# 家用火灾报警器的安装与维护\n\n";
  for (int i = 1; i <= 6; ++i) {
    text += "第" + std::to_string(i) +
            "条 烟雾报警器应安装在卧室、客厅和走廊的天花板中央，距离墙壁不少于 0.5 米，并且每月按一次测试"
            "按钮检查报警声是否正常。";
    text += " Section " + std::to_string(i) +
            " requires a smoke alarm on every floor, tested once a month and "
            "replaced ten years after the date printed on its back. ";
    text += "\n\n";
  }
  return text;
}

// Ten items: eight quotes verbatim, one re-punctuated (fuzzy match), one invented (rejected by grounding).
std::string bench_answer() {
  std::string a = "[";
  for (int i = 1; i <= 8; ++i) {
    a += "{\"question\": \"第" + std::to_string(i) + "条说报警器装在哪儿、多久测一次？\", \"answer\": \"" +
         "装在卧室、客厅和走廊的天花板中央，距离墙壁不少于 0.5 米，每月测试一次。\", \"quote\": \"Section " +
         std::to_string(i) + " requires a smoke alarm on every floor, tested once a month\"},\n";
  }
  a += "{\"question\": \"报警器离墙要多远？\", \"answer\": \"不少于 0.5 米。\", \"quote\": "
       "\"烟雾报警器应安装在卧室,客厅和走廊的天花板中央 距离墙壁不少于0.5米\"},\n";
  a += "{\"question\": \"报警器要接市电吗？\", \"answer\": \"需要。\", \"quote\": "
       "\"all alarms must be wired to the mains supply by a licensed electrician\"}]";
  return a;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Child: serve until the parent closes its end of `control`, reporting the port through `port_out`.
[[noreturn]] void run_stub(int port_out, int control, double latency) {
  {
    openai_stub_server server;
    std::string answer = bench_answer();
    server.set_script([answer, latency](const smelt::test::stub_request&) {
      return smelt::test::stub_delayed(smelt::test::stub_completion(answer), latency);
    });
    int port = server.port();
    if (write(port_out, &port, sizeof port) != sizeof port) _exit(1);
    close(port_out);
    char c;
    while (read(control, &c, 1) > 0) {
    }
  }
  _exit(0);
}

struct level_result {
  int concurrency = 0;
  int requests = 0;
  double wall = 0;
  double cpu = 0;
  long long accepted = 0;
  long long failed = 0;
  int peak = 0;
};

level_result run_level(const std::string& base_url, int concurrency, int requests, const std::string& chunk) {
  smelt::prompt_spec spec = smelt::corpus_prompt_default();
  smelt::llm_config config;
  config.base_url = base_url;
  config.model = "stub-model";
  config.concurrency = concurrency;
  config.timeout_seconds = 30;

  level_result r;
  r.concurrency = concurrency;
  r.requests = requests;
  std::mutex mutex;
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  {
    smelt::llm_pool pool(config);
    for (int i = 0; i < requests; ++i) {
      std::map<std::string, std::string> values = {{"trigger", "你是消防系统专家"},
                                                   {"text", chunk},
                                                   {"count", "10"},
                                                   {"heading", "家用火灾报警器的安装与维护"},
                                                   {"avoid", smelt::corpus_avoid_block({})},
                                                   {"language", "Chinese"}};
      smelt::chat_request req;
      req.messages.push_back({"system", smelt::prompt_render(spec.system_template, values)});
      req.messages.push_back({"user", smelt::prompt_render(spec.user_template, values)});
      req.temperature = spec.temperature;
      req.frequency_penalty = spec.frequency_penalty;
      req.max_tokens = spec.max_tokens;
      pool.submit(std::move(req), [&](smelt::result<smelt::chat_response> answer) {
        long long ok = 0;
        if (answer) {
          smelt::salvage_result items = smelt::salvage_parse(answer->content);
          for (const auto& item : items.items)
            if (smelt::grounding_find(item.quote, chunk).found) ++ok;
        }
        std::lock_guard lock(mutex);
        r.accepted += ok;
        if (!answer) ++r.failed;
      });
    }
    pool.wait();
    r.peak = pool.stats().peak_in_flight;
  }
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = cpu_seconds() - cpu0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double latency = argc > 1 ? std::atof(argv[1]) : 0.5;
  int per_slot = argc > 2 ? std::atoi(argv[2]) : 4;
  if (latency <= 0 || per_slot <= 0) {
    std::fprintf(stderr, "usage: corpus_bench [LATENCY_S=0.5] [REQUESTS_PER_SLOT=4]\n");
    return 2;
  }
  int port_pipe[2], control_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(control_pipe) != 0) {
    std::perror("corpus_bench: pipe");
    return 1;
  }
  pid_t child = fork();  // before any thread exists in this process
  if (child < 0) {
    std::perror("corpus_bench: fork");
    return 1;
  }
  if (child == 0) {
    close(port_pipe[0]);
    close(control_pipe[1]);
    run_stub(port_pipe[1], control_pipe[0], latency);
  }
  close(port_pipe[1]);
  close(control_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "corpus_bench: the stub server did not start\n");
    return 1;
  }
  std::string base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  std::string chunk = bench_chunk();

  run_level(base_url, 2, 2, chunk);  // warm-up: first connections, lazy initialisation

  std::printf(
      "corpus_bench: stub latency %.0f ms, 10 pairs per answer (9 pass grounding), chunk %zu bytes\n\n",
      latency * 1000, chunk.size());
  std::printf("%11s %8s %7s %8s %10s %10s %6s %5s %14s\n", "concurrency", "requests", "wall_s", "accepted",
              "pairs/min", "ideal/min", "eff", "peak", "cpu_ms/request");
  int failures = 0;
  for (int c : {1, 8, 32, 64}) {
    int requests = std::max(8, per_slot * c);
    level_result r = run_level(base_url, c, requests, chunk);
    double per_min = static_cast<double>(r.accepted) / r.wall * 60;
    double ideal = c * 9.0 / latency * 60;
    std::printf("%11d %8d %7.2f %8lld %10.0f %10.0f %5.0f%% %5d %14.2f\n", c, r.requests, r.wall, r.accepted,
                per_min, ideal, 100 * per_min / ideal, r.peak, 1000 * r.cpu / r.requests);
    std::fflush(stdout);
    failures += static_cast<int>(r.failed);
  }
  close(control_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  if (failures > 0) {
    std::fprintf(stderr, "corpus_bench: %d requests failed\n", failures);
    return 1;
  }
  return 0;
}
