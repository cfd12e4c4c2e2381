#include "fakes.hpp"

namespace gantry::protocol_test {

kj::Promise<void> notifier::next() {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  std::lock_guard lock(mu_);
  if (pending_) {
    pending_ = false;
    return kj::READY_NOW;
  }
  waiter_ = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

void notifier::notify() {
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> w;
  {
    std::lock_guard lock(mu_);
    w = kj::mv(waiter_);
    if (w.get() == nullptr) pending_ = true;
  }
  if (w.get() != nullptr) w->fulfill();
}

loop::loop() = default;

loop::~loop() {
  mailbox->close();
}

other_thread::~other_thread() {
  for (auto& t : threads_) t.join();
}

void fake_session::heartbeat(heartbeat_info beat, callback<void> done) {
  ++heartbeats;
  beats.push_back(beat);
  if (hold_heartbeats)
    held_beats.push_back(std::move(done));
  else
    done(heartbeat_answer);
  changed.notify();
}

void fake_session::release_heartbeats() {
  hold_heartbeats = false;
  for (auto& done : held_beats) done(heartbeat_answer);
  held_beats.clear();
}
void fake_session::task_exited(task_report report) {
  exits.push_back(std::move(report));
  changed.notify();
}
void fake_session::checkpoint_committed(std::string task_id, int64_t step) {
  checkpoints.emplace_back(std::move(task_id), step);
  changed.notify();
}
void fake_session::disconnected() {
  gone = true;
  changed.notify();
}

void fake_backend::authenticate(credential_kind kind, std::string token,
                                std::shared_ptr<session_revoker>, callback<identity> done) {
  calls.push_back("authenticate");
  args = {to_string(kind), token};
  answer(done, identity_answer);
}
void fake_backend::remove_node(caller w, std::string name, callback<void> done) {
  calls.push_back("remove_node");
  who = w;
  args = {name};
  answer(done, void_answer);
}
void fake_backend::create_token(caller w, token_request request, callback<std::string> done) {
  calls.push_back("create_token");
  who = w;
  args = {request.user, to_string(request.role), std::to_string(request.ttl_ms)};
  answer(done, value_answer);
}
void fake_backend::list_tokens(caller w, callback<std::vector<token_info>> done) {
  calls.push_back("list_tokens");
  who = w;
  args = {};
  answer(done, result<std::vector<token_info>>(std::vector<token_info>{}));
}
void fake_backend::revoke_token(caller w, std::string id, callback<void> done) {
  calls.push_back("revoke_token");
  who = w;
  args = {id};
  answer(done, void_answer);
}
void fake_backend::set_queue(caller w, queue_change change, callback<void> done) {
  calls.push_back("set_queue");
  who = w;
  args = {change.name};
  last_queue_change = std::move(change);
  answer(done, void_answer);
}
void fake_backend::delete_queue(caller w, std::string name, callback<void> done) {
  calls.push_back("delete_queue");
  who = w;
  args = {name};
  answer(done, void_answer);
}
void fake_backend::list_queues(caller w, callback<std::vector<queue_info>> done) {
  calls.push_back("list_queues");
  who = w;
  args = {};
  answer(done, result<std::vector<queue_info>>(queues_answer));
}
void fake_backend::join(std::string node_name, callback<std::string> done) {
  calls.push_back("join");
  args = {node_name};
  answer(done, value_answer);
}
void fake_backend::submit(caller w, std::string manifest, bool allow_unschedulable,
                          callback<submit_reply> done) {
  calls.push_back("submit");
  who = w;
  args = {manifest};
  if (allow_unschedulable) args.push_back("allow_unschedulable");
  answer(done, submit_answer);
}
void fake_backend::list_jobs(caller w, callback<std::vector<job_summary>> done) {
  calls.push_back("list_jobs");
  who = w;
  args = {};
  answer(done, jobs_answer);
}
void fake_backend::describe_job(caller w, std::string job_id, callback<job_record> done) {
  calls.push_back("describe_job");
  who = w;
  args = {job_id};
  answer(done, job_answer);
}
void fake_backend::list_nodes(caller w, callback<std::vector<node_status>> done) {
  calls.push_back("list_nodes");
  who = w;
  args = {};
  answer(done, nodes_answer);
}
void fake_backend::cancel(caller w, std::string job_id, callback<void> done) {
  calls.push_back("cancel");
  who = w;
  args = {job_id};
  answer(done, void_answer);
}
void fake_backend::watch(caller w, std::string job_id, uint64_t from_seq,
                         std::shared_ptr<event_sink> s, callback<watch_reply> done) {
  calls.push_back("watch");
  who = w;
  args = {job_id, std::to_string(from_seq)};
  sink = std::move(s);
  answer(done, watch_answer);
}
void fake_backend::read_logs(caller w, std::string job_id, std::string stage, int32_t rank,
                             int32_t attempt, uint64_t offset, uint32_t max_bytes,
                             callback<log_chunk> done) {
  calls.push_back("read_logs");
  who = w;
  args = {job_id,
          stage,
          std::to_string(rank),
          std::to_string(attempt),
          std::to_string(offset),
          std::to_string(max_bytes)};
  answer(done, log_answer);
}
void fake_backend::wait_node(caller w, std::string name, node_state state, uint32_t timeout_ms,
                             callback<node_status> done) {
  calls.push_back("wait_node");
  who = w;
  args = {name, to_string(state), std::to_string(timeout_ms)};
  answer(done, node_answer);
}
void fake_backend::set_node_state(caller w, std::string name, node_action a, callback<void> done) {
  calls.push_back("set_node_state");
  who = w;
  args = {name};
  action = a;
  answer(done, void_answer);
}
void fake_backend::rendezvous_put(std::optional<task_ref> t, rendezvous_scope s, std::string key,
                                  std::string v, callback<void> done) {
  calls.push_back("rendezvous_put");
  task = std::move(t);
  args = {key};
  scope = std::move(s);
  value = std::move(v);
  answer(done, void_answer);
}
void fake_backend::rendezvous_get(std::optional<task_ref> t, rendezvous_scope s, std::string key,
                                  uint32_t timeout_ms, callback<std::string> done) {
  calls.push_back("rendezvous_get");
  task = std::move(t);
  args = {key, std::to_string(timeout_ms)};
  scope = std::move(s);
  answer(done, value_answer);
}
void fake_backend::register_worker(std::string node, node_inventory inventory,
                                   std::vector<task_report> tasks, std::shared_ptr<task_agent> a,
                                   callback<worker_registration> done) {
  calls.push_back("register_worker");
  bound_node = std::move(node);
  args = {inventory.name};
  registered.push_back(std::move(inventory));
  registered_tasks.push_back(std::move(tasks));
  agent = std::move(a);
  answer(done, result<worker_registration>(worker_registration{session, heartbeat_interval_ms}));
}

void fake_agent::launch(task_spec task, callback<int64_t> done) {
  launched.push_back(std::move(task));
  done(pid_answer);
  changed.notify();
}
void fake_agent::kill(std::string task_id, uint32_t grace_ms, callback<void> done) {
  calls.push_back("kill " + task_id + " " + std::to_string(grace_ms));
  done(void_answer);
  changed.notify();
}
void fake_agent::read_log(std::string task_id, uint64_t offset, uint32_t max_bytes,
                          callback<log_chunk> done) {
  calls.push_back("read_log " + task_id + " " + std::to_string(offset) + " " +
                  std::to_string(max_bytes));
  done(log_answer);
  changed.notify();
}
void fake_agent::signal(std::string task_id, int32_t sig, callback<void> done) {
  calls.push_back("signal " + task_id + " " + std::to_string(sig));
  done(void_answer);
  changed.notify();
}
void fake_agent::reserve_port(callback<uint16_t> done) {
  calls.push_back("reserve_port");
  done(port_answer);
  changed.notify();
}
void fake_agent::list_running(callback<std::vector<task_report>> done) {
  calls.push_back("list_running");
  done(running);
  changed.notify();
}

}  // namespace gantry::protocol_test
