#pragma once
// The worker's connection to the coordinator, on the worker's KJ thread: dials, registers
// (handing over its NodeAgent and the tasks it still runs), heartbeats, delivers exit
// reports until acknowledged, and reconnects with exponential backoff whenever the
// coordinator goes away or drops the session.
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "core/ports.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/kj_bridge.hpp"

namespace gantry {

struct worker_link_options {
  std::string coordinator;  // "host:port"
  node_inventory inventory;
  uint32_t backoff_initial_ms = 100;
  uint32_t backoff_max_ms = 2000;
};

class worker_link {
 public:
  // REQUIRES: constructed on the KJ thread of `io`. `agent` serves the coordinator's calls.
  worker_link(kj::AsyncIoContext& io, std::shared_ptr<kj_mailbox> mailbox, task_agent& agent,
              worker_link_options opts);
  ~worker_link();

  // Runs forever: connect, register, heartbeat; reconnect after any failure.
  kj::Promise<void> run();

  // Where the supervisor sends exit reports (thread-safe). Each is kept and resent until
  // the coordinator acknowledges it. Valid while this link lives.
  std::shared_ptr<report_sink> reports();

  // Exit reports the coordinator has not acknowledged yet (KJ thread).
  size_t unacknowledged() const { return unacked_.size(); }

  // Heartbeats sent and not answered yet stop at this many: more would not tell a
  // coordinator that answers none of them anything new.
  static constexpr uint32_t kMaxBeatsInFlight = 16;

 private:
  struct connection;
  kj::Promise<void> session_once();
  kj::Promise<void> register_with(wire::Coordinator::Client coordinator,
                                  std::vector<task_report> running);
  // Heartbeats on a fixed schedule until the coordinator refuses one (rejects then).
  struct beats;
  kj::Promise<void> heartbeat_loop(uint32_t interval_ms);
  kj::Promise<void> next_beat(kj::Own<beats> b);
  void send_beat(beats& b, int64_t lag_ns);
  class sink;
  void on_exit(task_report report);
  void on_checkpoint(std::string task_id, int64_t step);
  void send_exit(const task_report& report);
  void send_checkpoint(const std::string& task_id, int64_t step);

  kj::AsyncIoContext& io_;
  std::shared_ptr<kj_mailbox> mailbox_;
  task_agent& agent_;
  worker_link_options opts_;
  uint32_t backoff_ms_;
  kj::Own<connection> conn_;
  kj::Maybe<wire::WorkerSession::Client> session_;
  std::deque<task_report> unacked_;  // KJ thread only
  std::deque<std::pair<std::string, int64_t>> pending_checkpoints_;
  struct error_handler : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override;
  } error_handler_;
  kj::TaskSet tasks_{error_handler_};  // after error_handler_: uses it
};

}  // namespace gantry
