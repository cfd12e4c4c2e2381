#pragma once
// The coordinator's credentials, as records (never tokens): the admin and join tokens from
// DATA/tokens/, user/admin tokens and node credentials from the store, and task credentials
// of running tasks (in memory). Answers "who is this token" synchronously, so a connection is
// authenticated without an actor round trip; changes are persisted through the store actor
// before they take effect. Thread-safe.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/store_actor.hpp"
#include "core/coordinator_api.hpp"
#include "core/identity.hpp"
#include "core/ports.hpp"
#include "security/token_record.hpp"

namespace gantry {

class credential_registry final : public task_credentials {
 public:
  // `stored`: the records the store holds (user, admin and node tokens). Empty admin/join
  // texts: none (tests).
  credential_registry(caf::actor_system& sys, store_actor store,
                      std::vector<security::token_record> stored, const std::string& admin_token,
                      const std::string& join_token);

  // Who `token` is, presented as `kind`. errc::unauthenticated: malformed, unknown, revoked
  // or expired; errc::permission_denied: a valid token of another kind than presented.
  // `revoker` is closed when the credential is revoked later.
  result<identity> authenticate(credential_kind kind, const std::string& token,
                                std::shared_ptr<session_revoker> revoker);

  // Persists a new user/admin token and hands out its text (once).
  void create(const token_request& request, callback<std::string> done);
  std::vector<token_info> list() const;
  // Forgets token `id` (persisted first) and closes its connections. not_found: no such id,
  // failed_precondition: the root admin or join token (rotate by deleting its file).
  void revoke(const std::string& id, callback<void> done);
  // A node credential bound to `node`. already_exists when another one holds the name.
  void join(const std::string& node, callback<std::string> done);
  // Forgets the node's credential and closes its connection; ok when it had none.
  void remove_node(const std::string& node, callback<void> done);

  // task_credentials
  std::string issue(const std::string& task_id, const task_ref& task,
                    const std::string& owner) override;
  void retire(const std::string& task_id) override;

 private:
  struct entry {
    security::token_record record;
    std::vector<std::weak_ptr<session_revoker>> sessions;
  };
  void persist(std::shared_ptr<storage::state_store::batch> batch, callback<void> done);
  void forget_locked(const std::string& id, const std::string& why,
                     std::vector<std::shared_ptr<session_revoker>>& to_close);

  caf::actor_system& sys_;
  store_actor store_;
  mutable std::mutex mu_;
  std::map<std::string, entry> tokens_;             // by token id
  std::map<std::string, std::string> task_tokens_;  // task id -> token id
  std::string admin_id_, join_id_;
};

// The stored token records, for credential_registry (skips and logs records that do not
// decode).
std::vector<security::token_record> decode_token_records(
    const std::vector<std::pair<std::string, std::string>>& stored);

}  // namespace gantry
