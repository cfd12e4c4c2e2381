#pragma once
// An in-process rendezvous: a map guarded by a mutex, for tests with ranks as threads.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

class memory_rendezvous final : public rendezvous {
 public:
  outcome<void> put(const std::string& key, const std::string& value) override {
    {
      std::lock_guard lock(mutex_);
      values_[key] = value;
    }
    changed_.notify_all();
    return {};
  }

  outcome<std::string> get(const std::string& key, uint32_t timeout_ms) override {
    std::unique_lock lock(mutex_);
    bool found = changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                   [&] { return values_.count(key) > 0; });
    if (!found)
      return failure("rendezvous: nobody put \"" + key + "\" within " + std::to_string(timeout_ms) +
                     " ms");
    return values_[key];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> values_;
};

}  // namespace gantry::example
