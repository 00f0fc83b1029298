// Runs many chat requests against one endpoint with at most `config.concurrency` in flight, on worker
// threads, and counts how many were really in flight at once (for the corpus report). Ordering, journals
// and what a result means are the caller's.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"
#include "llm/llm_client.h"

namespace smelt {

struct llm_pool_stats {
  int in_flight = 0;
  int peak_in_flight = 0;  // most requests ever in llm_chat at the same moment
  long long submitted = 0;
  long long completed = 0;  // callbacks that have returned
  long long failed = 0;     // of those, how many got an error
};

class llm_pool {
 public:
  // Called on a worker thread, one call per request; must not throw. Different requests' callbacks may
  // run at the same time, so shared state needs the caller's own lock.
  using callback = std::function<void(result<chat_response>)>;

  explicit llm_pool(llm_config config);  // starts max(1, config.concurrency) workers
  ~llm_pool();                           // runs what is queued, then joins (cancel() first to drop it)
  llm_pool(const llm_pool&) = delete;
  llm_pool& operator=(const llm_pool&) = delete;

  void submit(chat_request request, callback done);  // never blocks; thread-safe
  void wait();    // until every request submitted so far has had its callback return
  void cancel();  // requests not yet started get the error "cancelled" instead of being sent
  llm_pool_stats stats() const;
  const llm_config& config() const { return config_; }

 private:
  struct job {
    chat_request request;
    callback done;
  };
  void worker();

  llm_config config_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable all_done_;
  std::deque<job> queue_;
  bool stopping_ = false;
  bool cancelled_ = false;
  llm_pool_stats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace smelt
