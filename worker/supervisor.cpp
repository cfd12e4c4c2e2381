#include "worker/supervisor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/log.hpp"
#include "core/quantity.hpp"
#include "core/task_environment.hpp"
#include "worker/device_rules.hpp"
#include "worker/launcher.hpp"
#include "worker/log_cap.hpp"
#include "worker/reaper.hpp"
#include "worker/task_files.hpp"

namespace gantry {
namespace {

struct launch_req {
  task_spec task;
};
struct kill_req {
  std::string task_id;
  uint32_t grace_ms;
};
struct escalate {
  std::string task_id;
};
struct child_exited {
  pid_t pid;
  int status;
};
struct read_log_req {
  std::string task_id;
  uint64_t offset;
  uint32_t max_bytes;
};
struct list_req {};
struct sample_req {};
struct stop_req {
  uint32_t grace_ms;
};
struct scan_checkpoints {};
struct sweep_task_files {};
struct signal_req {
  std::string task_id;
  int32_t sig;
};
struct time_up {
  std::string task_id;
};
struct remove_group {
  std::shared_ptr<task_cgroup> group;
  int tries;
};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::launch_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::kill_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::escalate)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::child_exited)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::read_log_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::list_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::sample_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::stop_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::scan_checkpoints)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::sweep_task_files)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::signal_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::time_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::remove_group)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::result<int64_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::result<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::result<gantry::log_chunk>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::result<std::vector<gantry::task_report>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::result<std::vector<gantry::task_sample>>)

namespace gantry {
namespace {

// A running task. Finished tasks are forgotten; their logs stay on disk under their id.
struct task_entry {
  task_spec spec;
  pid_t pid = 0;
  std::string log_path;
  std::set<int64_t> reported_steps;  // checkpoint commits already sent
  std::chrono::system_clock::time_point started;
  std::chrono::steady_clock::time_point started_steady;  // for its wall time
  std::shared_ptr<task_cgroup> group;                    // null without cgroups
  bool time_limited = false;                             // stopped by its time limit
  int32_t mps_gpu = -1;  // the GPU whose MPS daemon it holds; -1 none
};

struct sup_state {
  supervisor_options opts;
  std::shared_ptr<report_sink> reports;
  std::shared_ptr<reaper> reap;
  std::map<std::string, task_entry> tasks;
  std::map<pid_t, std::string> by_pid;
  std::set<std::string> tombstones;  // killed before their launch arrived
  std::vector<std::pair<caf::response_promise, uint32_t>> stop_waiters;
  bool scanning = false;  // a checkpoint scan is scheduled
  // Holds running tasks' logs to opts.max_log_bytes and serves log reads (worker/log_cap.hpp).
  std::unique_ptr<log_trimmer> logs;
  static inline const char* name = "gantry.supervisor";
};

using sup_t = caf::stateful_actor<sup_state>;

constexpr auto kCheckpointScan = std::chrono::milliseconds(250);
// How often running tasks' logs are held to --max-log-bytes: between two trims a log grows by
// what its task writes in this time. Trims run on the trimmer's thread, never in this actor
// (but for a task's last, at its exit).
constexpr auto kLogTrim = std::chrono::milliseconds(250);
// A task group is removed once its last process has left it; killed processes leave within
// milliseconds, so this gives up (leaving an empty group) only when something is stuck.
constexpr auto kGroupRemoveRetry = std::chrono::milliseconds(50);
constexpr int kGroupRemoveTries = 200;

// SIGKILL to the task's process group and, with cgroups, to every process in its group
// (also those that left the process group: setsid, double forks).
void kill_tree(const task_entry& t) {
  ::kill(-t.pid, SIGKILL);
  if (t.group) t.group->kill_all();
}

// The main process's CPU time (utime + stime) and VmHWM from /proc; -1 where unreadable.
std::pair<int64_t, int64_t> process_usage(pid_t pid) {
  std::pair<int64_t, int64_t> out{-1, -1};
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  if (auto close = text.rfind(')'); close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    int64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoll(field);
      if (i == 15) stime = std::stoll(field);
    }
    if (rest) out.first = (utime + stime) * 1'000'000 / sysconf(_SC_CLK_TCK);
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) out.second = std::stoll(line.substr(6)) * 1024;  // kB
  return out;
}

task_sample sample_of(const std::string& id, const task_entry& t) {
  task_sample s{id, t.spec.job_id};
  if (t.group) {
    cgroup_usage u = t.group->usage();
    s.cpu_usec = u.cpu_usec;
    s.peak_memory_bytes = u.peak_memory_bytes;
    s.from_cgroup = true;
  } else if (t.pid > 0) {
    std::tie(s.cpu_usec, s.peak_memory_bytes) = process_usage(t.pid);
  }
  return s;
}

void release_group(sup_t* self, std::shared_ptr<task_cgroup> group, int tries) {
  if (!group) return;
  auto r = group->remove();
  if (r) return;
  if (r.error().code == errc::unavailable && tries < kGroupRemoveTries) {
    self->delayed_send(self, kGroupRemoveRetry, remove_group{std::move(group), tries + 1});
    return;
  }
  log_warn("task cgroup left behind: " + r.error().message);
}

// Reports every step-N/rank-R.done marker of the task's rank not reported yet.
void scan_task_checkpoints(sup_t* self, task_entry& t) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(t.spec.checkpoint_dir, ec);
  if (ec) return;  // not created yet
  std::string marker = "rank-" + std::to_string(t.spec.rank) + ".done";
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0) continue;
    char* end = nullptr;
    long long step = std::strtoll(name.c_str() + 5, &end, 10);
    if (!end || *end != '\0' || step < 0 || t.reported_steps.count(step)) continue;
    struct stat sb {};
    if (::stat((entry.path() / marker).c_str(), &sb) != 0) continue;
    // A marker older than the task is another run's (or an older attempt's, already
    // reported by its own task): only this task's commits are reported.
    auto written = std::chrono::system_clock::time_point(
        std::chrono::seconds(sb.st_mtim.tv_sec) + std::chrono::nanoseconds(sb.st_mtim.tv_nsec));
    if (written + std::chrono::seconds(2) < t.started) continue;
    t.reported_steps.insert(step);
    self->state.reports->checkpoint_committed(t.spec.task_id, step);
  }
}

void ensure_scanning(sup_t* self) {
  if (self->state.scanning) return;
  self->state.scanning = true;
  self->delayed_send(self, kCheckpointScan, scan_checkpoints{});
}

// Task ids name directories: letters, digits, '.', '_', '-', and no leading dot.
bool safe_task_id(const std::string& id) {
  if (id.empty() || id.size() > 200 || id[0] == '.') return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

std::filesystem::path task_dir(const sup_state& st, const std::string& task_id) {
  return std::filesystem::path(st.opts.data_dir) / "tasks" / task_id;
}

result<int64_t> do_launch(sup_t* self, task_spec& task) {
  auto& st = self->state;
  if (!safe_task_id(task.task_id) || !safe_task_id(task.job_id))
    return fail(errc::invalid_argument, "bad task or job id \"" + task.task_id + "\"");
  if (st.tombstones.erase(task.task_id))
    return fail(errc::failed_precondition,
                "task " + task.task_id + " was cancelled before it started");
  if (auto it = st.tasks.find(task.task_id); it != st.tasks.end())
    return it->second.pid;  // a repeated launch: the same process
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = task_dir(st, task.task_id);
  if (fs::exists(dir, ec))  // finished tasks are forgotten, their directories are not
    return fail(errc::already_exists, "task " + task.task_id + " already ran on this worker");
  fs::path out = fs::path(st.opts.shared_dir) / task.job_id;
  fs::create_directories(dir, ec);
  if (!ec) fs::create_directories(out, ec);
  if (ec) return fail(errc::io_error, "cannot create task directories: " + ec.message());
  const unix_user* user = st.opts.users ? &st.opts.users->user_for(task.owner) : nullptr;
  if (user) {
    auto given = hand_over(dir.string(), *user, 0700);
    if (given) given = hand_over(out.string(), *user);
    if (!given) return fail(given.error());
  }
  task_entry entry;
  entry.log_path = (dir / "output.log").string();
  // A task run as another user gets its own directory as HOME: the worker's may be closed.
  task_paths paths{out.string(), dir.string(), "", "", user ? dir.string() : ""};
  auto env = task_environment(task, st.opts.facts, paths);
  if (!env) return fail(env.error());
  if (!task.working_dir.empty() && task.working_dir[0] != '/')
    return fail(errc::invalid_argument, "working_dir \"" + task.working_dir + "\" is not absolute");
  // A task sharing a GPU holds its MPS daemon until it exits; the environment then names it.
  if ((entry.mps_gpu = mps_for_task(st.opts.mps.get(), task, st.opts.facts.gpus, paths)) >= 0)
    env = task_environment(task, st.opts.facts, paths);
  std::string cwd = task.working_dir.empty() ? dir.string() : task.working_dir;
  process_spec ps{task.command, std::move(*env), std::move(cwd), entry.log_path};
  if (user) {
    ps.switch_user = true;
    ps.uid = user->uid;
    ps.gid = user->gid;
    ps.groups = user->groups;
  }
  if (st.opts.cgroups) {
    auto group =
        st.opts.cgroups->create(task.task_id, {task.memory_bytes, task.cpu_milli, st.opts.pids_max,
                                               gpu_deny(st.opts.gpu_devices, task.gpus)});
    if (!group) {
      if (entry.mps_gpu >= 0) st.opts.mps->release(entry.mps_gpu);
      log_warn("task " + task.task_id + " did not start: " + group.error().message);
      return fail(errc::failed_precondition,
                  "cannot create the task's cgroup: " + group.error().message);
    }
    entry.group = std::move(*group);
    ps.cgroup_procs = entry.group->procs_files();
    ps.cgroup_dir = entry.group->clone_into();
  }
  auto pid = spawn_process(ps);  // returns once the program runs, or with why it cannot
  if (!pid) {
    if (entry.mps_gpu >= 0) st.opts.mps->release(entry.mps_gpu);
    log_warn("task " + task.task_id + " did not start: " + pid.error().message);
    release_group(self, std::move(entry.group), 0);
    return fail(pid.error());
  }
  st.reap->child_started(*pid);
  entry.pid = *pid;
  entry.started = std::chrono::system_clock::now();
  entry.started_steady = std::chrono::steady_clock::now();
  if (task.time_limit_ms > 0)
    self->delayed_send(self, std::chrono::milliseconds(task.time_limit_ms), time_up{task.task_id});
  entry.spec = std::move(task);
  st.by_pid[*pid] = entry.spec.task_id;
  log_info("started " + entry.spec.task_id + " (pid " + std::to_string(*pid) + ")");
  std::string id = entry.spec.task_id;
  bool checkpoints = !entry.spec.checkpoint_dir.empty();
  st.logs->add(entry.log_path, id);
  st.tasks.emplace(id, std::move(entry));
  if (checkpoints) ensure_scanning(self);
  return static_cast<int64_t>(*pid);
}

void on_exit(sup_t* self, child_exited& m) {
  auto& st = self->state;
  auto id = st.by_pid.find(m.pid);
  if (id == st.by_pid.end()) return;
  auto it = st.tasks.find(id->second);
  st.by_pid.erase(id);
  if (it == st.tasks.end()) return;
  task_entry& t = it->second;
  int32_t exit_code = -1;
  std::string message;
  if (WIFEXITED(m.status)) {
    exit_code = WEXITSTATUS(m.status);
    if (exit_code != 0) message = "exited with code " + std::to_string(exit_code);
  } else if (WIFSIGNALED(m.status)) {
    exit_code = 128 + WTERMSIG(m.status);
    message = std::string("killed by signal ") + std::to_string(WTERMSIG(m.status)) + " (" +
              strsignal(WTERMSIG(m.status)) + ")";
  }
  kill_tree(t);  // whatever the task left behind (daemons too) goes with it
  task_report report{t.spec.task_id, t.pid, false, exit_code, message};
  report.usage.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - t.started_steady)
                             .count();
  if (t.group) {
    cgroup_usage u = t.group->usage();
    report.usage.peak_memory_bytes = u.peak_memory_bytes;
    report.usage.cpu_usec = u.cpu_usec;
    if (u.oom_kills > 0 && exit_code != 0)
      report.message =
          "out of memory: limit " + format_bytes(t.spec.memory_bytes) + ", peak " +
          format_bytes(u.peak_memory_bytes >= 0 ? u.peak_memory_bytes : t.spec.memory_bytes);
  }
  if (t.time_limited && exit_code != 0) {
    report.message = "time limit " + format_duration(t.spec.time_limit_ms) + " exceeded";
    report.time_limit_exceeded = true;
  }
  if (!t.spec.checkpoint_dir.empty()) scan_task_checkpoints(self, t);  // a last commit
  st.logs->finish(t.log_path);  // its log is within the cap once its exit is reported
  log_info("task " + t.spec.task_id +
           " ended: " + (report.message.empty() ? "exit 0" : report.message));
  st.reports->task_exited(report);
  release_group(self, std::move(t.group), 0);
  if (t.mps_gpu >= 0) st.opts.mps->release(t.mps_gpu);
  mark_task_ended(task_dir(st, t.spec.task_id).string());  // its files' retention starts
  st.tasks.erase(it);  // its log stays on disk, found by its task id
  if (self->state.tasks.empty()) {
    for (auto& [rp, grace] : st.stop_waiters) rp.deliver(result<void>{});
    st.stop_waiters.clear();
  }
}

result<log_chunk> read_log(sup_t* self, const read_log_req& m) {
  if (!safe_task_id(m.task_id)) return fail(errc::invalid_argument, "bad task id");
  bool running = self->state.tasks.count(m.task_id) > 0;
  std::string path = (task_dir(self->state, m.task_id) / "output.log").string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (running) return log_chunk{"", m.offset, false};  // nothing written yet
    return fail(errc::not_found,
                "task " + m.task_id + " has no log on this worker" +
                    (self->state.opts.retain_task_files_ms > 0
                         ? " (a finished task's files are removed " +
                               format_duration_ms(self->state.opts.retain_task_files_ms) +
                               " after it ended, see --retain-task-files)"
                         : ""));
  }
  log_chunk chunk = self->state.logs->read(fd, m.offset, m.max_bytes, !running);
  ::close(fd);
  return chunk;
}

caf::behavior sup_behavior(sup_t* self, supervisor_options opts,
                           std::shared_ptr<report_sink> reports) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.reports = std::move(reports);
  st.logs = std::make_unique<log_trimmer>(st.opts.max_log_bytes, kLogTrim);
  if (st.opts.users)
    if (auto closed = close_data_dir(st.opts.data_dir); !closed)
      log_warn("tasks may read the worker's data dir: " + closed.error().message);
  st.reap =
      std::make_shared<reaper>([me = caf::actor_cast<caf::actor>(self)](pid_t pid, int status) {
        caf::anon_send(me, child_exited{pid, status});
      });
  if (st.opts.retain_task_files_ms > 0) self->send(self, sweep_task_files{});
  return {
      [self](launch_req& m) -> result<int64_t> { return do_launch(self, m.task); },
      [self](sweep_task_files) {
        auto& st = self->state;
        int64_t keep = st.opts.retain_task_files_ms;
        size_t n = remove_expired_task_dirs(
            (std::filesystem::path(st.opts.data_dir) / "tasks").string(), keep,
            std::chrono::system_clock::now(),
            [&st](const std::string& id) { return st.tasks.count(id) > 0; });
        if (n > 0) log_info("removed the files of " + std::to_string(n) + " finished tasks");
        // Checked ten times per retention period, between once a second and once a minute.
        self->delayed_send(self,
                           std::chrono::milliseconds(std::clamp<int64_t>(keep / 10, 1000, 60000)),
                           sweep_task_files{});
      },
      [self](kill_req& m) -> result<void> {
        auto& st = self->state;
        auto it = st.tasks.find(m.task_id);
        if (it == st.tasks.end()) {
          st.tombstones.insert(m.task_id);
          return {};
        }
        pid_t pgid = it->second.pid;
        if (m.grace_ms == 0) {
          kill_tree(it->second);
        } else {
          ::kill(-pgid, SIGTERM);
          self->delayed_send(self, std::chrono::milliseconds(m.grace_ms), escalate{m.task_id});
        }
        return {};
      },
      [self](signal_req& m) -> result<void> {
        auto it = self->state.tasks.find(m.task_id);
        if (it == self->state.tasks.end())
          return fail(errc::not_found, "task " + m.task_id + " is not running here");
        if (m.sig <= 0 || m.sig >= 65) return fail(errc::invalid_argument, "bad signal");
        ::kill(-it->second.pid, m.sig);
        return {};
      },
      [self](escalate& m) {
        auto it = self->state.tasks.find(m.task_id);
        if (it != self->state.tasks.end()) {
          log_warn("task " + m.task_id + " ignored SIGTERM; sending SIGKILL");
          kill_tree(it->second);
        }
      },
      [self](time_up& m) {
        auto it = self->state.tasks.find(m.task_id);
        if (it == self->state.tasks.end() || it->second.time_limited) return;
        task_entry& t = it->second;
        t.time_limited = true;
        log_warn("task " + m.task_id + " reached its time limit (" +
                 format_duration(t.spec.time_limit_ms) + "): SIGTERM, SIGKILL in " +
                 std::to_string(self->state.opts.time_limit_grace_ms) + " ms");
        ::kill(-t.pid, SIGTERM);
        self->delayed_send(self, std::chrono::milliseconds(self->state.opts.time_limit_grace_ms),
                           escalate{m.task_id});
      },
      [self](remove_group& m) { release_group(self, std::move(m.group), m.tries); },
      [self](child_exited& m) { on_exit(self, m); },
      [self](scan_checkpoints) {
        auto& st = self->state;
        st.scanning = false;
        bool any = false;
        for (auto& [id, t] : st.tasks) {
          if (t.spec.checkpoint_dir.empty()) continue;
          scan_task_checkpoints(self, t);
          any = true;
        }
        if (any) ensure_scanning(self);
      },
      [self](read_log_req& m) -> result<log_chunk> { return read_log(self, m); },
      [self](list_req) -> result<std::vector<task_report>> {
        std::vector<task_report> out;
        for (const auto& [id, t] : self->state.tasks) out.push_back({id, t.pid, true, -1, ""});
        return out;
      },
      [self](sample_req) -> result<std::vector<task_sample>> {
        std::vector<task_sample> out;
        for (const auto& [id, t] : self->state.tasks) out.push_back(sample_of(id, t));
        return out;
      },
      [self](stop_req& m) {
        auto rp = self->make_response_promise();
        for (auto& [id, t] : self->state.tasks) {
          ::kill(-t.pid, SIGTERM);
          self->delayed_send(self, std::chrono::milliseconds(m.grace_ms), escalate{id});
        }
        if (self->state.tasks.empty())
          rp.deliver(result<void>{});
        else
          self->state.stop_waiters.emplace_back(rp, m.grace_ms);
        return rp;
      },
  };
}

// A port the kernel says is free now: bound to port 0, read back, released. Another
// process could take it before the task binds it; the kernel hands ephemeral ports out
// in a rotating order, which makes that unlikely.
result<uint16_t> free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errc::io_error, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return fail(errc::io_error, std::string("bind: ") + std::strerror(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <class R, class Msg>
void ask_sup(caf::actor_system& sys, const caf::actor& sup, Msg m, callback<R> done) {
  sys.spawn([sup, m = std::move(m), done = std::move(done)](caf::event_based_actor* self) mutable {
    self->request(sup, caf::infinite, std::move(m))
        .then([done](result<R>& r) { done(std::move(r)); },
              [done](caf::error& e) { done(fail(errc::unavailable, caf::to_string(e))); });
  });
}

class supervisor_agent final : public task_agent {
 public:
  supervisor_agent(caf::actor_system& sys, caf::actor sup) : sys_(sys), sup_(std::move(sup)) {}
  void launch(task_spec task, callback<int64_t> done) override {
    ask_sup<int64_t>(sys_, sup_, launch_req{std::move(task)}, std::move(done));
  }
  void kill(std::string task_id, uint32_t grace_ms, callback<void> done) override {
    ask_sup<void>(sys_, sup_, kill_req{std::move(task_id), grace_ms}, std::move(done));
  }
  void read_log(std::string task_id, uint64_t offset, uint32_t max_bytes,
                callback<log_chunk> done) override {
    ask_sup<log_chunk>(sys_, sup_, read_log_req{std::move(task_id), offset, max_bytes},
                       std::move(done));
  }
  void reserve_port(callback<uint16_t> done) override { done(free_tcp_port()); }
  void signal(std::string task_id, int32_t sig, callback<void> done) override {
    ask_sup<void>(sys_, sup_, signal_req{std::move(task_id), sig}, std::move(done));
  }
  void list_running(callback<std::vector<task_report>> done) override {
    ask_sup<std::vector<task_report>>(sys_, sup_, list_req{}, std::move(done));
  }

 private:
  caf::actor_system& sys_;
  caf::actor sup_;
};

}  // namespace

struct supervisor::impl {
  caf::actor_system& sys;
  caf::actor actor;
  supervisor_agent agent;
};

supervisor::supervisor(caf::actor_system& sys, supervisor_options opts,
                       std::shared_ptr<report_sink> reports) {
  caf::actor a = sys.spawn(sup_behavior, std::move(opts), std::move(reports));
  impl_.reset(new impl{sys, a, supervisor_agent(sys, a)});
}

supervisor::~supervisor() {
  caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

task_agent& supervisor::agent() {
  return impl_->agent;
}

void supervisor::sample(callback<std::vector<task_sample>> done) {
  ask_sup<std::vector<task_sample>>(impl_->sys, impl_->actor, sample_req{}, std::move(done));
}

void supervisor::stop_all(uint32_t grace_ms, callback<void> done) {
  ask_sup<void>(impl_->sys, impl_->actor, stop_req{grace_ms}, std::move(done));
}

}  // namespace gantry
