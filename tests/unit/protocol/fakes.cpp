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

void fake_backend::submit(std::string manifest, bool allow_unschedulable,
                          callback<submit_reply> done) {
  calls.push_back("submit");
  args = {manifest};
  if (allow_unschedulable) args.push_back("allow_unschedulable");
  answer(done, submit_answer);
}
void fake_backend::list_jobs(callback<std::vector<job_summary>> done) {
  calls.push_back("list_jobs");
  args = {};
  answer(done, jobs_answer);
}
void fake_backend::describe_job(std::string job_id, callback<job_record> done) {
  calls.push_back("describe_job");
  args = {job_id};
  answer(done, job_answer);
}
void fake_backend::list_nodes(callback<std::vector<node_status>> done) {
  calls.push_back("list_nodes");
  args = {};
  answer(done, nodes_answer);
}
void fake_backend::cancel(std::string job_id, callback<void> done) {
  calls.push_back("cancel");
  args = {job_id};
  answer(done, void_answer);
}
void fake_backend::watch(std::string job_id, uint64_t from_seq, std::shared_ptr<event_sink> s,
                         callback<watch_reply> done) {
  calls.push_back("watch");
  args = {job_id, std::to_string(from_seq)};
  sink = std::move(s);
  answer(done, watch_answer);
}
void fake_backend::read_logs(std::string job_id, std::string stage, int32_t rank, int32_t attempt,
                             uint64_t offset, uint32_t max_bytes, callback<log_chunk> done) {
  calls.push_back("read_logs");
  args = {job_id,
          stage,
          std::to_string(rank),
          std::to_string(attempt),
          std::to_string(offset),
          std::to_string(max_bytes)};
  answer(done, log_answer);
}
void fake_backend::wait_node(std::string name, node_state state, uint32_t timeout_ms,
                             callback<node_status> done) {
  calls.push_back("wait_node");
  args = {name, to_string(state), std::to_string(timeout_ms)};
  answer(done, node_answer);
}
void fake_backend::set_node_state(std::string name, node_action a, callback<void> done) {
  calls.push_back("set_node_state");
  args = {name};
  action = a;
  answer(done, void_answer);
}
void fake_backend::rendezvous_put(rendezvous_scope s, std::string key, std::string v,
                                  callback<void> done) {
  calls.push_back("rendezvous_put");
  args = {key};
  scope = std::move(s);
  value = std::move(v);
  answer(done, void_answer);
}
void fake_backend::rendezvous_get(rendezvous_scope s, std::string key, uint32_t timeout_ms,
                                  callback<std::string> done) {
  calls.push_back("rendezvous_get");
  args = {key, std::to_string(timeout_ms)};
  scope = std::move(s);
  answer(done, value_answer);
}
void fake_backend::register_worker(node_inventory inventory, std::vector<task_report> tasks,
                                   std::shared_ptr<task_agent> a,
                                   callback<worker_registration> done) {
  calls.push_back("register_worker");
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
