#include "actors/credential_registry.hpp"

#include "actors/ask.hpp"
#include "actors/messages.hpp"
#include "core/log.hpp"

namespace gantry {
namespace sec = security;
namespace {

credential_kind kind_of(sec::token_role role) {
  switch (role) {
    case sec::token_role::user:
    case sec::token_role::admin:
      return credential_kind::user;
    case sec::token_role::join:
      return credential_kind::join;
    case sec::token_role::node:
      return credential_kind::node;
    case sec::token_role::task:
      return credential_kind::task;
  }
  return credential_kind::none;
}

const char* what_for(credential_kind kind) {
  switch (kind) {
    case credential_kind::user:
      return "a user or admin token (--token-file, GANTRY_TOKEN or gantry login)";
    case credential_kind::join:
      return "the join token (DATA/tokens/join: gantry worker --join-token-file)";
    case credential_kind::node:
      return "a node credential (what a worker gets when it joins)";
    case credential_kind::task:
      return "a task credential (GANTRY_TASK_TOKEN, inside a running task)";
    case credential_kind::none:
      break;
  }
  return "a credential";
}

}  // namespace

std::vector<sec::token_record> decode_token_records(
    const std::vector<std::pair<std::string, std::string>>& stored) {
  std::vector<sec::token_record> out;
  for (const auto& [id, json] : stored) {
    auto r = sec::decode_token_record(json);
    if (!r || r->id != id) {
      log_error("the stored token " + id + " does not decode; ignored (" +
                (r ? std::string("its id differs") : r.error().message) + ")");
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

credential_registry::credential_registry(caf::actor_system& sys, store_actor store,
                                         std::vector<sec::token_record> stored,
                                         const std::string& admin_token,
                                         const std::string& join_token)
    : sys_(sys), store_(std::move(store)) {
  for (auto& r : stored) {
    std::string id = r.id;
    tokens_[id].record = std::move(r);
  }
  auto root = [&](const std::string& text, sec::token_role role, const char* user) {
    if (text.empty()) return std::string();
    auto r = sec::record_for_token(text, role, user, now_ms());
    if (!r) {
      log_error(std::string("the ") + user + " token does not parse: " + r.error().message);
      return std::string();
    }
    std::string id = r->id;
    tokens_[id].record = std::move(*r);
    return id;
  };
  admin_id_ = root(admin_token, sec::token_role::admin, "admin");
  join_id_ = root(join_token, sec::token_role::join, "join");
}

result<identity> credential_registry::authenticate(credential_kind kind, const std::string& token,
                                                   std::shared_ptr<session_revoker> revoker) {
  auto parsed = sec::parse_token(token);
  if (!parsed) return fail(errc::unauthenticated, parsed.error().message);
  std::lock_guard lock(mu_);
  auto it = tokens_.find(parsed->id);
  auto verdict = sec::verify(*parsed, it == tokens_.end() ? nullptr : &it->second.record, now_ms());
  if (verdict != sec::token_verdict::ok) return fail(errc::unauthenticated, sec::describe(verdict));
  const sec::token_record& r = it->second.record;
  if (kind_of(r.role) != kind) {
    return fail(errc::permission_denied, std::string("this connection needs ") + what_for(kind) +
                                             ", and the token presented is " +
                                             what_for(kind_of(r.role)));
  }
  identity who;
  who.kind = kind;
  who.token_id = r.id;
  who.who.user = r.user;
  who.who.role = r.role == sec::token_role::admin ? caller_role::admin : caller_role::user;
  who.node = r.node;
  if (r.task) who.task = task_ref{r.task->job, r.task->stage, r.task->rank, r.task->attempt};
  if (revoker) {
    auto& sessions = it->second.sessions;
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(revoker);
  }
  return who;
}

void credential_registry::persist(std::shared_ptr<storage::state_store::batch> batch,
                                  callback<void> done) {
  ask<void>(sys_, store_, msg::persist{std::move(batch)}, std::move(done));
}

void credential_registry::create(const token_request& request, callback<std::string> done) {
  auto role = request.role == caller_role::admin ? sec::token_role::admin : sec::token_role::user;
  auto issued = sec::issue_user_token(request.user, role, now_ms(), request.ttl_ms);
  if (!issued) return done(fail(issued.error()));
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->put_token(issued->record.id, sec::encode(issued->record));
  persist(batch, [this, issued = std::move(*issued), done](result<void> r) mutable {
    if (!r) return done(fail(r.error()));
    {
      std::lock_guard lock(mu_);
      tokens_[issued.record.id].record = issued.record;
    }
    log_info("token " + issued.record.id + " created for " + issued.record.user + " (" +
             sec::to_string(issued.record.role) + ")");
    done(std::move(issued.token));
  });
}

std::vector<token_info> credential_registry::list() const {
  std::lock_guard lock(mu_);
  std::vector<token_info> out;
  for (const auto& [id, e] : tokens_) {
    const auto& r = e.record;
    if (r.role == sec::token_role::task || r.role == sec::token_role::join) continue;
    out.push_back({r.id, r.user, sec::to_string(r.role), r.created_ms, r.expires_ms, r.node});
  }
  return out;
}

void credential_registry::forget_locked(const std::string& id, const std::string& why,
                                        std::vector<std::shared_ptr<session_revoker>>& to_close) {
  auto it = tokens_.find(id);
  if (it == tokens_.end()) return;
  for (auto& w : it->second.sessions)
    if (auto s = w.lock()) to_close.push_back(std::move(s));
  tokens_.erase(it);
  (void)why;
}

void credential_registry::revoke(const std::string& id, callback<void> done) {
  {
    std::lock_guard lock(mu_);
    if (id == admin_id_ || id == join_id_)
      return done(fail(errc::failed_precondition,
                       "token " + id + " is the coordinator's root " +
                           (id == admin_id_ ? "admin" : "join") +
                           " token: rotate it by deleting its file in DATA/tokens and restarting "
                           "the coordinator"));
    auto it = tokens_.find(id);
    if (it == tokens_.end() || it->second.record.role == sec::token_role::task)
      return done(fail(errc::not_found, "no token has the id " + id + " (gantry token list)"));
  }
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->erase_token(id);
  persist(batch, [this, id, done](result<void> r) {
    if (!r) return done(fail(r.error()));
    std::vector<std::shared_ptr<session_revoker>> to_close;
    {
      std::lock_guard lock(mu_);
      forget_locked(id, "revoked", to_close);
    }
    for (auto& s : to_close) s->revoke("token " + id + " was revoked");
    log_info("token " + id + " revoked; " + std::to_string(to_close.size()) +
             " open connection(s) closed");
    done({});
  });
}

void credential_registry::join(const std::string& node, callback<std::string> done) {
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : tokens_)
      if (e.record.role == sec::token_role::node && e.record.node == node)
        return done(fail(errc::already_exists,
                         "node " + node +
                             " already has a credential: a worker of that name joined before "
                             "(start it with its data dir, or run gantry nodes remove " +
                             node + " to free the name)"));
  }
  auto issued = sec::issue_node_credential(node, now_ms());
  if (!issued) return done(fail(issued.error()));
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->put_token(issued->record.id, sec::encode(issued->record));
  persist(batch, [this, node, issued = std::move(*issued), done](result<void> r) mutable {
    if (!r) return done(fail(r.error()));
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, e] : tokens_)  // a concurrent join of the same name won
        if (e.record.role == sec::token_role::node && e.record.node == node)
          return done(fail(errc::already_exists, "node " + node + " already has a credential"));
      tokens_[issued.record.id].record = issued.record;
    }
    log_info("node " + node + " joined (credential " + issued.record.id + ")");
    done(std::move(issued.token));
  });
}

void credential_registry::remove_node(const std::string& node, callback<void> done) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : tokens_)
      if (e.record.role == sec::token_role::node && e.record.node == node) ids.push_back(id);
  }
  if (ids.empty()) return done({});
  auto batch = std::make_shared<storage::state_store::batch>();
  for (const auto& id : ids) batch->erase_token(id);
  persist(batch, [this, ids, node, done](result<void> r) {
    if (!r) return done(fail(r.error()));
    std::vector<std::shared_ptr<session_revoker>> to_close;
    {
      std::lock_guard lock(mu_);
      for (const auto& id : ids) forget_locked(id, "node removed", to_close);
    }
    for (auto& s : to_close) s->revoke("node " + node + " was removed");
    done({});
  });
}

std::string credential_registry::issue(const std::string& task_id, const task_ref& task,
                                       const std::string& owner) {
  auto issued = sec::issue_task_credential({task.job, task.stage, task.rank, task.attempt},
                                           owner.empty() ? "unknown" : owner, now_ms());
  if (!issued) {
    log_error("cannot issue a task credential for " + task_id + ": " + issued.error().message);
    return {};
  }
  std::lock_guard lock(mu_);
  if (auto old = task_tokens_.find(task_id); old != task_tokens_.end()) tokens_.erase(old->second);
  task_tokens_[task_id] = issued->record.id;
  tokens_[issued->record.id].record = std::move(issued->record);
  return issued->token;
}

void credential_registry::retire(const std::string& task_id) {
  std::vector<std::shared_ptr<session_revoker>> to_close;
  {
    std::lock_guard lock(mu_);
    auto it = task_tokens_.find(task_id);
    if (it == task_tokens_.end()) return;
    forget_locked(it->second, "task ended", to_close);
    task_tokens_.erase(it);
  }
  for (auto& s : to_close) s->revoke("its task ended");
}

}  // namespace gantry
