#include "tests/cluster/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

namespace gantry::test {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string bin(const std::string& program) {
  return std::string(GANTRY_BIN_DIR) + "/" + program;
}
std::string source_path(const std::string& relative) {
  return std::string(GANTRY_SOURCE_DIR) + "/" + relative;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool pid_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

bool wait_pid_gone(pid_t pid, int timeout_ms) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, timeout_ms);
  close(fd);
  return r > 0;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/gantry-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

process::process(const std::vector<std::string>& args, const std::string& log_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fds[1], 1);
    if (log >= 0) dup2(log, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_ = fds[0];
}

process::~process() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
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
    if (left <= 0) return "";
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
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
    if (left <= 0) break;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
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
  ::kill(pid_, sig);
}

int process::wait(int timeout_ms) {
  if (status_ >= 0) return status_;
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (now_ms() > deadline) return -1;
    // waitpid has no timeout: poll the child's state at a short interval.
    usleep(5000);
  }
}

bool process::running() {
  return wait(0) < 0;
}

cluster::cluster() {
  std::filesystem::create_directories(shared_dir());
}

cluster::~cluster() {
  workers_.clear();
  coordinator_.reset();
}

void cluster::start_coordinator(const std::vector<std::string>& extra) {
  std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
  std::vector<std::string> args{bin("gantry"), "coordinator", "--listen",
                                listen,        "--data-dir",  dir() + "/coordinator"};
  // Slow (sanitizer) builds on a busy machine must not declare a live worker lost; tests
  // that need a hung worker noticed still see it within seconds. A flag in `extra` wins.
  if (std::find(extra.begin(), extra.end(), "--heartbeat-timeout-ms") == extra.end()) {
    args.push_back("--heartbeat-timeout-ms");
    args.push_back("3000");
  }
  args.insert(args.end(), extra.begin(), extra.end());
  coordinator_ = std::make_unique<process>(args, dir() + "/coordinator.log");
  std::string line = coordinator_->read_line(20000);
  auto at = line.rfind(' ');
  if (line.find("listening on") == std::string::npos || at == std::string::npos)
    throw std::runtime_error("coordinator did not start: " + read_file(dir() + "/coordinator.log"));
  address_ = line.substr(at + 1);
}

void cluster::start_worker(const std::string& name, const std::vector<std::string>& extra) {
  std::vector<std::string> args{bin("gantry"),  "worker",    "--coordinator", address_,
                                "--name",       name,        "--data-dir",    dir() + "/" + name,
                                "--shared-dir", shared_dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  workers_[name] = std::make_unique<process>(args, dir() + "/" + name + ".log");
}

void cluster::start(const std::vector<std::string>& workers,
                    const std::vector<std::string>& worker_flags,
                    const std::vector<std::string>& coordinator_flags) {
  start_coordinator(coordinator_flags);
  for (const auto& w : workers) start_worker(w, worker_flags);
  for (const auto& w : workers)
    if (!wait_node(w, "ready"))
      throw std::runtime_error("worker " + w + " did not get ready: " + logs());
}

cli_result cluster::cli(std::vector<std::string> args, int timeout_ms) {
  args.insert(args.begin(), bin("gantry"));
  if (args.size() < 2 || args[1] != "rendezvous") {  // rendezvous takes its address from --scope
    args.push_back("--coordinator");
    args.push_back(address_);
  }
  std::string err_path =
      dir() + "/cli-" + std::to_string(now_ms()) + "-" + std::to_string(rand()) + ".err";
  process p(args, err_path);
  cli_result r;
  int64_t deadline = now_ms() + timeout_ms;
  r.out = p.read_all(timeout_ms);
  r.exit_code = p.wait(static_cast<int>(std::max<int64_t>(1000, deadline - now_ms())));
  r.err = read_file(err_path);
  return r;
}

bool cluster::wait_node(const std::string& name, const std::string& state, int timeout_ms) {
  auto r = cli({"wait", name, "--state", state, "--timeout-ms", std::to_string(timeout_ms)},
               timeout_ms + 10000);
  return r.exit_code == 0;
}

std::string cluster::write_manifest(const std::string& name, const std::string& yaml) {
  std::string path = dir() + "/" + name;
  std::ofstream(path) << yaml;
  return path;
}

std::string cluster::submit(const std::string& name, const std::string& yaml) {
  auto r = cli({"submit", write_manifest(name, yaml)});
  if (r.exit_code != 0) throw std::runtime_error("submit " + name + " failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

event_stream::event_stream(cluster& c, const std::string& job)
    : p({bin("gantry"), "watch", job, "--json", "--coordinator", c.address()},
        c.dir() + "/watch-" + job + ".err") {}

std::string cluster::log_of(const std::string& name) const {
  return read_file(dir() + "/" + name + ".log");
}

std::string cluster::logs() const {
  auto tail = [](const std::string& text) {
    size_t at = text.size();
    for (int lines = 0; lines <= 40; ++lines) {
      if (at == 0) return text;
      at = text.rfind('\n', at - 1);
      if (at == std::string::npos) return text;
    }
    return text.substr(at + 1);
  };
  std::string out = "--- coordinator.log (tail)\n" + tail(log_of("coordinator"));
  for (const auto& [name, w] : workers_)
    out += "--- " + name + ".log (tail)\n" + tail(log_of(name));
  return out;
}

}  // namespace gantry::test
