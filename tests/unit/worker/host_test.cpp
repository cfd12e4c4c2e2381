#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "test_util.hpp"
#include "worker/inventory/host.hpp"

using namespace gantry::inventory;
using gantry::test::temp_dir;

TEST_CASE("cgroup and meminfo texts parse") {
  CHECK(parse_cgroup_cpu_max("150000 100000\n") == 1500);
  CHECK(parse_cgroup_cpu_max("50000 100000") == 500);
  CHECK(parse_cgroup_cpu_max("1 100000") == 1);  // 0.01m rounds up to the 1m floor
  CHECK_FALSE(parse_cgroup_cpu_max("max 100000\n").has_value());
  CHECK_FALSE(parse_cgroup_cpu_max("-1 100000").has_value());
  CHECK_FALSE(parse_cgroup_cpu_max("junk").has_value());
  CHECK(parse_cgroup_memory_max("1073741824\n") == 1LL << 30);
  CHECK_FALSE(parse_cgroup_memory_max("max\n").has_value());
  CHECK_FALSE(parse_cgroup_memory_max("9223372036854771712").has_value());  // v1 "unlimited"
  CHECK_FALSE(parse_cgroup_memory_max("12k").has_value());
  CHECK(parse_meminfo_total("MemTotal:       24684092 kB\nMemFree: 1 kB\n") == 24684092LL * 1024);
  CHECK_FALSE(parse_meminfo_total("MemFree: 1 kB\n").has_value());
}

TEST_CASE("cgroup v2 limits: the tightest along the path to the root wins") {
  temp_dir root;
  root.write("cgroup.controllers", "cpu memory\n");
  root.write("kubepods/cpu.max", "300000 100000\n");
  root.write("kubepods/memory.max", "4294967296\n");
  root.write("kubepods/pod1/cpu.max", "max 100000\n");
  root.write("kubepods/pod1/memory.max", "1073741824\n");
  auto limits = read_cgroup_limits(root.path, "0::/kubepods/pod1\n");
  CHECK(limits.cpu_milli == 3000);
  CHECK(limits.cpu_source == (root.path / "kubepods/cpu.max").string());
  CHECK(limits.memory_bytes == 1LL << 30);
  CHECK(limits.memory_source == (root.path / "kubepods/pod1/memory.max").string());

  // Inside a cgroup namespace the path is "/" and the root holds the limits.
  temp_dir ns;
  ns.write("cgroup.controllers", "cpu memory\n");
  ns.write("cpu.max", "max 100000\n");
  ns.write("memory.max", "max\n");
  limits = read_cgroup_limits(ns.path, "0::/\n");
  CHECK_FALSE(limits.cpu_milli.has_value());
  CHECK_FALSE(limits.memory_bytes.has_value());
}

TEST_CASE("cgroup v1 limits are read where v2 has none") {
  temp_dir root;
  root.write("cpu,cpuacct/job/cpu.cfs_quota_us", "250000\n");
  root.write("cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  root.write("memory/job/memory.limit_in_bytes", "2147483648\n");
  root.write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  auto limits = read_cgroup_limits(root.path, "4:memory:/job\n2:cpu,cpuacct:/job\n0::/\n");
  CHECK(limits.cpu_milli == 2500);
  CHECK(limits.memory_bytes == 2LL << 30);

  // A path that does not exist under the mount (a container's view) falls back to the root.
  limits = read_cgroup_limits(root.path, "4:memory:/elsewhere/x\n");
  CHECK_FALSE(limits.memory_bytes.has_value());
  CHECK_FALSE(read_cgroup_limits(root.path / "absent", "garbage").cpu_milli.has_value());
}

TEST_CASE("this machine has CPUs, memory and a host name") {
  std::string how;
  int64_t cpu = probe_cpu_milli(&how);
  CHECK(cpu > 0);
  CHECK(how.starts_with("cpu: "));
  int64_t memory = probe_memory_bytes(&how);
  CHECK(memory > 0);
  CHECK(how.starts_with("memory: "));
  CHECK(probe_cpu_milli() == cpu);
  CHECK_FALSE(probe_hostname().empty());
  MESSAGE("cpu " << cpu << "m, memory " << memory << " bytes, host " << probe_hostname());
}
