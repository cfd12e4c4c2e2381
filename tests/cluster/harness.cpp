#include "tests/cluster/harness.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace gantry::test {

std::string bin(const std::string& program) {
  return std::string(GANTRY_BIN_DIR) + "/" + program;
}
std::string source_path(const std::string& relative) {
  return std::string(GANTRY_SOURCE_DIR) + "/" + relative;
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

cluster::cluster()
    : c_(harness::cluster_options{.gantry = bin("gantry"), .temp_prefix = "gantry-test"}) {}

void cluster::start_coordinator(const std::vector<std::string>& extra) {
  std::vector<std::string> flags = extra;
  // Slow (sanitizer) builds on a busy machine must not declare a live worker lost; tests
  // that need a hung worker noticed still see it within seconds. A flag in `extra` wins.
  if (std::find(extra.begin(), extra.end(), "--heartbeat-timeout-ms") == extra.end()) {
    flags.push_back("--heartbeat-timeout-ms");
    flags.push_back("3000");
  }
  if (auto r = c_.start_coordinator(flags); !r)
    throw std::runtime_error(r.error().message + ":\n" + c_.log("coordinator"));
}

void cluster::start_worker(const std::string& name, const std::vector<std::string>& extra) {
  c_.start_worker(name, extra);
}

void cluster::start(const std::vector<std::string>& workers,
                    const std::vector<std::string>& worker_flags,
                    const std::vector<std::string>& coordinator_flags) {
  start_coordinator(coordinator_flags);
  for (const auto& w : workers) start_worker(w, worker_flags);
  if (auto r = c_.wait_ready(workers, 20000); !r)
    throw std::runtime_error("the workers did not get ready: " + r.error().message + "\n" + logs());
}

cli_result cluster::cli(std::vector<std::string> args, int timeout_ms) {
  if (args.empty() || args[0] != "rendezvous") {  // rendezvous: a task's credential, from env
    auto flags = c_.client_flags();
    args.insert(args.end(), flags.begin(), flags.end());
  }
  return cli_without_credentials(std::move(args), timeout_ms);
}

cli_result cluster::cli_without_credentials(std::vector<std::string> args, int timeout_ms) {
  static std::atomic<int> count{0};
  args.insert(args.begin(), bin("gantry"));
  if (args.size() < 2 || args[1] != "rendezvous") {  // rendezvous takes its address from --scope
    args.push_back("--coordinator");
    args.push_back(address());
  }
  std::string err_path = dir() + "/cli-" + std::to_string(++count) + ".err";
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

std::string cluster::task_writable_dir(const std::string& name) {
  std::string path = dir() + "/" + name;
  std::filesystem::create_directories(path);
  std::filesystem::permissions(path, std::filesystem::perms(01777));
  return path;
}

std::string cluster::write_manifest(const std::string& name, const std::string& yaml) {
  std::string path = dir() + "/" + name;
  std::ofstream(path) << yaml;
  return path;
}

std::string cluster::submit(const std::string& name, const std::string& yaml,
                            const std::vector<std::string>& flags) {
  std::vector<std::string> args{"submit", write_manifest(name, yaml)};
  args.insert(args.end(), flags.begin(), flags.end());
  auto r = cli(args);
  if (r.exit_code != 0) throw std::runtime_error("submit " + name + " failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

namespace {
std::vector<std::string> watch_args(cluster& c, const std::string& job) {
  std::vector<std::string> args{bin("gantry"), "watch",         job,
                                "--json",      "--coordinator", c.address()};
  auto flags = c.local().client_flags();
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}
}  // namespace

event_stream::event_stream(cluster& c, const std::string& job)
    : p(watch_args(c, job), c.dir() + "/watch-" + job + ".err") {}

}  // namespace gantry::test
