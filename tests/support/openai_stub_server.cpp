// The scripted OpenAI chat-completions server (see openai_stub_server.h), on cpp-httplib. Requests in
// flight are counted from the handler's start until just before the last byte of the answer is written, so
// a client that saw its answer complete is never still counted.
#include "openai_stub_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace smelt::test {

using json = nlohmann::json;

stub_reply stub_completion(const std::string& content, const std::string& finish_reason,
                           const json& message_extra) {
  json message = {{"role", "assistant"}, {"content", content}};
  for (auto it = message_extra.begin(); it != message_extra.end(); ++it) message[it.key()] = it.value();
  json body = {
      {"id", "chatcmpl-stub"},
      {"object", "chat.completion"},
      {"created", 1700000000},
      {"model", "stub-model"},
      {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish_reason}}})},
      {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}, {"total_tokens", 18}}}};
  stub_reply r;
  r.body = body.dump();
  return r;
}

stub_reply stub_stream(const std::vector<std::string>& pieces, const std::string& finish_reason,
                       const std::vector<std::string>& reasoning_pieces) {
  auto chunk = [](json delta, json finish) {
    return json{{"id", "chatcmpl-stub"},
                {"object", "chat.completion.chunk"},
                {"created", 1700000000},
                {"model", "stub-model"},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}}
        .dump();
  };
  stub_reply r;
  r.content_type = "text/event-stream";
  r.events.push_back(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
  for (const std::string& p : reasoning_pieces)
    r.events.push_back(chunk({{"reasoning_content", p}}, nullptr));
  for (const std::string& p : pieces) r.events.push_back(chunk({{"content", p}}, nullptr));
  r.events.push_back(chunk(json::object(), finish_reason));
  r.events.push_back(json{{"id", "chatcmpl-stub"},
                          {"object", "chat.completion.chunk"},
                          {"model", "stub-model"},
                          {"choices", json::array()},
                          {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}, {"total_tokens", 18}}}}
                         .dump());
  r.events.push_back("[DONE]");
  return r;
}

stub_reply stub_error(int status, const std::string& message, const std::string& retry_after) {
  stub_reply r;
  r.status = status;
  r.body = json{{"error", {{"message", message}, {"type", "stub_error"}, {"code", status}}}}.dump();
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", retry_after);
  return r;
}

stub_reply stub_raw(int status, const std::string& body, const std::string& content_type) {
  stub_reply r;
  r.status = status;
  r.body = body;
  r.content_type = content_type;
  return r;
}

stub_reply stub_drop() {
  stub_reply r;
  r.action = stub_action::stub_action_drop;
  return r;
}

stub_reply stub_delayed(stub_reply reply, double seconds) {
  reply.delay_seconds = seconds;
  return reply;
}

struct openai_stub_server::state {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::deque<stub_reply> queue;
  script fallback;
  std::vector<std::string> models{"stub-model"};
  std::vector<stub_request> requests;
  int in_flight = 0;
  int peak = 0;

  // Waits, but returns false at once when the server is stopping.
  bool sleep(double seconds) {
    std::unique_lock lock(mutex);
    return !stop_cv.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopping; });
  }

  void flight_end() {
    std::lock_guard lock(mutex);
    --in_flight;
  }

  // Closes this request's connection without a response: cpp-httplib does not hand out its sockets, so
  // find ours among the process's descriptors by the two ports and shut it down (httplib still owns it
  // and closes it when its write fails).
  void drop_connection(const httplib::Request& req) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return;
    while (dirent* entry = ::readdir(dir)) {
      char* end = nullptr;
      long fd = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0') continue;
      sockaddr_in local{}, peer{};
      socklen_t local_len = sizeof local, peer_len = sizeof peer;
      if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
      if (local.sin_family != AF_INET || ntohs(local.sin_port) != port) continue;
      if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
      if (ntohs(peer.sin_port) != req.remote_port) continue;
      ::shutdown(static_cast<int>(fd), SHUT_RDWR);
    }
    ::closedir(dir);
  }

  void handle_chat(const httplib::Request& req, httplib::Response& res);
};

namespace {

// Ends one request's in-flight span exactly once, whichever path gets there first.
struct flight_token {
  std::atomic<bool> ended{false};
  std::function<void()> end_fn;
  void end() {
    if (!ended.exchange(true)) end_fn();
  }
};

}  // namespace

void openai_stub_server::state::handle_chat(const httplib::Request& req, httplib::Response& res) {
  stub_reply reply;
  {
    std::lock_guard lock(mutex);
    stub_request r;
    r.index = static_cast<int>(requests.size());
    r.method = req.method;
    r.path = req.path;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      r.headers[lower] = value;
    }
    r.body = req.body;
    r.json = json::parse(req.body, nullptr, false);
    if (r.json.is_discarded()) r.json = nullptr;
    if (!queue.empty()) {
      reply = std::move(queue.front());
      queue.pop_front();
    } else if (fallback) {
      reply = fallback(r);  // under the lock: scripts need no locking of their own
    } else {
      reply = stub_completion("ok");
    }
    requests.push_back(std::move(r));
    ++in_flight;
    peak = std::max(peak, in_flight);
  }
  auto token = std::make_shared<flight_token>();  // shared by the handler and the content provider
  token->end_fn = [this] { flight_end(); };

  if (reply.delay_seconds > 0 && !sleep(reply.delay_seconds)) {
    token->end();
    res.status = 503;
    return;
  }
  if (reply.action == stub_action::stub_action_drop) {
    token->end();
    drop_connection(req);
    return;
  }
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  bool truncate = reply.action == stub_action::stub_action_truncate;
  auto release = [token](bool) { token->end(); };

  if (!reply.events.empty()) {
    auto events = std::make_shared<std::vector<std::string>>(std::move(reply.events));
    double gap = reply.event_delay_seconds;
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, token, events, gap, truncate](size_t, httplib::DataSink& sink) {
          for (size_t i = 0; i < events->size(); ++i) {
            if (i > 0 && gap > 0 && !sleep(gap)) return false;
            std::string frame = "data: " + (*events)[i] + "\n\n";
            if (!sink.write(frame.data(), frame.size())) return false;
          }
          token->end();
          if (truncate) return false;  // closes the connection without the final chunk
          sink.done();
          return true;
        },
        release);
    return;
  }
  if (reply.body.empty()) {
    token->end();
    res.set_content("", reply.content_type);
    return;
  }
  auto body = std::make_shared<std::string>(std::move(reply.body));
  size_t cut = std::min(reply.truncate_at, body->size());
  res.set_content_provider(
      body->size(), reply.content_type,
      [token, body, truncate, cut](size_t offset, size_t length, httplib::DataSink& sink) {
        if (truncate) {
          token->end();
          if (offset < cut) sink.write(body->data() + offset, cut - offset);
          return false;
        }
        token->end();
        return sink.write(body->data() + offset, length);
      },
      release);
}

openai_stub_server::openai_stub_server() : state_(std::make_unique<state>()) {
  std::signal(SIGPIPE, SIG_IGN);  // writes to connections the client already closed must not kill the test
  state& st = *state_;
  st.server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  st.server.set_keep_alive_max_count(1);  // one request per connection: "Connection: close", quick stops
  st.server.Post("/v1/chat/completions",
                 [&st](const httplib::Request& req, httplib::Response& res) { st.handle_chat(req, res); });
  st.server.Get("/v1/models", [&st](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    {
      std::lock_guard lock(st.mutex);
      for (const std::string& m : st.models)
        data.push_back({{"id", m}, {"object", "model"}, {"owned_by", "stub"}});
    }
    res.set_content(json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  });
  // cpp-httplib 0.11 listens with a backlog of 5, which drops (and delays by a SYN retransmit) the 6th of
  // many simultaneous connects; keep the listening socket to raise it once bound.
  int listen_fd = -1;
  st.server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  st.port = st.server.bind_to_any_port("127.0.0.1");
  if (st.port <= 0) throw std::runtime_error("openai_stub_server: cannot bind a port on 127.0.0.1");
  if (listen_fd >= 0) ::listen(listen_fd, 256);
  st.thread = std::thread([&st] { st.server.listen_after_bind(); });
  while (!st.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

openai_stub_server::~openai_stub_server() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->stop_cv.notify_all();
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

void openai_stub_server::enqueue(stub_reply reply) {
  std::lock_guard lock(state_->mutex);
  state_->queue.push_back(std::move(reply));
}

void openai_stub_server::set_script(script s) {
  std::lock_guard lock(state_->mutex);
  state_->fallback = std::move(s);
}

void openai_stub_server::set_models(std::vector<std::string> models) {
  std::lock_guard lock(state_->mutex);
  state_->models = std::move(models);
}

int openai_stub_server::port() const {
  return state_->port;
}

std::string openai_stub_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(state_->port) + "/v1";
}

std::vector<stub_request> openai_stub_server::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

size_t openai_stub_server::request_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests.size();
}

int openai_stub_server::in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->in_flight;
}

int openai_stub_server::peak_in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->peak;
}

}  // namespace smelt::test
