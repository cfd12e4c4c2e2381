#pragma once
// The protocol tests' rig: the RPC adapters of protocol/ in this process, on one KJ loop,
// against fakes of what they forward to (coordinator_backend, task_agent,
// worker_session_port). Fakes record what reached them and answer what the test set.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/coordinator_api.hpp"
#include "core/ports.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/kj_bridge.hpp"

namespace gantry::protocol_test {

// Wakes the KJ thread in loop::until() when a fake saw something; notify() from any thread.
class notifier {
 public:
  kj::Promise<void> next();  // KJ thread
  void notify();

 private:
  std::mutex mu_;
  bool pending_ = false;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> waiter_;
};

// One KJ event loop on the test's thread, with the mailbox the adapters post to.
struct loop {
  loop();
  ~loop();
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::shared_ptr<kj_mailbox> mailbox = std::make_shared<kj_mailbox>();
  kj::Promise<void> mailbox_running = mailbox->run().eagerlyEvaluate(nullptr);
  notifier changed;

  // Runs the loop until `p` resolves; throws after timeout_ms.
  template <class T>
  T wait(kj::Promise<T>&& p, int timeout_ms = 10000) {
    return p
        .exclusiveJoin(
            io.provider->getTimer().afterDelay(timeout_ms * kj::MILLISECONDS).then([]() -> T {
              kj::throwFatalException(KJ_EXCEPTION(FAILED, "timed out"));
            }))
        .wait(io.waitScope);
  }
  // Runs the loop until pred() holds, waking whenever a fake notifies; false after timeout_ms.
  template <class Pred>
  bool until(Pred pred, int timeout_ms = 10000) {
    auto deadline = io.provider->getTimer().now() + timeout_ms * kj::MILLISECONDS;
    while (!pred()) {
      bool timed_out =
          changed.next()
              .then([] { return false; })
              .exclusiveJoin(io.provider->getTimer().atTime(deadline).then([] { return true; }))
              .wait(io.waitScope);
      if (timed_out) return pred();
    }
    return true;
  }
  // A result<T> callback turned into a promise on this loop (the adapters' own bridge).
  template <class T>
  result<T> call(const std::function<void(callback<T>)>& start, int timeout_ms = 10000) {
    auto b = to_promise<T>();
    start(std::move(b.fn));
    return wait(kj::mv(b.promise), timeout_ms);
  }
};

// Answers `done` with `r` from a new thread, as a CAF actor would; joined at destruction.
class other_thread {
 public:
  ~other_thread();
  template <class T>
  void answer(callback<T> done, result<T> r) {
    threads_.emplace_back([done = std::move(done), r = std::move(r)]() mutable { done(r); });
  }

 private:
  std::vector<std::thread> threads_;
};

// The coordinator's worker session: records heartbeats, exits, checkpoints, the disconnect.
struct fake_session final : worker_session_port {
  explicit fake_session(notifier& n) : changed(n) {}
  void heartbeat(heartbeat_info beat, callback<void> done) override;
  void task_exited(task_report report) override;
  void checkpoint_committed(std::string task_id, int64_t step) override;
  void disconnected() override;

  notifier& changed;
  int heartbeats = 0;
  std::vector<heartbeat_info> beats;  // as received, in order
  result<void> heartbeat_answer = {};
  bool hold_heartbeats = false;            // keep the replies here instead of answering
  std::vector<callback<void>> held_beats;  // answered by release_heartbeats()
  void release_heartbeats();
  std::vector<task_report> exits;
  std::vector<std::pair<std::string, int64_t>> checkpoints;
  bool gone = false;
};

// The coordinator behind the adapters: records each call's arguments, answers from the
// `*_answer` members (or from another thread when `answer_elsewhere`).
struct fake_backend final : coordinator_backend {
  explicit fake_backend(notifier& n) : changed(n) {}
  void authenticate(credential_kind kind, std::string token, std::shared_ptr<session_revoker> guard,
                    callback<identity> done) override;
  void submit(caller who, std::string manifest, bool allow_unschedulable,
              callback<submit_reply> done) override;
  void list_jobs(caller who, callback<std::vector<job_summary>> done) override;
  void describe_job(caller who, std::string job_id, callback<job_record> done) override;
  void list_nodes(caller who, callback<std::vector<node_status>> done) override;
  void cancel(caller who, std::string job_id, callback<void> done) override;
  void watch(caller who, std::string job_id, uint64_t from_seq, std::shared_ptr<event_sink> sink,
             callback<watch_reply> done) override;
  void read_logs(caller who, std::string job_id, std::string stage, int32_t rank, int32_t attempt,
                 uint64_t offset, uint32_t max_bytes, callback<log_chunk> done) override;
  void wait_node(caller who, std::string name, node_state state, uint32_t timeout_ms,
                 callback<node_status> done) override;
  void set_node_state(caller who, std::string name, node_action action,
                      callback<void> done) override;
  void remove_node(caller who, std::string name, callback<void> done) override;
  void create_token(caller who, token_request request, callback<std::string> done) override;
  void list_tokens(caller who, callback<std::vector<token_info>> done) override;
  void revoke_token(caller who, std::string id, callback<void> done) override;
  void set_queue(caller who, queue_change change, callback<void> done) override;
  void delete_queue(caller who, std::string name, callback<void> done) override;
  void list_queues(caller who, callback<std::vector<queue_info>> done) override;
  queue_change last_queue_change;
  std::vector<queue_info> queues_answer;
  void join(std::string node_name, callback<std::string> done) override;
  void rendezvous_put(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                      std::string value, callback<void> done) override;
  void rendezvous_get(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                      uint32_t timeout_ms, callback<std::string> done) override;
  void register_worker(std::string node, node_inventory inventory, std::vector<task_report> tasks,
                       std::shared_ptr<task_agent> agent,
                       callback<worker_registration> done) override;

  template <class T>
  void answer(callback<T>& done, const result<T>& r) {
    if (answer_elsewhere)
      elsewhere.answer(std::move(done), r);
    else
      done(r);
    changed.notify();
  }

  notifier& changed;
  bool answer_elsewhere = false;
  other_thread elsewhere;
  std::vector<std::string> calls;  // method names, in order
  std::vector<std::string> args;   // the last call's arguments, printed

  result<submit_reply> submit_answer = submit_reply{"j-000001", {}};
  result<std::vector<job_summary>> jobs_answer = std::vector<job_summary>{};
  result<job_record> job_answer = job_record{};
  result<std::vector<node_status>> nodes_answer = std::vector<node_status>{};
  result<void> void_answer = {};  // cancel, set_node_state, rendezvous_put
  result<watch_reply> watch_answer = watch_reply{};
  result<log_chunk> log_answer = log_chunk{};
  result<node_status> node_answer = node_status{};
  result<std::string> value_answer = std::string{};
  uint32_t heartbeat_interval_ms = 20;

  caller who;                                     // of the last client call
  std::optional<task_ref> task;                   // of the last rendezvous call
  std::string bound_node;                         // of the last registration
  result<identity> identity_answer = identity{};  // authenticate
  std::shared_ptr<event_sink> sink;               // of the last watch
  std::optional<rendezvous_scope> scope;
  std::string value;  // of the last rendezvous_put
  node_action action = node_action::cordon;
  std::vector<node_inventory> registered;  // every registration's inventory
  std::vector<std::vector<task_report>> registered_tasks;
  std::shared_ptr<task_agent> agent;  // of the last registration
  std::shared_ptr<fake_session> session = std::make_shared<fake_session>(changed);
};

// A worker's supervisor: records launches, kills, signals and log reads; answers as set.
struct fake_agent final : task_agent {
  explicit fake_agent(notifier& n) : changed(n) {}
  void launch(task_spec task, callback<int64_t> done) override;
  void kill(std::string task_id, uint32_t grace_ms, callback<void> done) override;
  void read_log(std::string task_id, uint64_t offset, uint32_t max_bytes,
                callback<log_chunk> done) override;
  void signal(std::string task_id, int32_t sig, callback<void> done) override;
  void reserve_port(callback<uint16_t> done) override;
  void list_running(callback<std::vector<task_report>> done) override;

  notifier& changed;
  std::vector<task_spec> launched;
  std::vector<std::string> calls;  // "kill t 500", "signal t 10", "read_log t 7 64", ...
  result<int64_t> pid_answer = int64_t{4242};
  result<void> void_answer = {};
  result<log_chunk> log_answer = log_chunk{};
  result<uint16_t> port_answer = uint16_t{29500};
  std::vector<task_report> running;  // what list_running answers
};

}  // namespace gantry::protocol_test
