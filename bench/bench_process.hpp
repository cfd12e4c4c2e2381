#pragma once
// Shared helpers of the benchmarks that drive real gantry processes on loopback
// (bench_recovery, bench_cluster): a watchdog that puts a deadline on every wait and cleans
// up after a failure, the local cluster of harness/ with the bench's temp dirs, threads that
// watch jobs and nodes over their own clients, and RSS. Statistics, tables and floors are in
// bench/bench_figures.hpp. Measurements, not tests: any failure prints what happened and exits
// non-zero, after killing every child and removing every temp dir.
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_figures.hpp"
#include "harness/local_cluster.hpp"
#include "harness/process.hpp"
#include "protocol/client.hpp"

namespace gantry::bench {

using harness::now_us;  // steady clock, microseconds
using harness::read_file;
using harness::tail;
double ms_between(int64_t from_us, int64_t to_us);
int64_t wall_ms();  // unix epoch milliseconds (the clock of job_event::time_ms)

// Call first in main, before any thread: blocks SIGINT/SIGTERM (children get them back) and
// starts the watchdog thread, which on those signals or an expired deadline cleans up and
// exits (130, resp. 124). An uncaught exception fails the bench the same way.
void install_cleanup();
// Prints "bench: MESSAGE", the children that had ended and the tail of every log, kills
// every child, removes every temp dir, exits 1.
[[noreturn]] void fail_now(const std::string& message);
template <class T>
T must(result<T> r, const std::string& what) {
  if (!r) fail_now(what + ": " + r.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// While alive, the process exits through the watchdog if `ms` pass (nests; any thread).
class deadline {
 public:
  deadline(int ms, std::string what);
  ~deadline();
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

 private:
  uint64_t id_;
};

// GANTRY_BENCH_KEEP=1 keeps the temp dirs (logs, stores) for a look afterwards.
bool keep_dirs();

// A directory /tmp/gantry-bench-XXXXXX, removed with its contents at destruction or cleanup.
class temp_dir : public harness::temp_dir {
 public:
  temp_dir();
  ~temp_dir();
};

std::string bin_dir();  // the directory of this executable (build/bin)
std::string gantry_bin();
int64_t rss_bytes(pid_t pid);  // VmRSS from /proc/PID/status; -1 when unreadable

// A coordinator and workers on 127.0.0.1 in a temp dir like temp_dir's; the coordinator
// keeps its port across restarts so that workers reconnect by themselves.
class local_cluster : public harness::local_cluster {
 public:
  explicit local_cluster(std::vector<std::string> coordinator_flags = {});
  ~local_cluster();
};
// Starts cl's coordinator and waits for its "listening on" line; returns exec -> that line
// in ms. Fails the bench when it does not come within timeout_ms.
double start_coordinator(local_cluster& cl, int timeout_ms = 60000);

std::unique_ptr<client> connect(const std::string& address);
// Starts cl's coordinator and the named workers with worker_flags, waits (deadline 90 s) until
// every worker is ready, and returns a connected client.
std::unique_ptr<client> start_cluster(local_cluster& cl, const std::vector<std::string>& workers,
                                      const std::vector<std::string>& worker_flags);
// Waits (deadline timeout_ms) until every named node is ready.
void wait_ready(client& c, const std::vector<std::string>& names, uint32_t timeout_ms);

struct timed_event {
  job_event event;
  int64_t at_us = 0;  // steady time it reached this process
};

// Watches one job over its own client on its own thread from seq 1, recording every event.
class job_watch {
 public:
  job_watch(const std::string& address, const std::string& job_id);
  ~job_watch();  // joins: the job must end (cancel it) or a deadline must be armed
  // Waits up to timeout_ms until pred holds over the events so far; false on timeout.
  bool wait_for(const std::function<bool(const std::vector<timed_event>&)>& pred, int timeout_ms);
  std::vector<timed_event> events();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<timed_event> events_;
  bool done_ = false;
  std::thread thread_;
};

// wait_node(name, state) on its own thread and client; the constructor returns once the
// client is connected and the request is about to be sent.
class node_wait {
 public:
  node_wait(const std::string& address, const std::string& name, const std::string& state,
            uint32_t timeout_ms);
  ~node_wait();
  // Waits for the answer; returns the steady time it came back, or -1 if it failed.
  int64_t get();
  const std::string& error() const { return error_; }

 private:
  std::thread thread_;
  int64_t answered_us_ = -1;
  std::string error_;
};

}  // namespace gantry::bench
