#pragma once
// Thread-safe interfaces between the logic (CAF actors) and the RPC thread (KJ), so that
// neither side includes the other's headers. Every method may be called from any thread;
// every callback may run on any thread and is called exactly once (with an error when
// the peer went away).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "core/result.hpp"

namespace gantry {

template <class T>
using callback = std::function<void(result<T>)>;

// Something that runs tasks: a worker's supervisor, or (on the coordinator) the worker's
// NodeAgent capability seen through RPC.
class task_agent {
 public:
  virtual ~task_agent() = default;
  // Starts the task; replies with its pid once the process exists.
  virtual void launch(task_spec task, callback<int64_t> done) = 0;
  // SIGTERM to the task's process group, then SIGKILL after grace_ms.
  virtual void kill(std::string task_id, uint32_t grace_ms, callback<void> done) = 0;
  virtual void read_log(std::string task_id, uint64_t offset, uint32_t max_bytes,
                        callback<log_chunk> done) = 0;
  // Sends a signal to the task's process group (SIGUSR1: "checkpoint now", on drain).
  virtual void signal(std::string task_id, int32_t sig, callback<void> done) {
    done(fail(errc::failed_precondition, "signal is not supported here"));
  }
  // A TCP port that is free on the machine now (a gang's MASTER_PORT).
  virtual void reserve_port(callback<uint16_t> done) {
    done(fail(errc::failed_precondition, "reserve_port is not supported here"));
  }
  // The tasks whose processes still run (a worker tells a restarted coordinator).
  virtual void list_running(callback<std::vector<task_report>> done) {
    done(fail(errc::failed_precondition, "list_running is not supported here"));
  }
};

// Receives a job's events in seq order (a watcher). push() never blocks.
class event_sink {
 public:
  virtual ~event_sink() = default;
  virtual void push(std::vector<job_event> events) = 0;
  // True once the receiver went away; the sender drops the sink.
  virtual bool closed() const = 0;
};

// One heartbeat of a worker session: its number (from 1) and how long after it was due
// the worker sent it (its own event loop's lateness).
struct heartbeat_info {
  uint64_t seq = 0;
  uint32_t lag_ms = 0;
};

// The coordinator's view of one registered worker connection.
class worker_session_port {
 public:
  virtual ~worker_session_port() = default;
  // failed_precondition: the session was replaced or the node declared lost.
  virtual void heartbeat(heartbeat_info beat, callback<void> done) = 0;
  virtual void task_exited(task_report report) = 0;
  virtual void checkpoint_committed(std::string task_id, int64_t step) = 0;
  // The connection dropped. Called once, on the RPC thread.
  virtual void disconnected() = 0;
};

// A worker's view of its connection: where its supervisor sends exit reports.
class report_sink {
 public:
  virtual ~report_sink() = default;
  virtual void task_exited(task_report report) = 0;
  virtual void checkpoint_committed(std::string task_id, int64_t step) = 0;
};

}  // namespace gantry
