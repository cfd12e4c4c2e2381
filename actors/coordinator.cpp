#include "actors/coordinator.hpp"

#include <chrono>
#include <filesystem>

#include "actors/actor_backend.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/messages.hpp"
#include "actors/queue_records.hpp"
#include "actors/rendezvous_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/log.hpp"

namespace gantry {
namespace {

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
  auto queues = store.load_queues();
  if (!queues) return fail(queues.error());
  for (const auto& [name, json] : *queues) {
    auto q = decode_queue(name, json);
    if (!q) return fail(q.error());
    rs.queues.push_back(std::move(*q));
  }
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
  std::shared_ptr<credential_registry> credentials;
  std::unique_ptr<coordinator_backend> backend;
  bool stopped = false;
};

coordinator::coordinator(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
coordinator::~coordinator() {
  stop();
}

result<std::unique_ptr<coordinator>> coordinator::open(caf::actor_system& sys,
                                                       const std::string& data_dir,
                                                       coordinator_config config,
                                                       coordinator_credentials_in creds) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail(errc::io_error, "cannot create data dir " + data_dir + ": " + ec.message());
  // The state is the coordinator's alone: tasks on this machine run as other users.
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec)
    log_warn("cannot chmod 0700 " + data_dir + " (others may read the state): " + ec.message());
  auto kv = storage::open_rocksdb(data_dir + "/state", config.min_free_disk_bytes);
  if (!kv) return fail(kv.error());
  return open(sys, std::move(*kv), config, std::move(creds));
}

result<std::unique_ptr<coordinator>> coordinator::open(caf::actor_system& sys,
                                                       std::unique_ptr<storage::kv_store> kv,
                                                       coordinator_config config,
                                                       coordinator_credentials_in creds) {
  auto p = std::unique_ptr<impl>(
      new impl{sys, std::move(kv), nullptr, {}, {}, {}, nullptr, nullptr, false});
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
  p->store_ref =
      spawn_store_actor(sys, *p->store, config.retain_compact_interval_ms, config.metrics);
  if (!creds.insecure) {
    auto stored = p->store->load_tokens();
    if (!stored) return fail(stored.error());
    p->credentials = std::make_shared<credential_registry>(
        sys, p->store_ref, decode_token_records(*stored), creds.admin_token, creds.join_token);
    config.task_tokens = p->credentials;
  }
  p->rendezvous = spawn_rendezvous_actor(sys);
  p->cluster = spawn_cluster_actor(sys, p->store_ref, p->rendezvous, std::move(*rs), config);
  p->backend = make_actor_backend(sys, p->cluster, p->rendezvous, p->credentials);
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
