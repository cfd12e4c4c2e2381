#include "bench/bench_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

namespace gantry::bench {
namespace {

// Everything cleanup must undo, and the armed deadlines.
struct registry {
  std::mutex mu;
  std::map<pid_t, std::string> pids;  // child -> its command line, for failure reports
  std::set<std::string> dirs;
  std::map<uint64_t, std::pair<int64_t, std::string>> deadlines;  // id -> (expiry us, what)
  uint64_t next_id = 1;
};
registry& reg() {
  static registry* r = new registry;  // never destroyed: the watchdog may outlive main
  return *r;
}

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

// GANTRY_BENCH_KEEP=1 keeps the temp dirs (logs, stores) for a look afterwards.
bool keep_dirs() {
  const char* v = std::getenv("GANTRY_BENCH_KEEP");
  return v && *v && std::string(v) != "0";
}

// After a failure: which children had already ended and how, and the tail of every log in
// the temp dirs. REQUIRES: reg().mu held.
void report_children_and_logs() {
  for (const auto& [pid, what] : reg().pids) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) != pid) continue;
    std::fprintf(stderr, "bench: child %d had ended (%s %d): %s\n", pid,
                 WIFSIGNALED(st) ? "signal" : "exit code",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), what.c_str());
  }
  for (const auto& d : reg().dirs) {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(d, ec))
      if (f.path().extension() == ".log")
        std::fprintf(stderr, "--- %s (last lines)\n%s\n", f.path().c_str(),
                     tail(read_file(f.path()), 12).c_str());
  }
}

[[noreturn]] void cleanup_and_exit(int code) {
  static std::atomic<bool> once{false};
  if (once.exchange(true)) {
    for (;;) pause();  // another thread is already cleaning up and will exit
  }
  std::lock_guard lock(reg().mu);
  if (code != 130) report_children_and_logs();
  for (const auto& [pid, what] : reg().pids) ::kill(pid, SIGKILL);
  for (const auto& [pid, what] : reg().pids) waitpid(pid, nullptr, 0);
  for (const auto& d : reg().dirs) {
    if (keep_dirs()) {
      std::fprintf(stderr, "bench: kept %s\n", d.c_str());
      continue;
    }
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
  std::fflush(nullptr);
  _exit(code);
}

void watchdog_loop() {
  sigset_t sigs = stop_signals();
  timespec tick{0, 50'000'000};
  for (;;) {
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig > 0) {
      std::fprintf(stderr, "bench: stopped by %s; cleaning up\n", strsignal(sig));
      cleanup_and_exit(130);
    }
    std::string expired;
    {
      std::lock_guard lock(reg().mu);
      for (const auto& [id, d] : reg().deadlines)
        if (now_us() > d.first) expired = d.second;
    }
    if (!expired.empty()) {
      std::fprintf(stderr, "bench: deadline exceeded: %s\n", expired.c_str());
      cleanup_and_exit(124);
    }
  }
}

}  // namespace

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}
double ms_between(int64_t from_us, int64_t to_us) {
  return static_cast<double>(to_us - from_us) / 1e3;
}
int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void install_cleanup() {
  sigset_t sigs = stop_signals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::thread(watchdog_loop).detach();
}

void fail_now(const std::string& message) {
  std::fprintf(stderr, "bench: %s\n", message.c_str());
  cleanup_and_exit(1);
}

deadline::deadline(int ms, std::string what) {
  std::lock_guard lock(reg().mu);
  id_ = reg().next_id++;
  reg().deadlines[id_] = {now_us() + int64_t{ms} * 1000, std::move(what)};
}
deadline::~deadline() {
  std::lock_guard lock(reg().mu);
  reg().deadlines.erase(id_);
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/gantry-bench-XXXXXX";
  if (!mkdtemp(tmpl)) fail_now("mkdtemp failed");
  path_ = tmpl;
  std::lock_guard lock(reg().mu);
  reg().dirs.insert(path_);
}
temp_dir::~temp_dir() {
  if (keep_dirs()) {
    std::fprintf(stderr, "bench: kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  std::lock_guard lock(reg().mu);
  reg().dirs.erase(path_);
}

process::process(const std::vector<std::string>& args, const std::string& log_path,
                 bool stdout_to_log) {
  int fds[2] = {-1, -1};
  if (!stdout_to_log && pipe2(fds, O_CLOEXEC) != 0) fail_now("pipe failed");
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  sigset_t sigs = stop_signals();
  std::unique_lock lock(reg().mu);  // cleanup sees every child
  started_us_ = now_us();
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec.
    setpgid(0, 0);  // a Ctrl-C reaches the bench, which stops the children in order
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigprocmask(SIG_UNBLOCK, &sigs, nullptr);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    dup2(stdout_to_log ? log : fds[1], 1);
    if (log >= 0) dup2(log, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid_ < 0) {
    lock.unlock();
    fail_now("fork failed");
  }
  std::string what;
  for (const auto& a : args) what += (what.empty() ? "" : " ") + a;
  reg().pids[pid_] = what;
  if (!stdout_to_log) {
    close(fds[1]);
    out_ = fds[0];
  }
}

process::~process() {
  if (status_ < 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    std::lock_guard lock(reg().mu);
    reg().pids.erase(pid_);
  }
  if (out_ >= 0) close(out_);
}

std::string process::read_line(int timeout_ms) {
  int64_t end = now_us() + int64_t{timeout_ms} * 1000;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    int64_t left_ms = (end - now_us()) / 1000;
    if (left_ms <= 0 || out_ < 0) return "";
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) return "";
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void process::signal(int sig) {
  if (status_ < 0) ::kill(pid_, sig);
}

int process::wait(int timeout_ms) {
  int64_t end = now_us() + int64_t{timeout_ms} * 1000;
  while (status_ < 0) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      std::lock_guard lock(reg().mu);
      reg().pids.erase(pid_);
      break;
    }
    if (now_us() > end) return -1;
    usleep(1000);  // waitpid has no timeout
  }
  return status_;
}

std::string bin_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

std::string gantry_bin() {
  std::string path = bin_dir() + "/gantry";
  if (access(path.c_str(), X_OK) != 0) fail_now(path + " not found: build the gantry target");
  return path;
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

int64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

local_cluster::local_cluster(std::vector<std::string> coordinator_flags)
    : coordinator_flags_(std::move(coordinator_flags)) {
  std::filesystem::create_directories(dir() + "/shared");
}

local_cluster::~local_cluster() {
  workers_.clear();
  coordinator_.reset();
}

double local_cluster::start_coordinator(int timeout_ms) {
  std::vector<std::string> args{gantry_bin(), "coordinator",
                                "--listen",   address_.empty() ? "127.0.0.1:0" : address_,
                                "--data-dir", coordinator_data_dir()};
  args.insert(args.end(), coordinator_flags_.begin(), coordinator_flags_.end());
  coordinator_ = std::make_unique<process>(args, dir() + "/coordinator.log");
  std::string line = coordinator_->read_line(timeout_ms);
  int64_t at = now_us();
  auto space = line.rfind(' ');
  if (line.find("listening on") == std::string::npos || space == std::string::npos)
    fail_now("the coordinator did not start:\n" + tail(log("coordinator"), 20));
  address_ = line.substr(space + 1);
  return ms_between(coordinator_->started_us(), at);
}

void local_cluster::stop_coordinator(int sig) {
  coordinator_->signal(sig);
  if (coordinator_->wait(20000) < 0) coordinator_->signal(SIGKILL);
  coordinator_.reset();
}

void local_cluster::start_worker(const std::string& name, const std::vector<std::string>& flags) {
  std::vector<std::string> args{
      gantry_bin(), "worker",     "--coordinator",    address_,       "--name",
      name,         "--data-dir", dir() + "/" + name, "--shared-dir", dir() + "/shared"};
  args.insert(args.end(), flags.begin(), flags.end());
  workers_[name] = std::make_unique<process>(args, dir() + "/" + name + ".log", true);
}

void local_cluster::stop_worker(const std::string& name) {
  workers_.erase(name);  // SIGKILL and reap
}

std::unique_ptr<client> connect(const std::string& address) {
  return must(client::connect(address, 5000), "connecting to " + address);
}

std::unique_ptr<client> start_cluster(local_cluster& cl, const std::vector<std::string>& workers,
                                      const std::vector<std::string>& worker_flags) {
  deadline d(90000, "starting the cluster");
  cl.start_coordinator();
  for (const auto& w : workers) cl.start_worker(w, worker_flags);
  auto c = connect(cl.address());
  wait_ready(*c, workers, 20000);
  return c;
}

void wait_ready(client& c, const std::vector<std::string>& names, uint32_t timeout_ms) {
  int64_t end = now_us() + int64_t{timeout_ms} * 1000;
  for (const auto& n : names) {
    int64_t left = std::max<int64_t>(1, (end - now_us()) / 1000);
    must(c.wait_node(n, "ready", static_cast<uint32_t>(left)), "waiting for node " + n);
  }
}

job_watch::job_watch(const std::string& address, const std::string& job_id) {
  thread_ = std::thread([this, address, job_id] {
    auto c = client::connect(address, 5000);
    if (c) {
      auto r = (*c)->watch(job_id, 1, [this](const job_event& e) {
        int64_t at = now_us();
        std::lock_guard lock(mu_);
        events_.push_back({e, at});
        cv_.notify_all();
      });
      if (!r)
        std::fprintf(stderr, "bench: watch %s: %s\n", job_id.c_str(), r.error().message.c_str());
    }
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  });
}

job_watch::~job_watch() {
  thread_.join();
}

bool job_watch::wait_for(const std::function<bool(const std::vector<timed_event>&)>& pred,
                         int timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return pred(events_) || done_;
  }) && pred(events_);
}

std::vector<timed_event> job_watch::events() {
  std::lock_guard lock(mu_);
  return events_;
}

node_wait::node_wait(const std::string& address, const std::string& name, const std::string& state,
                     uint32_t timeout_ms) {
  auto connected = std::make_shared<std::promise<void>>();
  auto ready = connected->get_future();
  thread_ = std::thread([this, connected, address, name, state, timeout_ms] {
    auto c = client::connect(address, 5000);
    connected->set_value();
    if (!c) {
      error_ = c.error().message;
      return;
    }
    auto r = (*c)->wait_node(name, state, timeout_ms);
    answered_us_ = now_us();
    if (!r) {
      error_ = r.error().message;
      answered_us_ = -1;
    }
  });
  ready.wait();
}

node_wait::~node_wait() {
  if (thread_.joinable()) thread_.join();
}

int64_t node_wait::get() {
  if (thread_.joinable()) thread_.join();
  if (answered_us_ < 0) std::fprintf(stderr, "bench: wait_node: %s\n", error_.c_str());
  return answered_us_;
}

}  // namespace gantry::bench
