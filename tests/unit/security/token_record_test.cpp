#include <doctest/doctest.h>

#include "security/token_record.hpp"

using namespace gantry;
using namespace gantry::security;

namespace {

constexpr int64_t t0 = 1'750'000'000'000;
constexpr int64_t kDayMs = 86'400'000;

issued_token must(result<issued_token> r) {
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  return std::move(*r);
}

parsed_token parsed(const std::string& text) {
  auto p = parse_token(text);
  REQUIRE(p.has_value());
  return *p;
}

}  // namespace

TEST_CASE("a user token's record keeps who, role, lifetime and queues, and only the hash") {
  auto t = must(issue_user_token("alice", token_role::user, t0, 30 * kDayMs, {"gpu", "batch"}));
  const auto& r = t.record;
  CHECK(r.user == "alice");
  CHECK(r.role == token_role::user);
  CHECK(r.created_ms == t0);
  CHECK(r.expires_ms == t0 + 30 * kDayMs);
  CHECK(r.queues == std::vector<std::string>{"gpu", "batch"});
  CHECK(r.id == parsed(t.token).id);
  CHECK(r.hash == hash_token(t.token));
  CHECK(encode(r).find(t.token.substr(17)) == std::string::npos);
  CHECK(validate(r).has_value());

  auto admin = must(issue_user_token("root", token_role::admin, t0));
  CHECK(admin.record.role == token_role::admin);
  CHECK(admin.record.expires_ms == 0);
}

TEST_CASE("user tokens are only user or admin, names and lifetimes are checked") {
  for (auto role : {token_role::join, token_role::node, token_role::task}) {
    auto r = issue_user_token("alice", role, t0);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find(to_string(role)) != std::string::npos);
  }
  CHECK_FALSE(issue_user_token("", token_role::user, t0).has_value());
  CHECK_FALSE(issue_user_token("alice", token_role::user, t0, -1).has_value());
  CHECK_FALSE(issue_node_credential("", t0).has_value());
  CHECK_FALSE(issue_task_credential({"", "train", 0, 0}, "alice", t0).has_value());
}

TEST_CASE("node and task credentials are bound to their node and their task") {
  auto node = must(issue_node_credential("gpu-07", t0));
  CHECK(node.record.role == token_role::node);
  CHECK(node.record.node == "gpu-07");
  CHECK(node.record.user == "node:gpu-07");
  CHECK_FALSE(node.record.task.has_value());

  task_binding task{"j-000042", "train", 3, 1};
  auto cred = must(issue_task_credential(task, "alice", t0));
  CHECK(cred.record.role == token_role::task);
  REQUIRE(cred.record.task.has_value());
  CHECK(*cred.record.task == task);
  CHECK(cred.record.user == "alice");
  CHECK(cred.record.node.empty());

  auto join = must(issue_join_token(t0, kDayMs));
  CHECK(join.record.role == token_role::join);
  CHECK(join.record.expires_ms == t0 + kDayMs);
}

TEST_CASE("verify: the right token until it expires, another secret or no record never") {
  auto t = must(issue_user_token("alice", token_role::user, t0, kDayMs));
  auto p = parsed(t.token);
  CHECK(verify(p, &t.record, t0) == token_verdict::ok);
  CHECK(verify(p, &t.record, t0 + kDayMs - 1) == token_verdict::ok);
  CHECK(verify(p, &t.record, t0 + kDayMs) == token_verdict::expired);
  CHECK(verify(p, nullptr, t0) == token_verdict::unknown);

  // Same id, another secret: a forged token for a known id.
  std::string forged = t.token;
  forged[30] = forged[30] == 'a' ? 'b' : 'a';
  CHECK(verify(parsed(forged), &t.record, t0) == token_verdict::wrong_secret);

  CHECK(std::string(describe(token_verdict::unknown)) == describe(token_verdict::wrong_secret));
  CHECK(std::string(describe(token_verdict::expired)).find("expired") != std::string::npos);
}

TEST_CASE("every kind of record survives encode and decode unchanged") {
  std::vector<token_record> records = {
      must(issue_user_token("alice", token_role::user, t0, kDayMs, {"gpu"})).record,
      must(issue_user_token("root", token_role::admin, t0)).record,
      must(issue_join_token(t0)).record,
      must(issue_node_credential("gpu-07", t0)).record,
      must(issue_task_credential({"j-000042", "train", 3, 1}, "alice", t0)).record,
  };
  for (const auto& r : records) {
    CAPTURE(encode(r));
    auto back = decode_token_record(encode(r));
    REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error().message));
    CHECK(*back == r);
  }
}

TEST_CASE("decoding skips unknown keys and names the field that is wrong") {
  auto r = must(issue_node_credential("gpu-07", t0)).record;
  std::string text = encode(r);
  std::string newer = "{\"added_later\":{\"x\":1}," + text.substr(1);
  auto back = decode_token_record(newer);
  REQUIRE(back.has_value());
  CHECK(*back == r);

  struct bad {
    std::string text;
    std::string reason;
  };
  std::string h = r.hash;
  std::vector<bad> cases = {
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {"{\"id\":7}", "token_record.id: wrong type (number)"},
      {"{\"role\":\"root\"}", "token_record.role: unknown role 'root'"},
      {"{\"queues\":[1]}", "token_record.queues: wrong type"},
      {"{\"id\":\"" + r.id + "\",\"hash\":\"" + h + "\",\"user\":\"u\",\"role\":\"node\"}",
       "node: a node name belongs exactly to role node"},
      {"{\"id\":\"" + r.id + "\",\"hash\":\"sha256:00\",\"user\":\"u\"}", "hash: expected"},
      {"{\"id\":\"" + r.id + "\",\"hash\":\"" + h +
           "\",\"user\":\"u\",\"role\":\"task\",\"task\":{\"job\":\"j\",\"stage\":\"s\","
           "\"rank\":\"3\"}}",
       "token_record.task.rank: wrong type (string)"},
      {"{\"id\":\"" + r.id + "\",\"hash\":\"" + h +
           "\",\"user\":\"u\",\"created_ms\":10,\"expires_ms\":5}",
       "expires_ms: before created_ms"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto d = decode_token_record(c.text);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code == errc::invalid_argument);
    CHECK(d.error().message.find(c.reason) != std::string::npos);
  }
}

TEST_CASE("a record for an existing token text (tokens/admin) matches that token") {
  auto t = generate_token();
  REQUIRE(t.has_value());
  auto r = record_for_token(t->text + "\n", token_role::admin, "admin", t0);
  REQUIRE(r.has_value());
  CHECK(r->id == t->id);
  CHECK(r->role == token_role::admin);
  CHECK(verify(parsed(t->text), &*r, t0 + 1000 * kDayMs) == token_verdict::ok);
  CHECK_FALSE(record_for_token("gty_nonsense", token_role::admin, "admin", t0).has_value());
}

TEST_CASE("roles by name") {
  for (auto role : {token_role::user, token_role::admin, token_role::join, token_role::node,
                    token_role::task}) {
    auto back = parse_token_role(to_string(role));
    REQUIRE(back.has_value());
    CHECK(*back == role);
  }
  CHECK_FALSE(parse_token_role("superuser").has_value());
}
