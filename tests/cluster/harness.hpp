#pragma once
// Real gantry processes on loopback for cluster tests: temp dirs, a coordinator on a free
// port, workers, and the CLI. Every wait has a deadline; nothing sleeps to wait for state.
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::test {

int64_t now_ms();

// A directory under /tmp, removed with everything in it when this goes away.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process running build/bin/<program>; killed (SIGKILL) when this goes away.
class process {
 public:
  // stdout goes to a pipe (read_line), stderr to `log_path`.
  process(const std::vector<std::string>& args, const std::string& log_path);
  ~process();
  pid_t pid() const { return pid_; }
  // The next stdout line, or "" at EOF or after timeout_ms.
  std::string read_line(int timeout_ms);
  // Everything on stdout until the child closes it, or until timeout_ms.
  std::string read_all(int timeout_ms);
  void signal(int sig);
  // Waits for the exit; returns the exit code, 128+signal, or -1 on timeout.
  int wait(int timeout_ms);
  bool running();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  int status_ = -1;
};

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

// A coordinator plus workers, all sharing one shared dir for job outputs.
class cluster {
 public:
  cluster();
  ~cluster();
  const std::string& address() const { return address_; }
  const std::string& dir() const { return dir_.path(); }
  std::string shared_dir() const { return dir_.path() + "/shared"; }

  // Starts (or restarts) the coordinator on the same data dir and, after the first
  // start, the same port.
  void start_coordinator(const std::vector<std::string>& extra = {});
  process& coordinator() { return *coordinator_; }
  void start_worker(const std::string& name, const std::vector<std::string>& extra = {});
  // A coordinator and these workers (all given `worker_flags`), waiting until every worker
  // is ready; throws if one is not within 20 s.
  void start(const std::vector<std::string>& workers,
             const std::vector<std::string>& worker_flags = {},
             const std::vector<std::string>& coordinator_flags = {});
  process& worker(const std::string& name) { return *workers_.at(name); }
  // Runs `gantry ARGS --coordinator ADDR` to completion (killed after timeout_ms).
  cli_result cli(std::vector<std::string> args, int timeout_ms = 60000);
  // `gantry wait NAME --state STATE`; true when reached within timeout_ms.
  bool wait_node(const std::string& name, const std::string& state, int timeout_ms = 20000);
  // Writes a manifest into the cluster's dir and returns its path.
  std::string write_manifest(const std::string& name, const std::string& yaml);
  // Writes the manifest, submits it (which must succeed) and returns the job id.
  std::string submit(const std::string& name, const std::string& yaml);
  std::string log_of(const std::string& name) const;
  // The last lines of the coordinator's and every worker's log, for failure messages
  // (use as INFO(c.logs()): doctest evaluates it only when a check fails).
  std::string logs() const;

 private:
  temp_dir dir_;
  std::string address_;
  std::unique_ptr<process> coordinator_;
  std::map<std::string, std::unique_ptr<process>> workers_;
};

// `gantry watch JOB --json` as a child process: the job's events, as they happen.
class event_stream {
 public:
  event_stream(cluster& c, const std::string& job);
  // Reads events until `done(event)` returns true; false at timeout_ms or when the watch
  // ended first.
  template <class Pred>
  bool until(int timeout_ms, Pred done) {
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      std::string line = p.read_line(static_cast<int>(deadline - now_ms()));
      if (line.empty()) {
        if (!p.running()) return false;
        continue;
      }
      if (done(nlohmann::json::parse(line))) return true;
    }
    return false;
  }
  // Until `ranks` rank events say `running` (of `attempt`, when it is 0 or more).
  bool until_running(int ranks, int timeout_ms, int attempt = -1) {
    int seen = 0;
    return until(timeout_ms, [&](const nlohmann::json& e) {
      return e["kind"] == "rank" && e["state"] == "running" &&
             (attempt < 0 || e["attempt"] == attempt) && ++seen == ranks;
    });
  }
  process p;
};

std::string bin(const std::string& program);
std::string source_path(const std::string& relative);
std::string read_file(const std::string& path);
bool pid_alive(pid_t pid);
// Waits for a process that is not our child to exit (pidfd + poll): true if it did
// within timeout_ms (or was already gone).
bool wait_pid_gone(pid_t pid, int timeout_ms);

}  // namespace gantry::test
