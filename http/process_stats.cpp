#include "http/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace gantry::http {

process_stats read_process_stats() {
  process_stats s;
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) == 0)
    s.cpu_seconds = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                    static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (statm >> size >> resident) s.resident_bytes = resident * sysconf(_SC_PAGESIZE);
  // Field 22 of /proc/self/stat: start time in clock ticks after boot.
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::ifstream uptime_file("/proc/uptime");
  double uptime = 0;
  if (auto close = text.rfind(')'); close != std::string::npos && uptime_file >> uptime) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) {
        double since_boot = std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        s.start_time_seconds = static_cast<double>(now.tv_sec) - uptime + since_boot;
      }
  }
  return s;
}

void append_process_metrics(prometheus_text& out) {
  auto s = read_process_stats();
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the process");
  out.sample("process_cpu_seconds_total", s.cpu_seconds);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory of the process");
  out.sample("process_resident_memory_bytes", static_cast<double>(s.resident_bytes));
  out.family("process_start_time_seconds", "gauge", "Start of the process, Unix time");
  out.sample("process_start_time_seconds", s.start_time_seconds);
}

}  // namespace gantry::http
