// Worker threads pulling chat requests from a queue (see llm_pool.h). The HTTP work is llm_chat's.
#include "llm/llm_pool.h"

#include <algorithm>

namespace smelt {

llm_pool::llm_pool(llm_config config) : config_(std::move(config)) {
  int n = std::max(1, config_.concurrency);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker(); });
}

llm_pool::~llm_pool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void llm_pool::submit(chat_request request, callback done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(job{std::move(request), std::move(done)});
    ++stats_.submitted;
  }
  work_ready_.notify_one();
}

void llm_pool::wait() {
  std::unique_lock lock(mutex_);
  all_done_.wait(lock, [this] { return stats_.completed == stats_.submitted; });
}

void llm_pool::cancel() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
  }
  work_ready_.notify_all();
}

llm_pool_stats llm_pool::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void llm_pool::worker() {
  for (;;) {
    job j;
    bool skip = false;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      j = std::move(queue_.front());
      queue_.pop_front();
      skip = cancelled_;
      if (!skip) {
        ++stats_.in_flight;
        stats_.peak_in_flight = std::max(stats_.peak_in_flight, stats_.in_flight);
      }
    }
    result<chat_response> r =
        skip ? result<chat_response>(make_error("cancelled")) : llm_chat(config_, j.request);
    bool failed = !r.ok();
    if (!skip) {
      std::lock_guard lock(mutex_);
      --stats_.in_flight;
    }
    if (j.done) j.done(std::move(r));
    {
      std::lock_guard lock(mutex_);
      ++stats_.completed;
      if (failed) ++stats_.failed;
    }
    all_done_.notify_all();
  }
}

}  // namespace smelt
