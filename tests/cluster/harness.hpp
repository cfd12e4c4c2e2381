#pragma once
// Cluster tests' view of harness/: a cluster of real gantry processes on loopback in a temp
// dir, the CLI run against it, and `gantry watch` as an event stream. Every wait has a
// deadline; nothing sleeps to wait for state.
#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/local_cluster.hpp"
#include "harness/process.hpp"

namespace gantry::test {

using harness::now_ms;
using harness::read_file;
using harness::temp_dir;

// A one-rank job that runs until it is stopped.
inline const char* const kSleeper = R"(name: sleeper
stages:
  - name: main
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sleep", "600" ]
)";

// A child running build/bin/<program>: stdout to a pipe (read_line), stderr to `log_path`.
class process : public harness::process {
 public:
  process(const std::vector<std::string>& args, const std::string& log_path)
      : harness::process(args, harness::spawn_options{.log_path = log_path}) {}
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
  const std::string& address() const { return c_.address(); }
  const std::string& dir() const { return c_.dir(); }
  std::string shared_dir() const { return c_.shared_dir(); }

  // Starts (or restarts) the coordinator on the same data dir and, after the first
  // start, the same port; throws if it does not start.
  void start_coordinator(const std::vector<std::string>& extra = {});
  harness::process& coordinator() { return c_.coordinator(); }
  void start_worker(const std::string& name, const std::vector<std::string>& extra = {});
  // A coordinator and these workers (all given `worker_flags`), waiting until every worker
  // is ready; throws if one is not within 20 s.
  void start(const std::vector<std::string>& workers,
             const std::vector<std::string>& worker_flags = {},
             const std::vector<std::string>& coordinator_flags = {});
  harness::process& worker(const std::string& name) { return c_.worker(name); }
  // Runs `gantry ARGS --coordinator ADDR` with the admin's --token-file and --ca (or
  // --insecure, for a coordinator started so) to completion (killed after timeout_ms).
  cli_result cli(std::vector<std::string> args, int timeout_ms = 60000);
  // The same with only what `args` says about credentials.
  cli_result cli_without_credentials(std::vector<std::string> args, int timeout_ms = 60000);
  harness::local_cluster& local() { return c_; }
  // `gantry wait NAME --state STATE`; true when reached within timeout_ms.
  bool wait_node(const std::string& name, const std::string& state, int timeout_ms = 20000);
  // Creates DIR/name for tasks to write in, whoever they run as (like /tmp: 1777), and
  // returns its path: a checkpoint dir a manifest names, say.
  std::string task_writable_dir(const std::string& name);
  // Writes a manifest into the cluster's dir and returns its path.
  std::string write_manifest(const std::string& name, const std::string& yaml);
  // Writes the manifest, submits it with `flags` (which must succeed) and returns the job id.
  std::string submit(const std::string& name, const std::string& yaml,
                     const std::vector<std::string>& flags = {});
  std::string log_of(const std::string& name) const { return c_.log(name); }
  // The last lines of the coordinator's and every worker's log, for failure messages
  // (use as INFO(c.logs()): doctest evaluates it only when a check fails).
  std::string logs() const { return c_.log_tails(40); }

 private:
  harness::local_cluster c_;
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
bool pid_alive(pid_t pid);
// Waits for a process that is not our child to exit (pidfd + poll): true if it did
// within timeout_ms (or was already gone).
bool wait_pid_gone(pid_t pid, int timeout_ms);

}  // namespace gantry::test
