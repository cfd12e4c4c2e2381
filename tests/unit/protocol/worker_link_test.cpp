// The worker's link to the coordinator (worker_link) against coordinator_service and a fake
// backend listening on loopback in this process, both on one KJ loop: registration,
// heartbeats, exit reports until acknowledged, and reconnecting after a drop.
#include <doctest/doctest.h>

#include <algorithm>

#include "fakes.hpp"
#include "protocol/coordinator_service.hpp"
#include "protocol/worker_link.hpp"

using namespace gantry;
using namespace gantry::protocol_test;

namespace {

// The coordinator side: accepts connections and serves each until drop_connections().
struct coordinator_rig : loop {
  coordinator_rig() {
    auto addr = wait(io.provider->getNetwork().parseAddress("127.0.0.1:0"));
    listener = addr->listen();
    address = "127.0.0.1:" + std::to_string(listener->getPort());
    accepting = accept_next().eagerlyEvaluate(nullptr);
  }
  ~coordinator_rig() {
    backend.agent.reset();  // its KJ-side half is freed through the mailbox
    io.waitScope.poll();
  }
  void drop_connections() { connections.clear(); }

  fake_backend backend{changed};
  fake_agent agent{changed};  // the worker's supervisor
  kj::Own<kj::ConnectionReceiver> listener;
  std::string address;
  struct connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> rpc;
  };
  std::vector<connection> connections;
  kj::Promise<void> accepting = nullptr;

 private:
  kj::Promise<void> accept_next() {
    return listener->accept().then([this](kj::Own<kj::AsyncIoStream> stream) {
      auto rpc =
          kj::heap<capnp::TwoPartyClient>(*stream, kj::heap<coordinator_service>(backend, mailbox),
                                          capnp::rpc::twoparty::Side::SERVER);
      connections.push_back({kj::mv(stream), kj::mv(rpc)});
      return accept_next();
    });
  }
};

node_inventory inventory() {
  node_inventory inv;
  inv.name = "w1";
  inv.hostname = "w1.local";
  inv.cpu_milli = 4000;
  inv.fabrics = {"tcp"};
  return inv;
}

// A worker_link dialing the rig, running until destroyed.
struct worker {
  explicit worker(coordinator_rig& r)
      : link(r.io, r.mailbox, r.agent, {r.address, inventory(), 10, 40}),
        running(link.run().eagerlyEvaluate(nullptr)) {}
  worker_link link;
  kj::Promise<void> running;
};

bool contains(const std::vector<task_report>& v, const task_report& r) {
  return std::find(v.begin(), v.end(), r) != v.end();
}

}  // namespace

TEST_CASE("worker link: registers with its inventory and running tasks, then heartbeats") {
  coordinator_rig r;
  r.agent.running = {{"j-1.s.0.0", 4242, true, -1, ""}};
  worker w(r);
  REQUIRE(r.until([&] { return r.backend.registered.size() == 1; }));
  CHECK(r.backend.registered[0] == inventory());
  CHECK(r.backend.registered_tasks[0] == r.agent.running);
  CHECK(r.until([&] { return r.backend.session->heartbeats >= 3; }));  // every 20 ms
  CHECK(r.backend.registered.size() == 1);
}

TEST_CASE("worker link: heartbeats keep their schedule while the replies are slow") {
  coordinator_rig r;
  auto& session = *r.backend.session;
  session.hold_heartbeats = true;  // a coordinator (or network) that answers nothing yet
  worker w(r);
  REQUIRE(r.until([&] { return session.heartbeats >= 5; }));
  CHECK(session.held_beats.size() == static_cast<size_t>(session.heartbeats));
  for (size_t i = 0; i < session.beats.size(); ++i) CHECK(session.beats[i].seq == i + 1);
  REQUIRE(r.until([&] { return session.heartbeats >= int{worker_link::kMaxBeatsInFlight}; }));
  session.release_heartbeats();
  int seen = session.heartbeats;
  CHECK(r.until([&] { return session.heartbeats >= seen + 3; }));  // and they go on
  CHECK(r.backend.registered.size() == 1);
}

TEST_CASE("worker link: an acknowledged exit is not sent again, and checkpoints are delivered") {
  coordinator_rig r;
  worker w(r);
  auto& session = *r.backend.session;
  REQUIRE(r.until([&] { return r.backend.registered.size() == 1; }));
  task_report exit{"j-1.s.0.0", 4242, false, 0, ""};
  w.link.reports()->task_exited(exit);
  w.link.reports()->checkpoint_committed("j-1.s.0.0", 40);
  REQUIRE(r.until([&] { return session.exits.size() == 1 && session.checkpoints.size() == 1; }));
  CHECK(session.exits[0] == exit);
  CHECK(session.checkpoints[0] == std::pair<std::string, int64_t>{"j-1.s.0.0", 40});
  // Heartbeats go on while the exit's acknowledgement travels back.
  int seen = session.heartbeats;
  REQUIRE(r.until([&] { return session.heartbeats >= seen + 2; }));
  REQUIRE(r.until([&] { return w.link.unacknowledged() == 0; }));

  r.drop_connections();
  REQUIRE(r.until([&] { return r.backend.registered.size() == 2; }));
  CHECK(session.gone);
  CHECK_FALSE(contains(r.backend.registered_tasks[1], exit));
  CHECK(session.exits.size() == 1);
}

TEST_CASE("worker link: an exit that found no session comes with the next registration") {
  coordinator_rig r;
  worker w(r);
  REQUIRE(r.until([&] { return r.backend.registered.size() == 1; }));
  r.drop_connections();
  task_report exit{"j-1.s.0.0", 4242, false, 137, "killed by signal 9"};
  w.link.reports()->task_exited(exit);
  REQUIRE(r.until([&] { return r.backend.registered.size() == 2; }));
  CHECK(contains(r.backend.registered_tasks[1], exit));
}

TEST_CASE("worker link: a refused heartbeat (session replaced) makes it register again") {
  coordinator_rig r;
  worker w(r);
  REQUIRE(r.until([&] { return r.backend.registered.size() == 1; }));
  r.backend.session->heartbeat_answer = fail(errc::failed_precondition, "session replaced");
  CHECK(r.until([&] { return r.backend.registered.size() == 2; }));
}

TEST_CASE("worker link: the coordinator's launch reaches the worker's agent") {
  coordinator_rig r;
  worker w(r);
  REQUIRE(r.until([&] { return r.backend.agent != nullptr; }));
  task_spec t;
  t.task_id = make_task_id("j-000009", "main", 0, 0);
  t.command = {"true"};
  auto pid =
      r.call<int64_t>([&](callback<int64_t> done) { r.backend.agent->launch(t, std::move(done)); });
  CHECK(pid == int64_t{4242});
  CHECK(r.agent.launched == std::vector<task_spec>{t});
}
