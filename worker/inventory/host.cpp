#include "worker/inventory/host.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "core/quantity.hpp"

namespace gantry::inventory {
namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<int64_t> parse_int(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// root/cgroup_path and every directory above it up to and including `root`, deepest first.
std::vector<fs::path> up_to_root(const fs::path& root, std::string_view cgroup_path) {
  std::vector<fs::path> dirs;
  fs::path rel = fs::path(std::string(trim(cgroup_path))).relative_path();
  for (;;) {
    dirs.push_back(rel.empty() ? root : root / rel);
    if (rel.empty()) break;
    rel = rel.parent_path();
  }
  return dirs;
}

void take_min(std::optional<int64_t>& best, std::string& best_source, std::optional<int64_t> v,
              const fs::path& source) {
  if (!v || (best && *best <= *v)) return;
  best = v;
  best_source = source.string();
}

// Reads one cgroup directory's limits into `out` (keeping the tighter of old and new).
void read_v2_dir(const fs::path& dir, cgroup_limits& out) {
  if (auto text = read_file(dir / "cpu.max")) {
    take_min(out.cpu_milli, out.cpu_source, parse_cgroup_cpu_max(*text), dir / "cpu.max");
  }
  if (auto text = read_file(dir / "memory.max")) {
    take_min(out.memory_bytes, out.memory_source, parse_cgroup_memory_max(*text),
             dir / "memory.max");
  }
}

void read_v1_cpu_dir(const fs::path& dir, cgroup_limits& out) {
  auto quota = read_file(dir / "cpu.cfs_quota_us");
  auto period = read_file(dir / "cpu.cfs_period_us");
  if (!quota || !period) return;
  take_min(out.cpu_milli, out.cpu_source,
           parse_cgroup_cpu_max(std::string(trim(*quota)) + " " + std::string(trim(*period))),
           dir / "cpu.cfs_quota_us");
}

void read_v1_memory_dir(const fs::path& dir, cgroup_limits& out) {
  if (auto text = read_file(dir / "memory.limit_in_bytes")) {
    take_min(out.memory_bytes, out.memory_source, parse_cgroup_memory_max(*text),
             dir / "memory.limit_in_bytes");
  }
}

bool has_controller(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<int64_t> parse_cgroup_cpu_max(std::string_view text) {
  text = trim(text);
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view quota_text = text.substr(0, space);
  if (quota_text == "max") return std::nullopt;
  auto quota = parse_int(quota_text);
  auto period = parse_int(text.substr(space + 1));
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  if (*quota > INT64_MAX / 1000) return std::nullopt;
  return std::max<int64_t>(1, *quota * 1000 / *period);
}

std::optional<int64_t> parse_cgroup_memory_max(std::string_view text) {
  text = trim(text);
  if (text == "max") return std::nullopt;
  auto v = parse_int(text);
  if (!v || *v < 0 || *v >= (int64_t{1} << 62)) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_meminfo_total(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = meminfo.substr(at + kKey.size());
  rest = rest.substr(0, rest.find('\n'));
  rest = trim(rest);
  int64_t factor = 1;
  if (rest.ends_with("kB")) {
    factor = 1024;
    rest.remove_suffix(2);
  }
  auto v = parse_int(rest);
  if (!v || *v <= 0 || *v > INT64_MAX / factor) return std::nullopt;
  return *v * factor;
}

cgroup_limits read_cgroup_limits(const fs::path& cgroup_root, std::string_view proc_cgroup) {
  cgroup_limits v2;
  cgroup_limits v1;
  std::error_code ec;
  while (!proc_cgroup.empty()) {
    size_t nl = proc_cgroup.find('\n');
    std::string_view line = proc_cgroup.substr(0, nl);
    proc_cgroup = nl == std::string_view::npos ? std::string_view{} : proc_cgroup.substr(nl + 1);
    // "hierarchy-id:controllers:path"; v2 is "0::path".
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (line.substr(0, c1) == "0" && controllers.empty()) {
      for (const fs::path& base : {cgroup_root, cgroup_root / "unified"}) {
        if (!fs::exists(base / "cgroup.controllers", ec)) continue;
        for (const auto& dir : up_to_root(base, path)) read_v2_dir(dir, v2);
      }
      continue;
    }
    if (has_controller(controllers, "cpu")) {
      for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
        for (const auto& dir : up_to_root(cgroup_root / mount, path)) read_v1_cpu_dir(dir, v1);
      }
    }
    if (has_controller(controllers, "memory")) {
      for (const auto& dir : up_to_root(cgroup_root / "memory", path)) {
        read_v1_memory_dir(dir, v1);
      }
    }
  }
  if (!v2.cpu_milli) {
    v2.cpu_milli = v1.cpu_milli;
    v2.cpu_source = v1.cpu_source;
  }
  if (!v2.memory_bytes) {
    v2.memory_bytes = v1.memory_bytes;
    v2.memory_source = v1.memory_source;
  }
  return v2;
}

int64_t probe_cpu_milli(std::string* how) {
  int64_t cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN));
  int64_t milli = cpus * 1000;
  std::string line = "cpu: " + std::to_string(cpus) + " CPUs in the affinity mask";
  cgroup_limits limits =
      read_cgroup_limits("/sys/fs/cgroup", read_file("/proc/self/cgroup").value_or(""));
  if (limits.cpu_milli && *limits.cpu_milli < milli) {
    milli = *limits.cpu_milli;
    line += ", capped to " + format_cpu(milli) + " by " + limits.cpu_source;
  } else {
    line += limits.cpu_milli ? " (cgroup quota " + format_cpu(*limits.cpu_milli) + " is larger)"
                             : "; no cgroup CPU quota";
  }
  if (how) *how = line;
  return milli;
}

int64_t probe_memory_bytes(std::string* how) {
  auto total = parse_meminfo_total(read_file("/proc/meminfo").value_or(""));
  int64_t bytes = total.value_or(0);
  std::string line =
      total ? "memory: MemTotal " + format_bytes(bytes) : "memory: /proc/meminfo is unreadable";
  cgroup_limits limits =
      read_cgroup_limits("/sys/fs/cgroup", read_file("/proc/self/cgroup").value_or(""));
  if (limits.memory_bytes && (bytes == 0 || *limits.memory_bytes < bytes)) {
    bytes = *limits.memory_bytes;
    line += ", capped to " + format_bytes(bytes) + " by " + limits.memory_source;
  } else if (!limits.memory_bytes) {
    line += "; no cgroup memory limit";
  }
  if (how) *how = line;
  return bytes;
}

std::string probe_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace gantry::inventory
