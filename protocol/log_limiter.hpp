#pragma once
// Logging of events a peer can cause at will (refused or closed connections, failed
// accepts): the first of a burst is logged at once, the rest are counted and summed up in the
// next line, at most one line per interval. Single-threaded.
#include <cstdint>
#include <string>

#include "core/log.hpp"

namespace gantry {

class log_limiter {
 public:
  explicit log_limiter(int64_t interval_ms = 10000) : interval_ms_(interval_ms) {}

  // Logs `message` unless a line went out less than interval_ms ago; then only counts it.
  void warn(const std::string& message, int64_t now_ms) {
    if (last_ms_ >= 0 && now_ms - last_ms_ < interval_ms_) {
      ++suppressed_;
      return;
    }
    std::string line = message;
    if (suppressed_ > 0)
      line += " (and " + std::to_string(suppressed_) + " more like it in the last " +
              std::to_string((now_ms - last_ms_) / 1000) + " s)";
    log_warn(line);
    last_ms_ = now_ms;
    suppressed_ = 0;
  }
  uint64_t suppressed() const { return suppressed_; }

 private:
  int64_t interval_ms_;
  int64_t last_ms_ = -1;
  uint64_t suppressed_ = 0;
};

}  // namespace gantry
