#include "worker/mps.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/log.hpp"

namespace gantry {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPidFile = "nvidia-cuda-mps-control.pid";

bool executable(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string lookup(const std::vector<std::pair<std::string, std::string>>& env,
                   const std::string& name) {
  for (const auto& [k, v] : env)
    if (k == name) return v;
  return "";
}

// Whether the daemon whose pid file is in `pipe_dir` is alive.
bool daemon_alive(const std::string& pipe_dir) {
  std::ifstream in(fs::path(pipe_dir) / kPidFile);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

mps_manager::mps_manager(mps_options opts) : opts_(std::move(opts)) {}

mps_manager::~mps_manager() {
  for (auto& [index, d] : daemons_) stop(index, d);
}

std::string mps_manager::control_path() const {
  if (opts_.control.find('/') != std::string::npos)
    return executable(opts_.control) ? opts_.control : "";
  std::string path = lookup(opts_.env, "PATH");
  if (path.empty())
    if (const char* p = std::getenv("PATH")) path = p;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + opts_.control;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

mps_endpoint mps_manager::endpoint(int32_t index) const {
  fs::path base = fs::path(opts_.root_dir) / std::to_string(index);
  return {(base / "pipe").string(), (base / "log").string()};
}

result<void> mps_manager::control(const std::vector<std::string>& args, const std::string& input,
                                  const mps_endpoint& where, const std::string& uuid) const {
  const std::string program = control_path();
  if (program.empty())
    return fail(errc::unavailable, opts_.control + " is not an executable on PATH");
  // Everything the children need is built before fork(): after it only async-signal-safe
  // calls are made.
  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (const auto& [k, v] : opts_.env)
    if (k != "CUDA_MPS_PIPE_DIRECTORY" && k != "CUDA_MPS_LOG_DIRECTORY" &&
        k != "CUDA_VISIBLE_DEVICES")
      env_s.push_back(k + "=" + v);
  env_s.push_back("CUDA_MPS_PIPE_DIRECTORY=" + where.pipe_dir);
  env_s.push_back("CUDA_MPS_LOG_DIRECTORY=" + where.log_dir);
  env_s.push_back("CUDA_VISIBLE_DEVICES=" + uuid);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  for (auto& s : env_s) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, status_pipe[2] = {-1, -1};
  std::string out_path = (fs::path(where.log_dir) / "gantry-control.out").string();
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0 || ::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
    std::string why = std::strerror(errno);
    close_fd(out), close_fd(in[0]), close_fd(in[1]), close_fd(status_pipe[0]);
    close_fd(status_pipe[1]);
    return fail(errc::io_error, "cannot run " + program + ": " + why);
  }
  // A command is a line or two: it fits the pipe's buffer, so it is written before fork().
  ssize_t written = input.empty() ? 0 : ::write(in[1], input.data(), input.size());
  close_fd(in[1]);
  if (written != static_cast<ssize_t>(input.size())) {
    close_fd(out), close_fd(in[0]), close_fd(status_pipe[0]), close_fd(status_pipe[1]);
    return fail(errc::io_error, "cannot pass a command to " + program);
  }
  // The control program runs as the grandchild; the child waits for it and writes its
  // status to the pipe. So the status reaches us even when another thread of this process
  // reaps children with waitpid(-1) (the supervisor's reaper): it can take only the child.
  pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);  // so a timeout kills the control program with its waiter
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      ::dup2(in[0], 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    int st = 127 << 8;
    while (grandchild > 0 && ::waitpid(grandchild, &st, 0) < 0 && errno == EINTR) {
    }
    ssize_t ignored = ::write(status_pipe[1], &st, sizeof st);
    (void)ignored;
    ::_exit(0);
  }
  int fork_errno = errno;
  if (child > 0) ::setpgid(child, child);  // as the child does: whichever runs first
  close_fd(in[0]), close_fd(out), close_fd(status_pipe[1]);
  if (child < 0) {
    close_fd(status_pipe[0]);
    return fail(errc::io_error, std::string("fork: ") + std::strerror(fork_errno));
  }
  int st = 0;
  ssize_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{status_pipe[0], POLLIN, 0};
    int ready = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0) got = ::read(status_pipe[0], &st, sizeof st);
    break;
  }
  close_fd(status_pipe[0]);
  if (got != static_cast<ssize_t>(sizeof st)) ::kill(-child, SIGKILL);
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }  // ECHILD: the reaper took it
  std::string what =
      program + (args.empty() ? " <<< " + input.substr(0, input.find('\n')) : " " + args.front());
  if (got != static_cast<ssize_t>(sizeof st))
    return fail(errc::timeout,
                what + ": no answer within " + std::to_string(opts_.timeout_ms) + " ms");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
  std::string how = WIFEXITED(st) ? "exited with code " + std::to_string(WEXITSTATUS(st))
                                  : "killed by signal " + std::to_string(WTERMSIG(st));
  return fail(errc::unavailable, what + " " + how + " (see " + out_path + ")");
}

result<mps_endpoint> mps_manager::acquire(int32_t index, const std::string& uuid) {
  if (auto it = daemons_.find(index); it != daemons_.end()) {
    ++it->second.users;
    return it->second.where;
  }
  if (uuid.empty())
    return fail(errc::unavailable,
                "GPU " + std::to_string(index) +
                    " has no UUID, which its MPS daemon needs to serve it alone");
  mps_endpoint where = endpoint(index);
  std::error_code ec;
  fs::create_directories(where.pipe_dir, ec);
  if (!ec) fs::create_directories(where.log_dir, ec);
  if (ec) return fail(errc::io_error, "cannot create MPS directories: " + ec.message());
  const std::string gpu = "GPU " + std::to_string(index) + " (" + uuid + ")";
  if (daemon_alive(where.pipe_dir) && control({}, "get_server_list\n", where, uuid)) {
    log_info("MPS: adopted the control daemon already serving " + gpu + " in " + where.pipe_dir);
  } else if (auto started = control({"-d"}, "", where, uuid); !started) {
    return fail(errc::unavailable,
                "MPS daemon for " + gpu + " did not start: " + started.error().message);
  } else if (auto ready = answering(where, uuid); !ready) {
    (void)control({}, "quit\n", where, uuid);
    return fail(errc::unavailable,
                "MPS daemon for " + gpu + " started but " + ready.error().message);
  } else {
    log_info("MPS: started a control daemon for " + gpu + " in " + where.pipe_dir);
  }
  daemons_[index] = daemon{where, uuid, 1};
  return where;
}

result<void> mps_manager::answering(const mps_endpoint& where, const std::string& uuid) const {
  // `-d` returns once the daemon forked, maybe before its pipe exists; a task started then
  // would find no daemon and run unfenced.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.timeout_ms);
  for (;;) {
    auto answer = control({}, "get_server_list\n", where, uuid);
    if (answer) return {};
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(errc::timeout, "does not answer: " + answer.error().message);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void mps_manager::release(int32_t index) {
  auto it = daemons_.find(index);
  if (it == daemons_.end() || --it->second.users > 0) return;
  stop(index, it->second);
  daemons_.erase(it);
}

void mps_manager::stop(int32_t index, daemon& d) {
  if (auto quit = control({}, "quit\n", d.where, d.uuid); !quit)
    log_warn("MPS: stopping the daemon of GPU " + std::to_string(index) +
             " failed: " + quit.error().message);
  else
    log_info("MPS: stopped the control daemon of GPU " + std::to_string(index));
}

int32_t mps_manager::users(int32_t index) const {
  auto it = daemons_.find(index);
  return it == daemons_.end() ? 0 : it->second.users;
}

int32_t mps_for_task(mps_manager* mps, const task_spec& task, const std::vector<gpu_info>& gpus,
                     task_paths& paths) {
  if (mps == nullptr || task.gpus.size() != 1 || task.gpu_milli >= kGpuMilliWhole) return -1;
  const int32_t index = task.gpus.front();
  std::string uuid;
  for (const auto& g : gpus)
    if (g.index == index) uuid = g.uuid;
  auto where = mps->acquire(index, uuid);
  if (!where) {
    log_warn("task " + task.task_id + " shares GPU " + std::to_string(index) +
             " time-sliced, without MPS limits: " + where.error().message);
    return -1;
  }
  paths.mps_pipe_dir = where->pipe_dir;
  paths.mps_log_dir = where->log_dir;
  return index;
}

}  // namespace gantry
