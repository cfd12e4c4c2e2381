#include "bench/bench_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

namespace gantry::bench {
namespace {

// The armed deadlines; the children and temp dirs to clean up are harness/'s registry.
struct deadlines {
  std::mutex mu;
  std::map<uint64_t, std::pair<int64_t, std::string>> armed;  // id -> (expiry us, what)
  uint64_t next_id = 1;
};
deadlines& dl() {
  static deadlines* d = new deadlines;  // never destroyed: the watchdog may outlive main
  return *d;
}

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

// After a failure: which children had already ended and how, and the tail of every log in
// the temp dirs.
void report_children_and_logs(const harness::registry_lock& reg) {
  for (const auto& [pid, what] : reg.children()) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) != pid) continue;
    std::fprintf(stderr, "bench: child %d had ended (%s %d): %s\n", pid,
                 WIFSIGNALED(st) ? "signal" : "exit code",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), what.c_str());
  }
  for (const auto& d : reg.temp_dirs()) {
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
  harness::registry_lock reg;  // no child starts or is reaped from here on
  if (code != 130) report_children_and_logs(reg);
  for (const auto& [pid, what] : reg.children()) ::kill(pid, SIGKILL);
  for (const auto& [pid, what] : reg.children()) waitpid(pid, nullptr, 0);
  for (const auto& d : reg.temp_dirs()) {
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
      std::lock_guard lock(dl().mu);
      for (const auto& [id, d] : dl().armed)
        if (now_us() > d.first) expired = d.second;
    }
    if (!expired.empty()) {
      std::fprintf(stderr, "bench: deadline exceeded: %s\n", expired.c_str());
      cleanup_and_exit(124);
    }
  }
}

}  // namespace

bool keep_dirs() {
  const char* v = std::getenv("GANTRY_BENCH_KEEP");
  return v && *v && std::string(v) != "0";
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
  std::set_terminate([] {
    std::string what = "terminated";
    try {
      if (auto e = std::current_exception()) std::rethrow_exception(e);
    } catch (const std::exception& e) {
      what = std::string("uncaught exception: ") + e.what();
    } catch (...) {
      what = "uncaught exception";
    }
    fail_now(what);
  });
  std::thread(watchdog_loop).detach();
}

void fail_now(const std::string& message) {
  std::fprintf(stderr, "bench: %s\n", message.c_str());
  cleanup_and_exit(1);
}

deadline::deadline(int ms, std::string what) {
  std::lock_guard lock(dl().mu);
  id_ = dl().next_id++;
  dl().armed[id_] = {now_us() + int64_t{ms} * 1000, std::move(what)};
}
deadline::~deadline() {
  std::lock_guard lock(dl().mu);
  dl().armed.erase(id_);
}

temp_dir::temp_dir() : harness::temp_dir("gantry-bench") {
  if (keep_dirs()) keep();
}
temp_dir::~temp_dir() {
  if (kept()) std::fprintf(stderr, "bench: kept %s\n", path().c_str());
}

std::string bin_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

std::string gantry_bin() {
  std::string path = bin_dir() + "/gantry";
  if (access(path.c_str(), X_OK) != 0) fail_now(path + " not found: build the gantry target");
  return path;
}

int64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

local_cluster::local_cluster(std::vector<std::string> coordinator_flags)
    : harness::local_cluster({.gantry = gantry_bin(),
                              .temp_prefix = "gantry-bench",
                              .keep_temp_dir = keep_dirs(),
                              .coordinator_flags = std::move(coordinator_flags)}) {}

local_cluster::~local_cluster() {
  if (keep_dirs()) std::fprintf(stderr, "bench: kept %s\n", dir().c_str());
}

namespace {
// The admin credentials of the coordinator started last: connect() presents them.
std::mutex credentials_mu;
client_credentials credentials;
client_credentials current_credentials() {
  std::lock_guard lock(credentials_mu);
  return credentials;
}
}  // namespace

double start_coordinator(local_cluster& cl, int timeout_ms) {
  if (auto r = cl.start_coordinator({}, timeout_ms); !r)
    fail_now("the coordinator did not start:\n" + tail(cl.log("coordinator"), 20));
  {
    std::lock_guard lock(credentials_mu);
    credentials = cl.admin_credentials();
  }
  return ms_between(cl.coordinator().started_us(), cl.coordinator_listening_us());
}

std::unique_ptr<client> connect(const std::string& address) {
  return must(client::connect(address, current_credentials(), 5000), "connecting to " + address);
}

std::unique_ptr<client> start_cluster(local_cluster& cl, const std::vector<std::string>& workers,
                                      const std::vector<std::string>& worker_flags) {
  deadline d(90000, "starting the cluster");
  start_coordinator(cl);
  for (const auto& w : workers) cl.start_worker(w, worker_flags);
  auto c = connect(cl.address());
  wait_ready(*c, workers, 20000);
  return c;
}

void wait_ready(client& c, const std::vector<std::string>& names, uint32_t timeout_ms) {
  must(harness::wait_ready(c, names, timeout_ms), "waiting for the workers");
}

job_watch::job_watch(const std::string& address, const std::string& job_id) {
  thread_ = std::thread([this, address, job_id] {
    auto c = client::connect(address, current_credentials(), 5000);
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
    auto c = client::connect(address, current_credentials(), 5000);
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
