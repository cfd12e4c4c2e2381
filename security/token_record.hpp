#pragma once
// What the coordinator keeps about a token (never the token itself), and the constructors for
// each kind of credential. Plain data: the storage layer persists it with encode()/decode.
//
// Roles:
//   user   submits; sees and acts on its own jobs; reads nodes. May be limited to `queues`.
//   admin  everything, including node operations and tokens.
//   join   exchanged by a new worker for a node credential (tokens/join).
//   node   one worker, bound to its node name (`node`).
//   task   one running task, bound to its job/stage/rank/attempt (`task`); revoked when the
//          task ends, valid only for that job's rendezvous scope.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "security/token.hpp"

namespace gantry::security {

enum class token_role { user, admin, join, node, task };

const char* to_string(token_role role);
result<token_role> parse_token_role(std::string_view name);

struct task_binding {
  std::string job;
  std::string stage;
  int32_t rank = 0;
  int32_t attempt = 0;
  bool operator==(const task_binding&) const = default;
};

struct token_record {
  std::string id;    // the token's id (security/token.hpp), the key in storage
  std::string user;  // who acts: the user's name; for node and task credentials see issue_*
  token_role role = token_role::user;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;            // 0: does not expire
  std::vector<std::string> queues;   // user tokens: the queues it may submit to; empty: any
  std::string hash;                  // hash_token(text)
  std::string node;                  // role node: the node name it is bound to; empty otherwise
  std::optional<task_binding> task;  // role task: the task it is bound to
  bool operator==(const token_record&) const = default;
};

// A credential just made: `token` is handed out once, `record` is stored.
struct issued_token {
  std::string token;
  token_record record;
};

// REQUIRES of every issue_*: a non-empty name; ttl_ms >= 0 (0: no expiry).
// A user or admin token (`token create --user NAME --role R --ttl T --queues Q`).
result<issued_token> issue_user_token(std::string user, token_role role, int64_t now_ms,
                                      int64_t ttl_ms = 0, std::vector<std::string> queues = {});
// The worker join token; its user is "join".
result<issued_token> issue_join_token(int64_t now_ms, int64_t ttl_ms = 0);
// A node credential; its user is "node:<name>".
result<issued_token> issue_node_credential(std::string node, int64_t now_ms);
// A task credential; its user is the job's owner, so rendezvous can name who acted.
result<issued_token> issue_task_credential(task_binding task, std::string owner, int64_t now_ms);

// The record for a token that already exists as text (the coordinator's tokens/admin and
// tokens/join files), with no expiry.
result<token_record> record_for_token(std::string_view token_text, token_role role,
                                      std::string user, int64_t now_ms);

// Whether the record is whole and consistent: an id and hash of the right shape, a user, a
// node exactly for role node, a task exactly for role task, expiry after creation.
result<void> validate(const token_record& record);

// `unknown`: no record under the token's id (never issued here, or revoked).
enum class token_verdict { ok, unknown, wrong_secret, expired };

// Checks a presented token against the record stored under its id (nullptr: none).
// REQUIRES: record == nullptr or record->id == presented.id.
token_verdict verify(const parsed_token& presented, const token_record* record, int64_t now_ms);

// A sentence for the client that never contains the token. `unknown` and `wrong_secret` read
// the same, so a client cannot tell which ids exist.
const char* describe(token_verdict verdict);

// JSON, as core/codec.hpp writes records: unknown keys are skipped, missing keys keep their
// defaults, then the record is validated. Decoding never throws.
std::string encode(const token_record& record);
result<token_record> decode_token_record(std::string_view text);

}  // namespace gantry::security
