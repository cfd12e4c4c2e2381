// cgroup v1: a task's group is a same-named directory in each controller's hierarchy.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "worker/cgroup.hpp"
#include "worker/cgroup_kill.hpp"

namespace gantry {
namespace {

namespace fs = std::filesystem;

class v1_group final : public task_cgroup {
 public:
  v1_group(const cgroup_v1_dirs& parent, const std::string& name) {
    auto in = [&](const std::string& p) { return p.empty() ? p : p + "/" + name; };
    d_ = {in(parent.memory), in(parent.cpu),     in(parent.cpuacct),
          in(parent.pids),   in(parent.freezer), in(parent.devices)};
    for (const std::string* dir : all()) {
      std::string procs = *dir + "/cgroup.procs";
      bool seen = false;  // co-mounted controllers (cpu,cpuacct) share one directory
      for (const auto& p : procs_) seen = seen || p == procs;
      if (!seen) procs_.push_back(procs);
    }
  }

  result<void> make(const cgroup_limits& l) {
    for (const std::string* dir : all()) {
      std::error_code ec;
      fs::create_directory(*dir, ec);  // an existing one (a leftover of the same task) is reused
      if (ec) return fail(errc::io_error, "cannot create cgroup " + *dir + ": " + ec.message());
    }
    if (l.memory_bytes > 0) {
      std::string v = std::to_string(l.memory_bytes);
      if (auto r = write_cgroup_file(d_.memory + "/memory.limit_in_bytes", v); !r) return r;
      // With swap accounting the limit covers swap too (it may not be below the other).
      if (::access((d_.memory + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0)
        if (auto r = write_cgroup_file(d_.memory + "/memory.memsw.limit_in_bytes", v); !r) return r;
    }
    if (l.cpu_milli > 0) {
      if (auto r = write_cgroup_file(d_.cpu + "/cpu.cfs_period_us", "100000"); !r) return r;
      if (auto r =
              write_cgroup_file(d_.cpu + "/cpu.cfs_quota_us", std::to_string(l.cpu_milli * 100));
          !r)
        return r;
    }
    if (l.pids_max > 0)
      if (auto r = write_cgroup_file(d_.pids + "/pids.max", std::to_string(l.pids_max)); !r)
        return r;
    if (!l.device_deny.empty()) {
      if (d_.devices.empty())
        return fail(errc::failed_precondition, "no devices hierarchy for the device rules");
      for (const auto& rule : l.device_deny)
        if (auto r = write_cgroup_file(d_.devices + "/devices.deny", v1_deny_line(rule)); !r)
          return r;
    }
    return {};
  }

  const std::vector<std::string>& procs_files() const override { return procs_; }

  result<void> kill_all() override {
    // An empty group has nobody to fork into it or to kill. Freezing is skipped then: on v1
    // the first frozen group on the machine and the last thawed one switch a kernel-wide
    // static key (code patching, 5 to 15 ms each), which every task's exit would pay.
    if (empty()) return {};
    // Frozen processes cannot fork; a SIGKILL sent while frozen takes effect on the thaw.
    std::string state = d_.freezer + "/freezer.state";
    bool frozen = static_cast<bool>(write_cgroup_file(state, "FROZEN"));
    for (int i = 0; frozen && i < 1000; ++i) {  // freezing is quick unless a task is in D state
      auto s = read_cgroup_file(state);
      if (!s || s->rfind("FROZEN", 0) == 0) break;
      struct timespec ms {
        0, 1000000
      };
      nanosleep(&ms, nullptr);
    }
    auto killed = kill_listed_pids(d_.freezer + "/cgroup.procs");
    if (frozen) write_cgroup_file(state, "THAWED");
    return killed;
  }

  bool empty() const override {
    auto procs = read_cgroup_file(d_.freezer + "/cgroup.procs");
    return !procs || procs->find_first_not_of(" \n") == std::string::npos;
  }

  cgroup_usage usage() const override {
    cgroup_usage u;
    if (auto peak = read_cgroup_file(d_.memory + "/memory.max_usage_in_bytes"))
      u.peak_memory_bytes = std::strtoll(peak->c_str(), nullptr, 10);
    if (auto cpu = read_cgroup_file(d_.cpuacct + "/cpuacct.usage"))
      u.cpu_usec = std::strtoll(cpu->c_str(), nullptr, 10) / 1000;
    if (auto oom = read_cgroup_file(d_.memory + "/memory.oom_control"))
      u.oom_kills = std::max<int64_t>(0, cgroup_keyed_value(*oom, "oom_kill"));
    return u;
  }

  result<void> remove() override {
    result<void> out;
    for (const std::string* dir : all()) {
      if (::rmdir(dir->c_str()) == 0 || errno == ENOENT) continue;
      out = fail(errno == EBUSY ? errc::unavailable : errc::io_error,
                 "cannot remove cgroup " + *dir + ": " + std::strerror(errno));
    }
    return out;
  }

 private:
  std::vector<const std::string*> all() const {
    std::vector<const std::string*> out;
    for (const std::string* p :
         {&d_.memory, &d_.cpu, &d_.cpuacct, &d_.pids, &d_.freezer, &d_.devices})
      if (!p->empty()) out.push_back(p);
    return out;
  }
  cgroup_v1_dirs d_;
  std::vector<std::string> procs_;
};

class v1_driver final : public cgroup_driver {
 public:
  explicit v1_driver(cgroup_v1_dirs d) : d_(std::move(d)) {}
  ~v1_driver() override {  // the worker's directories, once its tasks' groups are gone
    for (const std::string* dir :
         {&d_.memory, &d_.cpu, &d_.cpuacct, &d_.pids, &d_.freezer, &d_.devices})
      if (!dir->empty()) ::rmdir(dir->c_str());
  }
  isolation_mode mode() const override { return isolation_mode::v1; }
  result<std::unique_ptr<task_cgroup>> create(const std::string& name,
                                              const cgroup_limits& limits) override {
    auto g = std::make_unique<v1_group>(d_, name);
    if (auto r = g->make(limits); !r) {
      g->remove();
      return fail(r.error().code == errc::io_error ? errc::failed_precondition : r.error().code,
                  r.error().message);
    }
    return std::unique_ptr<task_cgroup>(std::move(g));
  }
  std::string describe() const override { return d_.memory + " (and the other hierarchies)"; }

 private:
  cgroup_v1_dirs d_;
};

}  // namespace

result<std::unique_ptr<cgroup_driver>> make_cgroup_v1(const cgroup_v1_dirs& d) {
  for (const std::string* dir : {&d.memory, &d.cpu, &d.cpuacct, &d.pids, &d.freezer, &d.devices}) {
    if (dir->empty()) continue;
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec)
      return fail(errc::failed_precondition,
                  "cgroup v1: cannot create " + *dir + ": " + ec.message());
  }
  return std::unique_ptr<cgroup_driver>(std::make_unique<v1_driver>(d));
}

}  // namespace gantry
