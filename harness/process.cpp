#include "harness/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gantry::harness {
namespace {

struct registry {
  std::mutex mu;
  std::map<pid_t, std::string> children;
  std::set<std::string> dirs;
};
registry& reg() {
  static registry* r = new registry;  // never destroyed: a watchdog thread may outlive main
  return *r;
}

// Blocks until `fd` is readable or timeout_ms passed; false on timeout.
bool readable(int fd, int64_t timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout_ms, INT32_MAX)));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

}  // namespace

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t now_ms() {
  return now_us() / 1000;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;  // a final newline ends the last line
  for (size_t i = 0; i < lines; ++i) {
    if (pos == 0) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

temp_dir::temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("cannot create " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
  std::lock_guard lock(reg().mu);
  reg().dirs.insert(path_);
}

temp_dir::~temp_dir() {
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::lock_guard lock(reg().mu);
  reg().dirs.erase(path_);
}

process::process(std::vector<std::string> argv, spawn_options o) {
  for (const auto& a : argv) command_line_ += (command_line_.empty() ? "" : " ") + a;
  int fds[2] = {-1, -1};
  if (o.stdout_to_pipe && pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const char* log_path = o.log_path.c_str();
  pid_t parent = getpid();
  std::unique_lock lock(reg().mu);  // a registry_lock holder sees every child
  started_us_ = now_us();
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec.
    if (o.own_process_group) setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, o.parent_death_signal);
    if (getppid() != parent) _exit(1);  // the parent already died
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int out = o.stdout_to_pipe ? fds[1] : log;
    if (out >= 0) dup2(out, 1);
    int err = o.stderr_to_pipe && o.stdout_to_pipe ? fds[1] : log;
    if (err >= 0) dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  int fork_errno = errno;
  if (pid_ > 0) reg().children[pid_] = command_line_;
  lock.unlock();
  if (fds[1] >= 0) close(fds[1]);
  out_ = fds[0];
  if (pid_ < 0) {
    if (out_ >= 0) close(out_);
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));  // -1: wait() polls instead
}

process::~process() {
  if (status_ < 0) {
    ::kill(pid_, SIGKILL);
    std::lock_guard lock(reg().mu);
    waitpid(pid_, nullptr, 0);
    reg().children.erase(pid_);
  }
  if (out_ >= 0) close(out_);
  if (pidfd_ >= 0) close(pidfd_);
}

std::string process::read_line(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0 || out_ < 0 || !readable(out_, left)) return "";
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) return "";
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::string process::read_all(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0 || out_ < 0 || !readable(out_, left)) break;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) break;
    buffer_.append(buf, static_cast<size_t>(n));
  }
  std::string all;
  all.swap(buffer_);
  return all;
}

void process::signal(int sig) {
  if (status_ < 0) ::kill(pid_, sig);
}

int process::wait(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (status_ < 0) {
    {
      std::lock_guard lock(reg().mu);
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        raw_status_ = r == pid_ ? st : 0;
        status_ = WIFEXITED(raw_status_) ? WEXITSTATUS(raw_status_) : 128 + WTERMSIG(raw_status_);
        reg().children.erase(pid_);
        break;
      }
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) return -1;
    if (pidfd_ >= 0)
      readable(pidfd_, left);
    else
      usleep(1000);  // no pidfd on this kernel: look again shortly
  }
  return status_;
}

int process::stop(int grace_ms) {
  signal(SIGTERM);
  if (wait(grace_ms) >= 0) return status_;
  signal(SIGKILL);
  return wait(60000);
}

std::string process::how_it_ended() const {
  if (WIFSIGNALED(raw_status_)) {
    int sig = WTERMSIG(raw_status_);
    const char* name = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exit code " + std::to_string(WEXITSTATUS(raw_status_));
}

registry_lock::registry_lock() : lock_(reg().mu) {}

const std::map<pid_t, std::string>& registry_lock::children() const {
  return reg().children;
}

const std::set<std::string>& registry_lock::temp_dirs() const {
  return reg().dirs;
}

}  // namespace gantry::harness
