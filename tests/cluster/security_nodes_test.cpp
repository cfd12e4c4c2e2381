// Security on by default (issue 9), the node side: what a process that is not the worker it
// claims to be can do with the worker API (attacks 2, 3, 4), and a worker dialing a
// coordinator that another CA vouches for (attack 8).
#include <doctest/doctest.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "protocol/agent_service.hpp"
#include "protocol/convert.hpp"
#include "protocol/dial.hpp"
#include "protocol/gantry.capnp.h"
#include "security/credential_files.hpp"
#include "security/tls.hpp"
#include "tests/cluster/harness.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

// A NodeAgent that runs nothing.
struct idle_agent final : task_agent {
  void launch(task_spec, callback<int64_t> done) override { done(fail(errc::unavailable, "no")); }
  void kill(std::string, uint32_t, callback<void> done) override { done({}); }
  void read_log(std::string, uint64_t, uint32_t, callback<log_chunk> done) override {
    done(log_chunk{});
  }
};

// A process speaking the worker protocol by hand, on its own KJ loop.
class impostor {
 public:
  explicit impostor(cluster& c) : address_(c.address()) {
    auto tls = security::tls_client::from_ca_file(c.local().ca_file());
    REQUIRE(tls.has_value());
    tls_ = std::make_shared<security::tls_client>(std::move(*tls));
  }

  // Dials presenting `token` as `kind`: the refusal, or "" when accepted.
  std::string try_dial(credential_kind kind, const std::string& token) {
    auto d = dial_as(kind, token);
    return d ? "" : d.error().message;
  }

  // Joins as `name` with the join token: the node credential, or the refusal.
  result<std::string> join(const std::string& join_token, const std::string& name) {
    auto d = dial_as(credential_kind::join, join_token);
    if (!d) return fail(d.error());
    capnp::TwoPartyClient rpc(*d->stream);
    auto req = rpc.bootstrap().castAs<wire::Join>().joinRequest();
    req.setName(name);
    auto resp = req.send().wait(io_.waitScope);
    auto st = wire_convert::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    return std::string(resp.getCredential().cStr());
  }

  // Registers as `name` with a node credential, reporting `tasks`; the status.
  result<void> register_as(const std::string& credential, const std::string& name,
                           const std::vector<task_report>& tasks) {
    auto d = dial_as(credential_kind::node, credential);
    if (!d) return fail(d.error());
    stream_ = kj::mv(d->stream);
    rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
    auto req = rpc_->bootstrap().castAs<wire::WorkerGate>().registerWorkerRequest();
    req.setVersion(wire::PROTOCOL_VERSION);
    node_inventory inv;
    inv.name = name;
    inv.cpu_milli = 1000;
    inv.memory_bytes = 1 << 30;
    wire_convert::to_wire(req.initInventory(), inv);
    req.setAgent(kj::heap<agent_service>(agent_));
    auto list = req.initTasks(tasks.size());
    for (unsigned i = 0; i < tasks.size(); ++i) wire_convert::to_wire(list[i], tasks[i]);
    auto resp = req.send().wait(io_.waitScope);
    return wire_convert::from_wire(resp.getStatus());
  }

 private:
  result<dialed> dial_as(credential_kind kind, const std::string& token) {
    dial_credentials creds;
    creds.kind = kind;
    creds.token = token;
    creds.tls = tls_;
    return dial(*io_.provider, address_, creds, 10 * kj::SECONDS).wait(io_.waitScope);
  }

  std::string address_;
  kj::AsyncIoContext io_ = kj::setupAsyncIo();
  std::shared_ptr<security::tls_client> tls_;
  idle_agent agent_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
};

// A `gantry worker` whose log lines (stderr) are read as they come.
struct worker_process {
  worker_process(cluster& c, const temp_dir& dir, const std::string& name,
                 const std::vector<std::string>& credentials)
      : p(args(c, dir, name, credentials),
          harness::spawn_options{.log_path = dir.path() + "/" + name + ".log",
                                 .stderr_to_pipe = true}) {}
  static std::vector<std::string> args(cluster& c, const temp_dir& dir, const std::string& name,
                                       const std::vector<std::string>& credentials) {
    std::vector<std::string> a{bin("gantry"), "worker", "--coordinator", c.address(),
                               "--name",      name,     "--data-dir",    dir.path() + "/" + name};
    a.insert(a.end(), credentials.begin(), credentials.end());
    return a;
  }
  // The first line within timeout_ms that contains `text`, or "".
  std::string until(const std::string& text, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      std::string line = p.read_line(static_cast<int>(deadline - now_ms()));
      if (line.empty() && !p.running()) return "";
      if (line.find(text) != std::string::npos) return line;
    }
    return "";
  }
  harness::process p;
};

std::string token_in(const std::string& file) {
  auto t = security::read_token_file(file);
  REQUIRE(t.has_value());
  return t->text;
}

}  // namespace

TEST_CASE("attack 2: a fake worker without a node credential is refused") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());
  impostor fake(c);
  // A made-up credential; the admin token presented as a node's; nothing.
  CHECK(fake.try_dial(credential_kind::node, "gty_aaaaaaaaaaaa_" + std::string(52, 'a'))
            .find("not valid here") != std::string::npos);
  CHECK(fake.try_dial(credential_kind::node, token_in(c.local().admin_token_file()))
            .find("needs a node credential") != std::string::npos);
  CHECK(fake.try_dial(credential_kind::none, "").find("no token") != std::string::npos);
  // A node credential registers only its own name.
  auto credential = fake.join(token_in(c.local().join_token_file()), "evil");
  REQUIRE(credential.has_value());
  auto posing = fake.register_as(*credential, "w2", {});
  REQUIRE_FALSE(posing.has_value());
  CHECK(posing.error().code == errc::permission_denied);
  // No node joined the cluster but w1, and a job runs there, not on a fake.
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  REQUIRE(nodes.json().size() == 1);
  CHECK(nodes.json()[0]["name"] == "w1");
}

TEST_CASE("attack 3: a name that joined cannot be taken over, nodes remove frees it") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());
  std::string job = c.submit("s.yaml", kSleeper);
  event_stream events(c, job);
  REQUIRE(events.until_running(1, 20000));
  auto before = c.cli({"describe", job, "--json"}).json()["stages"][0]["ranks"][0];

  impostor fake(c);
  auto taken = fake.join(token_in(c.local().join_token_file()), "w1");
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error().code == errc::already_exists);
  CHECK(taken.error().message.find("already has a credential") != std::string::npos);
  // A second worker process of that name, with the join token, is refused the same way.
  temp_dir other{"gantry-test"};
  worker_process second(
      c, other, "w1",
      {"--join-token-file", c.local().join_token_file(), "--ca", c.local().ca_file()});
  CHECK_FALSE(second.until("already has a credential", 20000).empty());
  second.p.stop(0);

  // The real w1 kept its session and its task.
  auto after = c.cli({"describe", job, "--json"}).json();
  CHECK(after["state"] == "running");
  CHECK(after["stages"][0]["ranks"][0]["pid"] == before["pid"]);
  CHECK(c.wait_node("w1", "ready", 1000));

  // A user may not remove nodes; an admin may, and the name is free again.
  auto removed = c.cli({"nodes", "remove", "w1"});
  CHECK_MESSAGE(removed.exit_code == 0, removed.err);
  CHECK(c.wait_node("w1", "lost"));
  auto again = fake.join(token_in(c.local().join_token_file()), "w1");
  CHECK(again.has_value());
}

TEST_CASE("attack 4: an exit reported by another node leaves the task running") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());
  std::string job = c.submit("s.yaml", kSleeper);
  event_stream events(c, job);
  REQUIRE(events.until_running(1, 20000));
  auto rank = c.cli({"describe", job, "--json"}).json()["stages"][0]["ranks"][0];
  std::string task_id = rank["task_id"];

  impostor fake(c);
  auto credential = fake.join(token_in(c.local().join_token_file()), "evil");
  REQUIRE(credential.has_value());
  // evil registers, claiming that w1's task exited 0.
  REQUIRE(
      fake.register_as(*credential, "evil", {{task_id, rank["pid"].get<int64_t>(), false, 0, ""}}));
  int64_t deadline = now_ms() + 20000;
  while (now_ms() < deadline &&
         c.log_of("coordinator").find("reported by node evil") == std::string::npos) {
    CHECK(c.cli({"describe", job, "--json"}).json()["stages"][0]["ranks"][0]["state"] == "running");
  }
  CHECK(c.log_of("coordinator")
            .find("dropped an exit of task " + task_id + " reported by node evil") !=
        std::string::npos);
  auto after = c.cli({"describe", job, "--json"}).json();
  CHECK(after["state"] == "running");
  CHECK(after["stages"][0]["ranks"][0]["state"] == "running");
  CHECK(pid_alive(rank["pid"].get<pid_t>()));
  CHECK(c.cli({"cancel", job}).exit_code == 0);
}

TEST_CASE("attack 8: a worker dials only a coordinator its CA signed") {
  cluster c;
  c.start_coordinator();
  cluster spoofed;  // another cluster's CA: a coordinator the worker must not trust
  spoofed.start_coordinator();
  temp_dir dir{"gantry-test"};
  worker_process w1(
      c, dir, "w1",
      {"--join-token-file", c.local().join_token_file(), "--ca", spoofed.local().ca_file()});
  std::string said = w1.until("certificate", 20000);
  CHECK_MESSAGE(!said.empty(), read_file(dir.path() + "/w1.log"));
  // It never got as far as the join: the join token stayed with this side of TLS.
  CHECK(c.log_of("coordinator").find("joined") == std::string::npos);
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  CHECK(nodes.json().empty());
}
