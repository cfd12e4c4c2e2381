// The cgroup drivers (worker/cgroup.hpp): v2 against a fake cgroupfs tree whose files are
// written and read as the kernel's would be; finding the hierarchies from fake /proc files;
// and, where this machine lets root create v1 groups, real tasks in real groups.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.hpp"
#include "worker/cgroup.hpp"
#include "worker/launcher.hpp"

using namespace gantry;
using namespace gantry::test;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A v1 driver on this machine's hierarchies, or null (with a note) where they cannot be used.
std::unique_ptr<cgroup_driver> real_v1() {
  if (geteuid() != 0) {
    MESSAGE("not root: the real cgroup v1 cases are not run");
    return nullptr;
  }
  cgroup_options o;
  o.mode = "v1";
  o.root = "gantry-test";
  auto d = open_cgroups(o, nullptr);
  if (!d) {
    MESSAGE("no usable cgroup v1 here: " << d.error().message);
    return nullptr;
  }
  return std::move(*d);
}

const std::vector<std::pair<std::string, std::string>> kPathEnv{{"PATH", "/usr/bin:/bin"}};

pid_t spawn_in(task_cgroup& g, const fs::path& dir, std::vector<std::string> argv) {
  process_spec ps{std::move(argv), kPathEnv, dir.string(), (dir / "output.log").string(),
                  g.procs_files()};
  auto pid = spawn_process(ps);
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  return *pid;
}

// Removes the group once its last process has left (they leave as they die).
void remove_when_empty(task_cgroup& g) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto r = g.remove();
    if (r) return;
    REQUIRE(r.error().code == errc::unavailable);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    sched_yield();
  }
}

}  // namespace

TEST_CASE("cgroup v2: limits, kill and accounting go through the kernel's files") {
  temp_dir root;
  put(root.path / "cgroup.subtree_control", "");
  auto driver = make_cgroup_v2(root.path.string());
  REQUIRE_MESSAGE(driver.has_value(), driver.error().message);
  CHECK((*driver)->mode() == isolation_mode::v2);
  CHECK(read_file(root.path / "cgroup.subtree_control") == "+memory +cpu +pids");
  // What the kernel creates with the group (its directory exists before the driver's mkdir).
  fs::path g = root.path / "j1.s.0.0";
  put(g / "cgroup.procs", "");
  put(g / "cgroup.kill", "");
  put(g / "memory.swap.max", "max\n");
  put(g / "memory.peak", "67108864\n");
  put(g / "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
  put(g / "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
  auto group = (*driver)->create("j1.s.0.0", {64 << 20, 500, 128, {}});
  REQUIRE_MESSAGE(group.has_value(), group.error().message);
  CHECK(read_file(g / "memory.max") == "67108864");
  CHECK(read_file(g / "memory.swap.max") == "0");
  CHECK(read_file(g / "cpu.max") == "50000 100000");
  CHECK(read_file(g / "pids.max") == "128");
  CHECK((*group)->procs_files() == std::vector<std::string>{(g / "cgroup.procs").string()});
  CHECK((*group)->empty());
  REQUIRE((*group)->kill_all());
  CHECK(read_file(g / "cgroup.kill") == "1");
  cgroup_usage u = (*group)->usage();
  CHECK(u.peak_memory_bytes == 64 << 20);
  CHECK(u.cpu_usec == 1500000);
  CHECK(u.oom_kills == 1);
}

TEST_CASE("cgroup v2: no limits written when the task asks for none, unknown counters are -1") {
  temp_dir root;
  put(root.path / "cgroup.subtree_control", "");
  auto driver = make_cgroup_v2(root.path.string());
  REQUIRE(driver.has_value());
  auto group = (*driver)->create("t", {});
  REQUIRE(group.has_value());
  CHECK_FALSE(fs::exists(root.path / "t" / "memory.max"));
  CHECK_FALSE(fs::exists(root.path / "t" / "cpu.max"));
  CHECK_FALSE(fs::exists(root.path / "t" / "pids.max"));
  cgroup_usage u = (*group)->usage();
  CHECK(u.peak_memory_bytes == -1);  // memory.peak is Linux 5.19+
  CHECK(u.cpu_usec == -1);
  CHECK(u.oom_kills == 0);
  CHECK((*group)->remove());
  CHECK_FALSE(fs::exists(root.path / "t"));
}

TEST_CASE("cgroup v2: a directory whose controllers cannot be enabled is refused") {
  temp_dir root;
  fs::create_directories(root.path / "cgroup.subtree_control");  // unwritable as a file
  auto driver = make_cgroup_v2(root.path.string());
  REQUIRE_FALSE(driver.has_value());
  CHECK(driver.error().code == errc::failed_precondition);
  CHECK(driver.error().message.find("cannot enable memory, cpu, pids") != std::string::npos);
}

TEST_CASE("finding hierarchies: v1 under the worker's own groups when v2 has no controllers") {
  temp_dir fake;
  std::string m = (fake.path / "mnt").string();
  put(fake.path / "mounts",
      "cgroup2 " + m + "/unified cgroup2 rw,relatime 0 0\n" +  //
          "cgroup " + m + "/memory cgroup rw,relatime,memory 0 0\n" + "cgroup " + m +
          "/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n" + "cgroup " + m +
          "/pids cgroup rw,pids 0 0\n" + "cgroup " + m + "/freezer cgroup rw,freezer 0 0\n" +
          "proc /proc proc rw 0 0\n");
  put(fake.path / "self", "5:memory:/sess/a\n4:cpu,cpuacct:/\n3:pids:/\n2:freezer:/\n0::/\n");
  put(fake.path / "mnt/unified/cgroup.controllers", "");
  cgroup_options o;
  o.proc_self_cgroup = (fake.path / "self").string();
  o.proc_self_mounts = (fake.path / "mounts").string();
  o.pid = 4242;
  std::string why;
  auto d = open_cgroups(o, &why);
  REQUIRE_MESSAGE(d.has_value(), d.error().message);
  REQUIRE(*d != nullptr);
  CHECK((*d)->mode() == isolation_mode::v1);
  CHECK(fs::is_directory(fake.path / "mnt/memory/sess/a/gantry/worker.4242"));
  CHECK(fs::is_directory(fake.path / "mnt/cpu,cpuacct/gantry/worker.4242"));
  CHECK(fs::is_directory(fake.path / "mnt/freezer/gantry/worker.4242"));
  auto g = (*d)->create("t", {});
  REQUIRE(g.has_value());
  // cpu and cpuacct share one directory: the task joins it once.
  CHECK((*g)->procs_files().size() == 4);

  SUBCASE("without a freezer hierarchy, cgroups are not used, and the worker says why") {
    o.proc_self_mounts = (fake.path / "mounts2").string();
    put(o.proc_self_mounts, "cgroup " + m + "/memory cgroup rw,memory 0 0\n");
    auto none = open_cgroups(o, &why);
    REQUIRE(none.has_value());
    CHECK(*none == nullptr);
    CHECK(why.find("no cpu, cpuacct, pids, freezer hierarchy") != std::string::npos);
    CHECK(why.find("cgroup v2 is not mounted") != std::string::npos);
  }
  SUBCASE("--cgroups v1 insists") {
    o.mode = "v1";
    o.proc_self_mounts = (fake.path / "mounts2").string();
    put(o.proc_self_mounts, "");
    CHECK_FALSE(open_cgroups(o, &why).has_value());
  }
  SUBCASE("--cgroups none") {
    o.mode = "none";
    auto none = open_cgroups(o, &why);
    REQUIRE(none.has_value());
    CHECK(*none == nullptr);
  }
}

TEST_CASE("cgroup v1 (real): a memory hog is OOM-killed while its neighbour lives") {
  auto driver = real_v1();
  if (!driver) return;
  temp_dir dir;
  auto hog = driver->create("hog", {32 << 20, 0, 0, {}});
  REQUIRE_MESSAGE(hog.has_value(), hog.error().message);
  auto calm = driver->create("calm", {32 << 20, 0, 0, {}});
  REQUIRE(calm.has_value());
  pid_t neighbour = spawn_in(**calm, dir.path, {"sleep", "600"});
  // dash keeps a command substitution's output in memory: 200 MB of it.
  pid_t pid = spawn_in(**hog, dir.path,
                       {"sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo alive"});
  CHECK(wait_exit(pid) == 128 + SIGKILL);
  cgroup_usage u = (*hog)->usage();
  CHECK(u.oom_kills >= 1);
  CHECK(u.peak_memory_bytes > 16 << 20);
  CHECK(u.peak_memory_bytes <= 32 << 20);
  CHECK(read_file(dir.path / "output.log").find("alive") == std::string::npos);
  CHECK(::kill(neighbour, 0) == 0);  // still running
  CHECK((*calm)->usage().oom_kills == 0);
  REQUIRE((*hog)->kill_all());
  REQUIRE((*calm)->kill_all());
  CHECK(wait_exit(neighbour) == 128 + SIGKILL);
  remove_when_empty(**hog);
  remove_when_empty(**calm);
}

TEST_CASE("cgroup v1 (real): a task's first act already runs in its group in every hierarchy") {
  auto driver = real_v1();
  if (!driver) return;
  temp_dir dir;
  auto g = driver->create("first", {64 << 20, 500, 64, {}});
  REQUIRE_MESSAGE(g.has_value(), g.error().message);
  pid_t pid = spawn_in(**g, dir.path, {"cat", "/proc/self/cgroup"});
  CHECK(wait_exit(pid) == 0);
  std::string seen = read_file(dir.path / "output.log");
  std::string own = "/worker." + std::to_string(getpid()) + "/first";
  for (const char* c : {"memory", "cpu", "cpuacct", "pids", "freezer"}) {
    INFO(c << " in " << seen);
    bool found = false;
    std::istringstream lines(seen);
    std::string line;
    while (std::getline(lines, line)) {  // "4:memory:/gantry-test/worker.N/first"
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      std::string controllers = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
      if (controllers.find("," + std::string(c) + ",") == std::string::npos) continue;
      std::string path = line.substr(c2 + 1);
      found =
          path.size() >= own.size() && path.compare(path.size() - own.size(), own.size(), own) == 0;
    }
    CHECK(found);
  }
  remove_when_empty(**g);
}

TEST_CASE("cgroup v1 (real): kill_all reaches a double-forked daemon in another session") {
  auto driver = real_v1();
  if (!driver) return;
  temp_dir dir;
  auto g = driver->create("daemon", {});
  REQUIRE(g.has_value());
  fs::path pidfile = dir.path / "daemon.pid";
  // The daemon writes its pid once it runs in its own session; the task exits after that.
  std::string f = pidfile.string();
  pid_t pid = spawn_in(**g, dir.path,
                       {"sh", "-c",
                        "setsid sh -c 'echo $$ > " + f + ".tmp; mv " + f + ".tmp " + f +
                            "; exec sleep 600' & while [ ! -e " + f + " ]; do :; done"});
  CHECK(wait_exit(pid) == 0);
  std::string text = read_file(pidfile);
  REQUIRE_FALSE(text.empty());
  pid_t daemon = std::stoi(text);
  CHECK(getsid(daemon) == daemon);  // escaped the task's session and process group
  CHECK(::kill(daemon, 0) == 0);
  CHECK_FALSE((*g)->empty());
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, daemon, 0));  // readable once it ended
  REQUIRE(pidfd >= 0);
  REQUIRE((*g)->kill_all());
  pollfd p{pidfd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  close(pidfd);
  remove_when_empty(**g);
}

TEST_CASE("cgroup v1 (real): cpu 0.5 caps a busy loop at half a core") {
  auto driver = real_v1();
  if (!driver) return;
  temp_dir dir;
  auto g = driver->create("busy", {0, 500, 64, {}});
  REQUIRE(g.has_value());
  auto start = std::chrono::steady_clock::now();
  pid_t pid = spawn_in(**g, dir.path, {"timeout", "3", "sh", "-c", "while :; do :; done"});
  CHECK(wait_exit(pid) == 124);  // timeout's "the time ran out"
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cores = static_cast<double>((*g)->usage().cpu_usec) / 1e6 / wall;
  MESSAGE("busy loop with cpu 0.5: " << cores << " cores over " << wall << " s");
  CHECK(cores <= 0.6);
  CHECK(cores >= 0.2);  // it ran (less than 0.4 only when the machine is starved)
  remove_when_empty(**g);
}

TEST_CASE("cgroup v1 (real): a denied device cannot be opened, others can") {
  auto driver = real_v1();
  if (!driver) return;
  temp_dir dir;
  auto g = driver->create("devices", {0, 0, 0, {{'c', 1, 5}}});  // /dev/zero
  REQUIRE_MESSAGE(g.has_value(), g.error().message);
  pid_t pid = spawn_in(**g, dir.path,
                       {"sh", "-c", "head -c1 /dev/urandom >/dev/null && ! head -c1 /dev/zero"});
  CHECK(wait_exit(pid) == 0);
  CHECK(read_file(dir.path / "output.log").find("Operation not permitted") != std::string::npos);
  remove_when_empty(**g);
}

TEST_CASE("cgroup v1: kill_all freezes a group only when something is in it") {
  temp_dir fake;
  cgroup_v1_dirs d;
  for (auto [dir, name] : {std::pair{&d.memory, "memory"},
                           {&d.cpu, "cpu"},
                           {&d.cpuacct, "cpuacct"},
                           {&d.pids, "pids"},
                           {&d.freezer, "freezer"}})
    *dir = (fake.path / name / "w").string();
  auto driver = make_cgroup_v1(d);
  REQUIRE(driver.has_value());
  auto g = (*driver)->create("t", {});
  REQUIRE(g.has_value());
  fs::path procs = fake.path / "freezer/w/t/cgroup.procs";
  fs::path state = fake.path / "freezer/w/t/freezer.state";
  std::ofstream(procs).close();
  // Empty (the task's main process was reaped): no freezer write at all.
  CHECK((*g)->kill_all());
  CHECK_FALSE(fs::exists(state));
  // A process left behind (a pid no process has): frozen, killed, thawed.
  std::ofstream(procs) << "999999999\n";
  CHECK((*g)->kill_all());
  CHECK(read_file(state) == "THAWED");
}
