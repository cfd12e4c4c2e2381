#pragma once
// This process's CPU time and resident memory, for the standard process_* metrics.
#include <cstdint>

#include "http/prometheus_text.hpp"

namespace gantry::http {

struct process_stats {
  double cpu_seconds = 0;         // user + system
  int64_t resident_bytes = 0;     // RSS now
  double start_time_seconds = 0;  // since the Unix epoch
};
process_stats read_process_stats();

// process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds.
void append_process_metrics(prometheus_text& out);

}  // namespace gantry::http
