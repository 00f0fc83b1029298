// Corpus generation throughput, end to end: synthetic documents -> plan_from_documents -> corpus_build
// (llm generator) against the scripted OpenAI stub with a fixed 500 ms latency. Reports accepted pairs
// per minute at concurrency 1, 8, 32, 64 (should scale near-linearly) and smelt's own CPU time per
// request: prompt rendering, libcurl, salvage parsing, grounding, validation, dedup, journal (with its
// fsyncs) and output files. The stub runs in a forked child so its CPU time is not counted as smelt's;
// it answers every request with as many pairs as asked, quoting sentences of the requested chunk.
// Usage: corpus_bench [LATENCY_S=0.5] [REQUESTS_PER_SLOT=4]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "corpus/builder.h"
#include "corpus/plan.h"
#include "corpus/prompts.h"
#include "extract/document.h"
#include "support/openai_stub_server.h"

namespace {

namespace fs = std::filesystem;
using smelt::test::openai_stub_server;
using smelt::test::stub_reply;
using smelt::test::stub_request;

constexpr size_t pairs_per_request = 10;      // the default prompt's cap; the quota per chunk
constexpr size_t sentences_per_section = 12;  // more than asked, so the stub can always answer in full
constexpr size_t sections_per_document = 16;

// Deterministic pseudo-words ("kalomi", "tenvifen", ...) so every sentence, hence every question, differs.
struct word_source {
  unsigned long long counter = 0;
  std::string word() {
    static const char* const syllables[] = {"ka", "lo", "mi", "ra", "te",  "su",  "no",  "vi",
                                            "de", "po", "ba", "gu", "lan", "mor", "fen", "tis"};
    unsigned long long z = (counter += 0x9e3779b97f4a7c15ULL);  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::string w;
    for (int i = 0; i < 3; ++i, z >>= 4) w += syllables[z % 16];
    return w;
  }
};

// Documents with `sections` sections in all; each section (about 1,100 characters) becomes one chunk
// at chunk_size 1500. Sentence n: "The W1 W2 at station n keeps K crates of W3 beside the W4 gate."
std::vector<smelt::document> bench_documents(size_t sections) {
  word_source words;
  std::vector<smelt::document> docs;
  size_t station = 0;
  for (size_t s = 0; s < sections; ++s) {
    if (s % sections_per_document == 0) {
      docs.emplace_back();
      docs.back().source = "bench_" + std::to_string(docs.size()) + ".md";
      smelt::document_add_heading(docs.back(), 1, "Depot register " + std::to_string(docs.size()));
    }
    smelt::document& doc = docs.back();
    smelt::document_add_heading(doc, 2, "Yard " + std::to_string(s + 1) + ": " + words.word());
    std::string paragraph;
    for (size_t i = 0; i < sentences_per_section; ++i) {
      ++station;
      if (!paragraph.empty()) paragraph += ' ';
      paragraph += "The " + words.word() + " " + words.word() + " at station " + std::to_string(station) +
                   " keeps " + std::to_string(station % 90 + 10) + " crates of " + words.word() +
                   " beside the " + words.word() + " gate.";
    }
    smelt::document_add_paragraph(doc, std::move(paragraph));
  }
  return docs;
}

// The stub's answer: the excerpt is cut out of the default prompt's user message (between "<<<" and
// ">>>"), and each of the first COUNT sentences whose question is not listed as already asked becomes a
// pair quoting it verbatim.
stub_reply bench_answer(const stub_request& r, double latency) {
  std::string user;
  for (const auto& m : r.json["messages"])
    if (m["role"] == "user") user = m["content"].get<std::string>();
  size_t open = user.find("<<<\n"), close = user.rfind("\n>>>");
  std::string excerpt =
      open == std::string::npos || close == std::string::npos ? "" : user.substr(open + 4, close - open - 4);
  std::smatch m;
  size_t count = std::regex_search(user, m, std::regex("Write (\\d+) question")) ? std::stoul(m[1]) : 0;
  static const std::regex sentence(
      "The (\\w+) (\\w+) at station (\\d+) keeps (\\d+) crates of (\\w+) beside the (\\w+) gate\\.");
  nlohmann::json items = nlohmann::json::array();
  for (auto it = std::sregex_iterator(excerpt.begin(), excerpt.end(), sentence);
       it != std::sregex_iterator() && items.size() < count; ++it) {
    const std::smatch& s = *it;
    std::string thing = s[1].str() + " " + s[2].str(), station = s[3].str(), crates = s[4].str(),
                goods = s[5].str(), gate = s[6].str();
    // Several phrasings, as a model varies them; every question names three of its sentence's random words.
    std::string question;
    switch (std::stoi(station) % 5) {
      case 0:
        question = "How many crates of " + goods + " does the " + thing + " at station " + station + " keep?";
        break;
      case 1:
        question = "Where does the " + thing + " at station " + station + " keep its " + goods + " crates?";
        break;
      case 2:
        question = "Which gate is the " + thing + " at station " + station + " next to?";
        break;
      case 3:
        question = "what's stored by the " + thing + " at station " + station + ", and how much of it";
        break;
      default:
        question =
            "Is there any " + goods + " at the " + thing + " (station " + station + ")? how many crates";
        break;
    }
    if (user.find(question) != std::string::npos) continue;  // listed as already asked (a top-up)
    items.push_back({{"question", question},
                     {"answer", "The " + thing + " at station " + station + " keeps " + crates +
                                    " crates of " + goods + ", beside the " + gate + " gate."},
                     {"quote", s[0].str()}});
  }
  return smelt::test::stub_delayed(smelt::test::stub_completion(items.dump()), latency);
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
    server.set_script([latency](const stub_request& r) { return bench_answer(r, latency); });
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
  size_t chunks = 0;
  double wall = 0;
  double cpu = 0;
  smelt::corpus_report report;
  std::string error;  // corpus_build's error, or a stop that was not "complete"
};

// One corpus_build of `sections` chunks at `concurrency`, into a fresh temporary directory.
level_result run_level(const std::string& base_url, int concurrency, size_t sections) {
  level_result r;
  r.concurrency = concurrency;
  smelt::plan_settings settings;
  settings.spec = smelt::corpus_prompt_default();
  settings.trigger = "你是仓库管理专家";
  settings.model = "stub-model";
  settings.chunk_size = 1500;
  settings.language = "en";
  settings.quota = {smelt::quota_mode::per_chunk, static_cast<double>(pairs_per_request)};
  auto plan = smelt::plan_from_documents(bench_documents(sections), settings);
  if (!plan) {
    r.error = plan.message();
    return r;
  }
  r.chunks = plan->units.size();

  std::string pattern = (fs::temp_directory_path() / "smelt_corpus_bench_XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    r.error = "corpus_bench: cannot create a temporary directory under " + fs::temp_directory_path().string();
    return r;
  }
  fs::path dir = pattern;
  smelt::corpus_options options;
  options.settings = settings;
  options.out = dir / "out.jsonl";
  options.generator = smelt::corpus_generator::llm;
  options.llm.base_url = base_url;
  options.llm.model = settings.model;
  options.llm.concurrency = concurrency;
  options.llm.timeout_seconds = 30;
  options.show_progress = false;

  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  auto report = smelt::corpus_build(*plan, options);
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = cpu_seconds() - cpu0;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  if (!report) {
    r.error = report.message();
    return r;
  }
  r.report = std::move(*report);
  if (r.report.stop != "complete") r.error = "stopped (" + r.report.stop + "): " + r.report.message;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double latency = argc > 1 ? std::atof(argv[1]) : 0.5;
  int per_slot = argc > 2 ? std::atoi(argv[2]) : 4;
  if (argc > 3 || latency <= 0 || per_slot <= 0) {
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

  // Warm-up: first connections, lazy initialisation (libcurl, regexes, validation profile).
  level_result warm = run_level(base_url, 2, 2);
  int failures = warm.error.empty() ? 0 : 1;
  size_t stub_requests = warm.report.requests_sent;
  if (!warm.error.empty()) std::fprintf(stderr, "corpus_bench: warm-up: %s\n", warm.error.c_str());

  std::printf(
      "corpus_bench: corpus_build end to end, stub latency %.0f ms, %zu pairs per request, "
      "one request per chunk, fresh output directory per level\n\n",
      latency * 1000, pairs_per_request);
  std::printf("%11s %8s %7s %8s %10s %10s %6s %5s %14s\n", "concurrency", "requests", "wall_s", "accepted",
              "pairs/min", "ideal/min", "eff", "peak", "cpu_ms/request");
  for (int c : {1, 8, 32, 64}) {
    size_t sections = static_cast<size_t>(std::max(8, per_slot * c));
    level_result r = run_level(base_url, c, sections);
    const smelt::corpus_report& rep = r.report;
    size_t requests = rep.requests_sent;
    stub_requests += requests;
    double per_min = r.wall > 0 ? static_cast<double>(rep.lines_new) / r.wall * 60 : 0;
    double ideal = c * static_cast<double>(pairs_per_request) / latency * 60;
    std::printf("%11d %8zu %7.2f %8zu %10.0f %10.0f %5.0f%% %5d %14.2f\n", c, requests, r.wall, rep.lines_new,
                per_min, ideal, 100 * per_min / ideal, rep.peak_in_flight,
                requests ? 1000 * r.cpu / static_cast<double>(requests) : 0.0);
    std::fflush(stdout);
    // The stub's answers are all good: any rejection, failure or missing pair is the bench's defect.
    size_t rejected = 0;
    for (const auto& [reason, n] : rep.rejections) rejected += n;
    if (!r.error.empty() || rep.requests_failed > 0 || rejected > 0 || requests != r.chunks ||
        rep.lines_new != r.chunks * pairs_per_request) {
      std::fprintf(stderr,
                   "corpus_bench: concurrency %d: %zu chunks, %zu requests sent, %zu failed, %zu pairs "
                   "rejected, %zu accepted%s%s\n",
                   c, r.chunks, requests, rep.requests_failed, rejected, rep.lines_new,
                   r.error.empty() ? "" : ": ", r.error.c_str());
      for (const auto& [reason, n] : rep.rejections)
        std::fprintf(stderr, "  rejected %zu as %s\n", n, reason.c_str());
      for (size_t i = 0; i < rep.rejected.size() && i < 3; ++i)
        std::fprintf(stderr, "  e.g. %s %s: %s (%s)\n", rep.rejected[i].file.c_str(),
                     rep.rejected[i].chunk_id.c_str(), rep.rejected[i].question.c_str(),
                     rep.rejected[i].detail.c_str());
      ++failures;
    }
  }
  close(control_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  // The stub shares this machine's cores: its CPU (JSON, regex, HTTP) is the load smelt ran beside.
  rusage stub{};
  getrusage(RUSAGE_CHILDREN, &stub);
  double stub_cpu = static_cast<double>(stub.ru_utime.tv_sec + stub.ru_stime.tv_sec) +
                    static_cast<double>(stub.ru_utime.tv_usec + stub.ru_stime.tv_usec) / 1e6;
  std::printf("\nstub server (forked child, not counted above): %.2f ms CPU per request over %zu requests\n",
              stub_requests ? 1000 * stub_cpu / static_cast<double>(stub_requests) : 0.0, stub_requests);
  return failures > 0 ? 1 : 0;
}
