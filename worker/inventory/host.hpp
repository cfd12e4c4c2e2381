#pragma once
// CPU, memory and host name of this machine, as a worker offers them to the coordinator.
// The probes read Linux files (/proc, /sys/fs/cgroup); the parsers and the cgroup walk take
// their input as arguments so tests feed them fake files.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gantry::inventory {

// Limits a cgroup puts on a process; nullopt where there is none.
struct cgroup_limits {
  std::optional<int64_t> cpu_milli;
  std::optional<int64_t> memory_bytes;
  std::string cpu_source;     // the file that set cpu_milli, e.g. "/sys/fs/cgroup/a/cpu.max"
  std::string memory_source;  // the file that set memory_bytes
};

// cgroup v2 cpu.max: "150000 100000" -> 1500 (millicores); "max 100000" -> nullopt.
// Malformed text -> nullopt. A positive quota always gives at least 1.
std::optional<int64_t> parse_cgroup_cpu_max(std::string_view text);

// cgroup v2 memory.max (or v1 memory.limit_in_bytes): "8589934592" -> 8589934592;
// "max", malformed or v1's "unlimited" (>= 2^62) -> nullopt.
std::optional<int64_t> parse_cgroup_memory_max(std::string_view text);

// MemTotal from the text of /proc/meminfo, in bytes; nullopt when absent or malformed.
std::optional<int64_t> parse_meminfo_total(std::string_view meminfo);

// Limits for the process whose /proc/<pid>/cgroup text is `proc_cgroup`, read from the cgroup
// filesystem mounted at `cgroup_root` (normally /sys/fs/cgroup). cgroup v2 (cpu.max,
// memory.max) is read at the root and under "unified" (hybrid layout); where v2 has no
// limit, v1 (cpu.cfs_quota_us/cpu.cfs_period_us, memory.limit_in_bytes) is read. Every
// cgroup from the process's own up to the root is checked and the tightest limit wins;
// directories that do not exist (a container's view) are skipped. Never fails.
cgroup_limits read_cgroup_limits(const std::filesystem::path& cgroup_root,
                                 std::string_view proc_cgroup);

// CPUs this process may run on (sched_getaffinity), in millicores, capped by the cgroup CPU
// quota. At least 1. `how`, when given, receives one human-readable line on where it came from.
int64_t probe_cpu_milli(std::string* how = nullptr);

// MemTotal in bytes, capped by the cgroup memory limit when that is numeric. 0 only when
// /proc/meminfo cannot be read. `how` as for probe_cpu_milli.
int64_t probe_memory_bytes(std::string* how = nullptr);

// gethostname(), or "localhost" when that fails.
std::string probe_hostname();

}  // namespace gantry::inventory
