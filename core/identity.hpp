#pragma once
// Who is calling: what an authenticated connection is bound to, and the rules that say what a
// caller may do. Plain C++; the credentials themselves live in security/.
//
// Roles (docs/security.md has the table):
//   user   submits; sees, watches, describes, reads the logs of and cancels its own jobs;
//          reads nodes.
//   admin  everything: every job, node operations (cordon, drain, uncordon, remove), tokens.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gantry {

enum class caller_role { user, admin };

// A client (a person or a script) as the coordinator knows it from its token.
struct caller {
  std::string user;
  caller_role role = caller_role::user;
  bool operator==(const caller&) const = default;
};

const char* to_string(caller_role role);

// What a connection presented: the kind decides which capability it is given.
//   none   no credential (only a coordinator started with --insecure accepts it)
//   user   a user or admin token: the client API
//   join   the join token: exchanges it for a node credential
//   node   a node credential: the worker API, for its own node name
//   task   a task credential (GANTRY_TASK_TOKEN): its own job's rendezvous
enum class credential_kind : uint8_t { none = 0, user = 1, join = 2, node = 3, task = 4 };

const char* to_string(credential_kind kind);

// One run of one rank, as a task credential names it.
struct task_ref {
  std::string job;
  std::string stage;
  int32_t rank = 0;
  int32_t attempt = 0;
  bool operator==(const task_ref&) const = default;
};

// What an authenticated connection is bound to.
struct identity {
  credential_kind kind = credential_kind::none;
  caller who;                    // kind user: the token's user and role
  std::string node;              // kind node: the node name the credential is bound to
  std::optional<task_ref> task;  // kind task: the task it is bound to
  std::string token_id;          // the credential's id (logs, revocation); empty for none
  bool insecure = false;         // the coordinator runs --insecure: no credential was checked
};

// Whether `who` may see and act on a job owned by `owner` (its own, or an admin).
bool may_access_job(const caller& who, std::string_view owner);

// Ok for an admin; otherwise errc::permission_denied saying that `what` needs an admin token.
result<void> require_admin(const caller& who, std::string_view what);

// "alice (admin)".
std::string describe(const caller& who);

}  // namespace gantry
