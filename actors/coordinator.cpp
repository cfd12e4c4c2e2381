#include "actors/coordinator.hpp"

#include <chrono>
#include <filesystem>

#include "actors/ask.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/messages.hpp"
#include "actors/rendezvous_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/log.hpp"

namespace gantry {
namespace {

// The coordinator API over the cluster actor: every call is one message.
class actor_backend final : public coordinator_backend {
 public:
  actor_backend(caf::actor_system& sys, cluster_actor cluster, rendezvous_actor rendezvous)
      : sys_(sys), cluster_(std::move(cluster)), rendezvous_(std::move(rendezvous)) {}

  void submit(std::string manifest, bool allow_unschedulable,
              callback<submit_reply> done) override {
    ask<submit_reply>(sys_, cluster_, msg::submit{std::move(manifest), allow_unschedulable},
                      std::move(done));
  }
  void list_jobs(callback<std::vector<job_summary>> done) override {
    ask<std::vector<job_summary>>(sys_, cluster_, msg::list_jobs{}, std::move(done));
  }
  void describe_job(std::string job_id, callback<job_record> done) override {
    ask<job_record>(sys_, cluster_, msg::describe{std::move(job_id)}, std::move(done));
  }
  void list_nodes(callback<std::vector<node_status>> done) override {
    ask<std::vector<node_status>>(sys_, cluster_, msg::list_nodes{}, std::move(done));
  }
  void cancel(std::string job_id, callback<void> done) override {
    ask<void>(sys_, cluster_, msg::cancel{std::move(job_id)}, std::move(done));
  }
  void watch(std::string job_id, uint64_t from_seq, std::shared_ptr<event_sink> sink,
             callback<watch_reply> done) override {
    ask<watch_reply>(sys_, cluster_, msg::watch{std::move(job_id), from_seq, std::move(sink)},
                     std::move(done));
  }
  void read_logs(std::string job_id, std::string stage, int32_t rank, int32_t attempt,
                 uint64_t offset, uint32_t max_bytes, callback<log_chunk> done) override {
    caf::anon_send(cluster_, msg::read_logs{std::move(job_id), std::move(stage), rank, offset,
                                            max_bytes, std::move(done), attempt});
  }
  void wait_node(std::string name, node_state state, uint32_t timeout_ms,
                 callback<node_status> done) override {
    ask<node_status>(sys_, cluster_, msg::wait_node{std::move(name), state, timeout_ms},
                     std::move(done));
  }
  void set_node_state(std::string name, node_action action, callback<void> done) override {
    ask<void>(sys_, cluster_, msg::set_node_state{std::move(name), action}, std::move(done));
  }
  void rendezvous_put(rendezvous_scope scope, std::string key, std::string value,
                      callback<void> done) override {
    ask<void>(sys_, rendezvous_, msg::rdv_put{std::move(scope), std::move(key), std::move(value)},
              std::move(done));
  }
  void rendezvous_get(rendezvous_scope scope, std::string key, uint32_t timeout_ms,
                      callback<std::string> done) override {
    ask<std::string>(sys_, rendezvous_, msg::rdv_get{std::move(scope), std::move(key), timeout_ms},
                     std::move(done));
  }
  void register_worker(node_inventory inventory, std::vector<task_report> tasks,
                       std::shared_ptr<task_agent> agent,
                       callback<worker_registration> done) override {
    ask<worker_registration>(
        sys_, cluster_,
        msg::register_worker{std::move(inventory), std::move(tasks), std::move(agent)},
        std::move(done));
  }

 private:
  caf::actor_system& sys_;
  cluster_actor cluster_;
  rendezvous_actor rendezvous_;
};

result<recovered_state> load(storage::state_store& store) {
  recovered_state rs;
  auto jobs = store.load_jobs();
  if (!jobs) return fail(jobs.error());
  rs.jobs = std::move(*jobs);
  for (const auto& j : rs.jobs) {
    if (is_terminal(j.state)) continue;
    auto events = store.load_events(j.id, 1);
    if (!events) return fail(events.error());
    rs.events[j.id] = std::move(*events);
  }
  auto nodes = store.load_nodes();
  if (!nodes) return fail(nodes.error());
  rs.nodes = std::move(*nodes);
  auto next = store.get_meta("next_job_number");
  if (!next) return fail(next.error());
  if (*next) rs.next_job_number = std::stoull(**next);
  return rs;
}

}  // namespace

struct coordinator::impl {
  caf::actor_system& sys;
  std::unique_ptr<storage::kv_store> kv;
  std::unique_ptr<storage::state_store> store;
  store_actor store_ref;
  rendezvous_actor rendezvous;
  cluster_actor cluster;
  std::unique_ptr<actor_backend> backend;
  bool stopped = false;
};

coordinator::coordinator(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
coordinator::~coordinator() {
  stop();
}

result<std::unique_ptr<coordinator>> coordinator::open(caf::actor_system& sys,
                                                       const std::string& data_dir,
                                                       coordinator_config config) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail(errc::io_error, "cannot create data dir " + data_dir + ": " + ec.message());
  auto kv = storage::open_rocksdb(data_dir + "/state", config.min_free_disk_bytes);
  if (!kv) return fail(kv.error());
  return open(sys, std::move(*kv), config);
}

result<std::unique_ptr<coordinator>> coordinator::open(caf::actor_system& sys,
                                                       std::unique_ptr<storage::kv_store> kv,
                                                       coordinator_config config) {
  auto p = std::unique_ptr<impl>(new impl{sys, std::move(kv), nullptr, {}, {}, {}, nullptr, false});
  p->store = std::make_unique<storage::state_store>(*p->kv);
  if (auto r = p->store->check_schema(); !r) return fail(r.error());
  auto started = std::chrono::steady_clock::now();
  auto rs = load(*p->store);
  if (!rs) return fail(rs.error());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  if (!rs->jobs.empty())
    log_info("loaded " + std::to_string(rs->jobs.size()) + " jobs from the store in " +
             std::to_string(ms) + " ms");
  p->store_ref = spawn_store_actor(sys, *p->store, config.retain_compact_interval_ms);
  p->rendezvous = spawn_rendezvous_actor(sys);
  p->cluster = spawn_cluster_actor(sys, p->store_ref, p->rendezvous, std::move(*rs), config);
  p->backend = std::make_unique<actor_backend>(sys, p->cluster, p->rendezvous);
  return std::unique_ptr<coordinator>(new coordinator(std::move(p)));
}

coordinator_backend& coordinator::api() {
  return *impl_->backend;
}
cluster_actor coordinator::cluster() const {
  return impl_->cluster;
}

void coordinator::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  caf::anon_send_exit(impl_->cluster, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->store_ref, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->rendezvous, caf::exit_reason::user_shutdown);
}

}  // namespace gantry
