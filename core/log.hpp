#pragma once
// One line per event on stderr: "2026-11-29T06:50:01.123Z worker[dev-1] registered ...".
// Thread-safe (one write(2) per line).
#include <string>
#include <string_view>

namespace gantry {

enum class log_level { debug, info, warn, error };

void set_log_identity(std::string identity);  // e.g. "worker[dev-1]"
void set_log_level(log_level level);
void log(log_level level, std::string_view message);

inline void log_info(std::string_view m) {
  log(log_level::info, m);
}
inline void log_warn(std::string_view m) {
  log(log_level::warn, m);
}
inline void log_error(std::string_view m) {
  log(log_level::error, m);
}
inline void log_debug(std::string_view m) {
  log(log_level::debug, m);
}

int64_t now_ms();  // unix epoch milliseconds

}  // namespace gantry
