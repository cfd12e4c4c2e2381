#include "security/token_record.hpp"

#include <nlohmann/json.hpp>

namespace gantry::security {
namespace {

using json = nlohmann::json;

result<issued_token> issue(token_role role, std::string user, int64_t now_ms, int64_t ttl_ms) {
  if (user.empty()) return fail(errc::invalid_argument, "a token needs a user name");
  if (ttl_ms < 0) return fail(errc::invalid_argument, "a token's lifetime cannot be negative");
  auto t = generate_token();
  if (!t) return fail(t.error());
  issued_token out;
  out.token = std::move(t->text);
  out.record.id = std::move(t->id);
  out.record.user = std::move(user);
  out.record.role = role;
  out.record.created_ms = now_ms;
  out.record.expires_ms = ttl_ms == 0 ? 0 : now_ms + ttl_ms;
  out.record.hash = std::move(t->hash);
  return out;
}

// Reads one member into `out` when present; a member of the wrong type is an error naming it.
// `where` names the enclosing object ("token_record.").
template <class T>
result<void> read_member(const json& j, std::string_view where, const char* name, T& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  bool ok = false;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_integral_v<T>) {
    ok = it->is_number_integer();
  } else {
    ok = it->is_array() &&
         std::all_of(it->begin(), it->end(), [](const json& e) { return e.is_string(); });
  }
  if (!ok) {
    return fail(errc::invalid_argument,
                std::string(where) + name + ": wrong type (" + it->type_name() + ")");
  }
  if constexpr (std::is_same_v<T, int32_t>) {
    auto v = it->get<int64_t>();
    if (v < INT32_MIN || v > INT32_MAX) {
      return fail(errc::invalid_argument,
                  std::string(where) + name + ": " + std::to_string(v) + " is out of range");
    }
    out = static_cast<int32_t>(v);
  } else {
    out = it->get<T>();
  }
  return {};
}

}  // namespace

const char* to_string(token_role role) {
  switch (role) {
    case token_role::user:
      return "user";
    case token_role::admin:
      return "admin";
    case token_role::join:
      return "join";
    case token_role::node:
      return "node";
    case token_role::task:
      return "task";
  }
  return "?";
}

result<token_role> parse_token_role(std::string_view name) {
  for (auto r : {token_role::user, token_role::admin, token_role::join, token_role::node,
                 token_role::task}) {
    if (name == to_string(r)) return r;
  }
  return fail(errc::invalid_argument,
              "unknown role '" + std::string(name) + "': expected user, admin, join, node or task");
}

result<issued_token> issue_user_token(std::string user, token_role role, int64_t now_ms,
                                      int64_t ttl_ms, std::vector<std::string> queues) {
  if (role != token_role::user && role != token_role::admin) {
    return fail(errc::invalid_argument,
                std::string("a user token's role is user or admin, not ") + to_string(role));
  }
  auto out = issue(role, std::move(user), now_ms, ttl_ms);
  if (out) out->record.queues = std::move(queues);
  return out;
}

result<issued_token> issue_join_token(int64_t now_ms, int64_t ttl_ms) {
  return issue(token_role::join, "join", now_ms, ttl_ms);
}

result<issued_token> issue_node_credential(std::string node, int64_t now_ms) {
  if (node.empty()) return fail(errc::invalid_argument, "a node credential needs a node name");
  auto out = issue(token_role::node, "node:" + node, now_ms, 0);
  if (out) out->record.node = std::move(node);
  return out;
}

result<issued_token> issue_task_credential(task_binding task, std::string owner, int64_t now_ms) {
  if (task.job.empty() || task.stage.empty()) {
    return fail(errc::invalid_argument, "a task credential needs a job and a stage");
  }
  auto out = issue(token_role::task, std::move(owner), now_ms, 0);
  if (out) out->record.task = std::move(task);
  return out;
}

result<token_record> record_for_token(std::string_view token_text, token_role role,
                                      std::string user, int64_t now_ms) {
  auto parsed = parse_token(token_text);
  if (!parsed) return fail(parsed.error());
  token_record r;
  r.id = parsed->id;
  r.user = std::move(user);
  r.role = role;
  r.created_ms = now_ms;
  r.hash = hash_token(parsed->text);
  if (auto ok = validate(r); !ok) return fail(ok.error());
  return r;
}

result<void> validate(const token_record& r) {
  auto bad = [&](const std::string& m) {
    return fail(errc::invalid_argument, "token_record: " + m);
  };
  if (!parse_token_id(r.id)) return bad("id: not a token id");
  if (!is_token_hash(r.hash)) return bad("hash: expected sha256:<64 hex digits>");
  if (r.user.empty()) return bad("user: missing");
  if ((r.role == token_role::node) != !r.node.empty()) {
    return bad("node: a node name belongs exactly to role node");
  }
  if ((r.role == token_role::task) != r.task.has_value()) {
    return bad("task: a task binding belongs exactly to role task");
  }
  if (r.task && (r.task->job.empty() || r.task->stage.empty())) {
    return bad("task: needs a job and a stage");
  }
  if (r.expires_ms != 0 && r.expires_ms < r.created_ms) return bad("expires_ms: before created_ms");
  return {};
}

token_verdict verify(const parsed_token& presented, const token_record* record, int64_t now_ms) {
  if (record == nullptr) return token_verdict::unknown;
  if (!token_matches(presented.text, record->hash)) return token_verdict::wrong_secret;
  if (record->expires_ms != 0 && now_ms >= record->expires_ms) return token_verdict::expired;
  return token_verdict::ok;
}

const char* describe(token_verdict verdict) {
  switch (verdict) {
    case token_verdict::ok:
      return "the token is valid";
    case token_verdict::unknown:
    case token_verdict::wrong_secret:
      return "the token is not valid here (revoked, or not issued by this coordinator)";
    case token_verdict::expired:
      return "the token expired";
  }
  return "?";
}

std::string encode(const token_record& r) {
  json j = {{"id", r.id},
            {"user", r.user},
            {"role", to_string(r.role)},
            {"created_ms", r.created_ms},
            {"expires_ms", r.expires_ms},
            {"queues", r.queues},
            {"hash", r.hash}};
  if (!r.node.empty()) j["node"] = r.node;
  if (r.task) {
    j["task"] = {{"job", r.task->job},
                 {"stage", r.task->stage},
                 {"rank", r.task->rank},
                 {"attempt", r.task->attempt}};
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<token_record> decode_token_record(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(errc::invalid_argument, "token_record: not a JSON object");
  }
  token_record r;
  std::string role = "user";
  constexpr std::string_view at = "token_record.";
  for (auto ok :
       {read_member(j, at, "id", r.id), read_member(j, at, "user", r.user),
        read_member(j, at, "role", role), read_member(j, at, "created_ms", r.created_ms),
        read_member(j, at, "expires_ms", r.expires_ms), read_member(j, at, "queues", r.queues),
        read_member(j, at, "hash", r.hash), read_member(j, at, "node", r.node)}) {
    if (!ok) return fail(ok.error());
  }
  auto parsed_role = parse_token_role(role);
  if (!parsed_role)
    return fail(errc::invalid_argument, "token_record.role: " + parsed_role.error().message);
  r.role = *parsed_role;
  if (auto it = j.find("task"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return fail(errc::invalid_argument, "token_record.task: not an object");
    task_binding t;
    constexpr std::string_view task_at = "token_record.task.";
    for (auto ok :
         {read_member(*it, task_at, "job", t.job), read_member(*it, task_at, "stage", t.stage),
          read_member(*it, task_at, "rank", t.rank),
          read_member(*it, task_at, "attempt", t.attempt)}) {
      if (!ok) return fail(ok.error());
    }
    r.task = std::move(t);
  }
  if (auto ok = validate(r); !ok) return fail(ok.error());
  return r;
}

}  // namespace gantry::security
