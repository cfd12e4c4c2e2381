#include "core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace gantry {
namespace {
std::mutex identity_mu;
std::string process_identity = "gantry";
std::atomic<int> min_level{static_cast<int>(log_level::info)};
const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "WARN";
    case log_level::error:
      return "ERROR";
  }
  return "?";
}
}  // namespace

void set_log_identity(std::string id) {
  std::lock_guard lock(identity_mu);
  process_identity = std::move(id);
}

void set_log_level(log_level level) {
  min_level = static_cast<int>(level);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void log(log_level level, std::string_view message) {
  if (static_cast<int>(level) < min_level) return;
  int64_t ms = now_ms();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  {
    std::lock_guard lock(identity_mu);
    line = std::string(stamp) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z " +
           process_identity;
  }
  line += " ";
  line += level_name(level);
  line += ": ";
  line += message;
  line += "\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace gantry
