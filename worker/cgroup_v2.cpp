// cgroup v2: a task's group is one directory in the unified hierarchy.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "worker/cgroup.hpp"
#include "worker/cgroup_kill.hpp"
#include "worker/device_program.hpp"

namespace gantry {

result<void> kill_listed_pids(const std::string& procs_file) {
  auto procs = read_cgroup_file(procs_file);
  if (!procs) return fail(procs.error());
  std::istringstream in(*procs);
  long long pid = 0;
  while (in >> pid)
    if (pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  return {};
}

namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

class v2_group final : public task_cgroup {
 public:
  explicit v2_group(std::string dir) : dir_(std::move(dir)), procs_{dir_ + "/cgroup.procs"} {}

  result<void> make(const cgroup_limits& l) {
    std::error_code ec;
    fs::create_directory(dir_, ec);  // an existing one (a leftover of the same task) is reused
    if (ec) return fail(errc::io_error, "cannot create cgroup " + dir_ + ": " + ec.message());
    if (l.memory_bytes > 0) {
      if (auto r = write_cgroup_file(dir_ + "/memory.max", std::to_string(l.memory_bytes)); !r)
        return r;
      if (exists(dir_ + "/memory.swap.max"))  // the limit is the whole footprint: no swap
        if (auto r = write_cgroup_file(dir_ + "/memory.swap.max", "0"); !r) return r;
    }
    if (l.cpu_milli > 0)
      if (auto r =
              write_cgroup_file(dir_ + "/cpu.max", std::to_string(l.cpu_milli * 100) + " 100000");
          !r)
        return r;
    if (l.pids_max > 0)
      if (auto r = write_cgroup_file(dir_ + "/pids.max", std::to_string(l.pids_max)); !r) return r;
    if (!l.device_deny.empty())
      if (auto r = attach_device_program(dir_, l.device_deny); !r) return r;
    return {};
  }

  const std::vector<std::string>& procs_files() const override { return procs_; }
  std::string clone_into() const override { return dir_; }

  result<void> kill_all() override {
    if (exists(dir_ + "/cgroup.kill")) return write_cgroup_file(dir_ + "/cgroup.kill", "1");
    // Before Linux 5.14: freeze, kill each, thaw.
    bool frozen = static_cast<bool>(write_cgroup_file(dir_ + "/cgroup.freeze", "1"));
    for (int i = 0; frozen && i < 1000; ++i) {
      auto ev = read_cgroup_file(dir_ + "/cgroup.events");
      if (!ev || cgroup_keyed_value(*ev, "frozen") != 0) break;
      struct timespec ms {
        0, 1000000
      };
      nanosleep(&ms, nullptr);
    }
    auto killed = kill_listed_pids(procs_[0]);
    if (frozen) write_cgroup_file(dir_ + "/cgroup.freeze", "0");
    return killed;
  }

  bool empty() const override {
    auto procs = read_cgroup_file(procs_[0]);
    return !procs || procs->find_first_not_of(" \n") == std::string::npos;
  }

  cgroup_usage usage() const override {
    cgroup_usage u;
    if (auto peak = read_cgroup_file(dir_ + "/memory.peak"))  // Linux 5.19+
      u.peak_memory_bytes = std::strtoll(peak->c_str(), nullptr, 10);
    if (auto cpu = read_cgroup_file(dir_ + "/cpu.stat"))
      u.cpu_usec = cgroup_keyed_value(*cpu, "usage_usec");
    if (auto ev = read_cgroup_file(dir_ + "/memory.events"))
      u.oom_kills = std::max<int64_t>(0, cgroup_keyed_value(*ev, "oom_kill"));
    return u;
  }

  result<void> remove() override {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return {};
    return fail(errno == EBUSY ? errc::unavailable : errc::io_error,
                "cannot remove cgroup " + dir_ + ": " + std::strerror(errno));
  }

 private:
  std::string dir_;
  std::vector<std::string> procs_;
};

class v2_driver final : public cgroup_driver {
 public:
  explicit v2_driver(std::string dir) : dir_(std::move(dir)) {}
  ~v2_driver() override { ::rmdir(dir_.c_str()); }  // once its tasks' groups are gone
  isolation_mode mode() const override { return isolation_mode::v2; }
  result<std::unique_ptr<task_cgroup>> create(const std::string& name,
                                              const cgroup_limits& limits) override {
    auto g = std::make_unique<v2_group>(dir_ + "/" + name);
    if (auto r = g->make(limits); !r) {
      g->remove();
      return fail(errc::failed_precondition, r.error().message);
    }
    return std::unique_ptr<task_cgroup>(std::move(g));
  }
  std::string describe() const override { return dir_; }

 private:
  std::string dir_;
};

}  // namespace

result<std::unique_ptr<cgroup_driver>> make_cgroup_v2(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(errc::failed_precondition, "cgroup v2: cannot create " + dir + ": " + ec.message());
  write_cgroup_file(dir + "/cgroup.subtree_control", "+memory +cpu +pids");
  auto enabled = read_cgroup_file(dir + "/cgroup.subtree_control");
  std::string missing;
  for (const char* c : {"memory", "cpu", "pids"}) {
    std::istringstream in(enabled ? *enabled : "");
    std::string w;
    bool found = false;
    while (in >> w) found = found || w == c || w == std::string("+") + c;
    if (!found) missing += std::string(missing.empty() ? "" : ", ") + c;
  }
  if (!missing.empty())
    return fail(errc::failed_precondition,
                "cgroup v2: cannot enable " + missing + " for the children of " + dir);
  return std::unique_ptr<cgroup_driver>(std::make_unique<v2_driver>(dir));
}

}  // namespace gantry
