#include "actors/actor_backend.hpp"

#include "actors/ask.hpp"
#include "actors/messages.hpp"
#include "core/log.hpp"

namespace gantry {
namespace {

std::unexpected<error> no_such_job(const std::string& id) {
  return fail(errc::not_found, "no job " + id + " (gantry jobs lists them)");
}

class actor_backend final : public coordinator_backend {
 public:
  actor_backend(caf::actor_system& sys, cluster_actor cluster, rendezvous_actor rendezvous,
                std::shared_ptr<credential_registry> credentials)
      : sys_(sys),
        cluster_(std::move(cluster)),
        rendezvous_(std::move(rendezvous)),
        credentials_(std::move(credentials)) {}

  void authenticate(credential_kind kind, std::string token, std::shared_ptr<session_revoker> guard,
                    callback<identity> done) override {
    if (!credentials_) {
      identity who;
      who.kind = kind == credential_kind::none ? credential_kind::user : kind;
      who.who = {"admin", caller_role::admin};
      who.insecure = true;
      return done(who);
    }
    if (kind == credential_kind::none)
      return done(fail(errc::unauthenticated,
                       "no token: pass --token-file, set GANTRY_TOKEN or run gantry login"));
    done(credentials_->authenticate(kind, token, std::move(guard)));
  }

  void submit(caller who, std::string manifest, bool allow_unschedulable,
              callback<submit_reply> done) override {
    ask<submit_reply>(sys_, cluster_,
                      msg::submit{std::move(manifest), who.user, allow_unschedulable},
                      std::move(done));
  }
  void list_jobs(caller who, callback<std::vector<job_summary>> done) override {
    ask<std::vector<job_summary>>(
        sys_, cluster_, msg::list_jobs{}, [who, done](result<std::vector<job_summary>> r) {
          if (r && who.role != caller_role::admin)
            std::erase_if(*r, [&](const job_summary& j) { return !may_access_job(who, j.owner); });
          done(std::move(r));
        });
  }
  void describe_job(caller who, std::string job_id, callback<job_record> done) override {
    ask<job_record>(sys_, cluster_, msg::describe{job_id},
                    [who, job_id, done](result<job_record> r) {
                      if (r && !may_access_job(who, r->owner)) return done(no_such_job(job_id));
                      done(std::move(r));
                    });
  }
  void list_nodes(caller, callback<std::vector<node_status>> done) override {
    ask<std::vector<node_status>>(sys_, cluster_, msg::list_nodes{}, std::move(done));
  }
  void cancel(caller who, std::string job_id, callback<void> done) override {
    owned(who, job_id, done,
          [this, job_id, done] { ask<void>(sys_, cluster_, msg::cancel{job_id}, done); });
  }
  void watch(caller who, std::string job_id, uint64_t from_seq, std::shared_ptr<event_sink> sink,
             callback<watch_reply> done) override {
    owned(who, job_id, done, [this, job_id, from_seq, sink, done] {
      ask<watch_reply>(sys_, cluster_, msg::watch{job_id, from_seq, sink}, done);
    });
  }
  void read_logs(caller who, std::string job_id, std::string stage, int32_t rank, int32_t attempt,
                 uint64_t offset, uint32_t max_bytes, callback<log_chunk> done) override {
    owned(who, job_id, done, [this, job_id, stage, rank, attempt, offset, max_bytes, done] {
      caf::anon_send(cluster_,
                     msg::read_logs{job_id, stage, rank, offset, max_bytes, done, attempt});
    });
  }
  void wait_node(caller, std::string name, node_state state, uint32_t timeout_ms,
                 callback<node_status> done) override {
    ask<node_status>(sys_, cluster_, msg::wait_node{std::move(name), state, timeout_ms},
                     std::move(done));
  }
  void set_node_state(caller who, std::string name, node_action action,
                      callback<void> done) override {
    if (auto ok = require_admin(who, "changing a node's state"); !ok) return done(ok);
    ask<void>(sys_, cluster_, msg::set_node_state{std::move(name), action}, std::move(done));
  }
  void remove_node(caller who, std::string name, callback<void> done) override {
    if (auto ok = require_admin(who, "removing a node"); !ok) return done(ok);
    if (!credentials_) return done(fail(errc::failed_precondition, insecure_word()));
    credentials_->remove_node(name, std::move(done));
  }
  void create_token(caller who, token_request request, callback<std::string> done) override {
    if (auto ok = require_admin(who, "creating a token"); !ok) return done(fail(ok.error()));
    if (!credentials_) return done(fail(errc::failed_precondition, insecure_word()));
    credentials_->create(request, std::move(done));
  }
  void list_tokens(caller who, callback<std::vector<token_info>> done) override {
    if (auto ok = require_admin(who, "listing tokens"); !ok) return done(fail(ok.error()));
    if (!credentials_) return done(std::vector<token_info>{});
    done(credentials_->list());
  }
  void revoke_token(caller who, std::string id, callback<void> done) override {
    if (auto ok = require_admin(who, "revoking a token"); !ok) return done(ok);
    if (!credentials_) return done(fail(errc::failed_precondition, insecure_word()));
    credentials_->revoke(id, std::move(done));
  }
  void set_queue(caller who, queue_change change, callback<void> done) override {
    if (auto ok = require_admin(who, change.create ? "creating a queue" : "changing a queue"); !ok)
      return done(ok);
    ask<void>(sys_, cluster_, msg::set_queue{std::move(change)}, std::move(done));
  }
  void delete_queue(caller who, std::string name, callback<void> done) override {
    if (auto ok = require_admin(who, "deleting a queue"); !ok) return done(ok);
    ask<void>(sys_, cluster_, msg::delete_queue{std::move(name)}, std::move(done));
  }
  void list_queues(caller, callback<std::vector<queue_info>> done) override {
    ask<std::vector<queue_info>>(sys_, cluster_, msg::list_queues{}, std::move(done));
  }
  void join(std::string node_name, callback<std::string> done) override {
    if (!credentials_) return done(fail(errc::failed_precondition, insecure_word()));
    credentials_->join(node_name, std::move(done));
  }
  void register_worker(std::string node, node_inventory inventory, std::vector<task_report> tasks,
                       std::shared_ptr<task_agent> agent,
                       callback<worker_registration> done) override {
    if (!node.empty() && inventory.name != node)
      return done(fail(errc::permission_denied, "this node credential is bound to node " + node +
                                                    ", not " + inventory.name +
                                                    " (each worker joins under its own name)"));
    ask<worker_registration>(
        sys_, cluster_,
        msg::register_worker{std::move(inventory), std::move(tasks), std::move(agent)},
        std::move(done));
  }
  void rendezvous_put(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                      std::string value, callback<void> done) override {
    if (task)
      if (auto ok = check_task_scope(*task, scope); !ok) return done(ok);
    ask<void>(sys_, rendezvous_, msg::rdv_put{std::move(scope), std::move(key), std::move(value)},
              std::move(done));
  }
  void rendezvous_get(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                      uint32_t timeout_ms, callback<std::string> done) override {
    if (task)
      if (auto ok = check_task_scope(*task, scope); !ok) return done(fail(ok.error()));
    ask<std::string>(sys_, rendezvous_, msg::rdv_get{std::move(scope), std::move(key), timeout_ms},
                     std::move(done));
  }

 private:
  static std::string insecure_word() {
    return "the coordinator runs --insecure: it has no credentials to manage";
  }
  // Runs `then` when `who` may act on job `id` (an admin always; a user on its own jobs);
  // otherwise answers `done` as for an unknown job.
  template <class T, class Then>
  void owned(const caller& who, const std::string& id, callback<T> done, Then then) {
    if (who.role == caller_role::admin) return then();
    ask<job_record>(sys_, cluster_, msg::describe{id},
                    [who, id, done, then](result<job_record> r) mutable {
                      if (!r) return done(fail(r.error()));
                      if (!may_access_job(who, r->owner)) return done(no_such_job(id));
                      then();
                    });
  }

  caf::actor_system& sys_;
  cluster_actor cluster_;
  rendezvous_actor rendezvous_;
  std::shared_ptr<credential_registry> credentials_;
};

}  // namespace

std::unique_ptr<coordinator_backend> make_actor_backend(
    caf::actor_system& sys, cluster_actor cluster, rendezvous_actor rendezvous,
    std::shared_ptr<credential_registry> credentials) {
  return std::make_unique<actor_backend>(sys, std::move(cluster), std::move(rendezvous),
                                         std::move(credentials));
}

}  // namespace gantry
