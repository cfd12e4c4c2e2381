// The node actor's liveness under the test coordinator's manual clock.
#include <doctest/doctest.h>

#include <csignal>

#include "actors/node_actor.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace gantry;
using namespace gantry::test;
using namespace std::chrono_literals;

namespace {

struct node_fixture : actor_fixture {
  std::shared_ptr<liveness_cell> cell = std::make_shared<liveness_cell>();
  // What the RPC thread does on a heartbeat.
  void beat() { cell->last_ns = liveness_cell::stamp(sys->clock().now()); }
  msg::attach attach(uint64_t session, std::vector<task_report> tasks = {}) {
    beat();
    return msg::attach{session, 1000, cell, agent, inv, std::move(tasks)};
  }
  node_actor n1;
  std::shared_ptr<fake_agent> agent = std::make_shared<fake_agent>();
  coordinator_config config;
  node_inventory inv;

  node_fixture() {
    config.heartbeat_timeout_ms = 1000;
    config.reconnect_grace_ms = 5000;
    inv.name = "n1";
    inv.cpu_milli = 4000;
    n1 = spawn_node_actor(*sys, cluster, inv, false, config);
    run();
  }
  ~node_fixture() {
    caf::anon_send_exit(n1, caf::exit_reason::user_shutdown);
    run();
  }
  std::vector<node_state> states() {
    std::vector<node_state> out;
    for (auto& c : received<msg::node_changed>(to_cluster)) out.push_back(c.state);
    return out;
  }
  // The `node` recorder stands in for the job actor too (what the job is told lands in
  // to_node).
  static job_actor as_job(const gantry::node_actor& recorder) {
    return caf::actor_cast<job_actor>(recorder);
  }
  void advance(caf::timespan t) {
    sched->advance_time(t);
    run();
  }
  // Lets `t` pass in liveness-check periods, the worker heartbeating all along.
  void advance_beating(caf::timespan t) {
    for (caf::timespan done{0}; done < t; done += 250ms) {
      advance(250ms);
      beat();
    }
  }
  // A task whose stage declares `drain` (by default: checkpoint.signal SIGUSR1, no own grace).
  void launch(const std::string& task_id, drain_plan drain = {SIGUSR1, 0}) {
    task_spec t;
    t.task_id = task_id;
    caf::anon_send(n1, msg::launch{t, as_job(node), drain});
    run();
  }
  std::vector<std::string> evicted() {
    std::vector<std::string> out;
    for (auto& e : received<msg::task_evict>(to_node)) out.push_back(e.task_id);
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(node_fixture, "a node that stops heartbeating is lost, and its tasks with it") {
  caf::anon_send(n1, attach(1));
  run();
  CHECK(states() == std::vector<node_state>{node_state::ready});
  task_spec t;
  t.task_id = "j-000001.a.0.0";
  caf::anon_send(n1, msg::launch{t, as_job(node), drain_plan{}});
  run();
  CHECK(agent->launched.size() == 1);

  // Heartbeats inside the timeout keep it ready.
  for (int i = 0; i < 5; ++i) {
    advance(400ms);
    beat();
  }
  CHECK(states() == std::vector<node_state>{node_state::ready});
  for (int i = 0; i < 6; ++i) advance(250ms);  // checks run on time, and hear nothing
  CHECK(states() == std::vector<node_state>{node_state::ready, node_state::lost});
  auto lost = received<msg::task_lost>(to_node);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].task_id == "j-000001.a.0.0");
}

TEST_CASE_FIXTURE(node_fixture,
                  "a dropped connection makes the node lost at once, a new session revives it") {
  caf::anon_send(n1, attach(7));
  run();
  caf::anon_send(n1, msg::detach{6, "an older session"});  // ignored
  run();
  CHECK(states() == std::vector<node_state>{node_state::ready});
  caf::anon_send(n1, msg::detach{7, "connection closed"});
  run();
  CHECK(states().back() == node_state::lost);
  caf::anon_send(n1, attach(8));
  run();
  CHECK(states().back() == node_state::ready);
}

TEST_CASE_FIXTURE(node_fixture,
                  "a worker that reconnects with an unknown running task has it routed") {
  task_report r{"j-000009.a.0.0", 4242, true, -1, ""};
  caf::anon_send(n1, attach(1, {r}));
  run();
  auto routed = received<msg::route_report>(to_cluster);
  REQUIRE(routed.size() == 1);
  CHECK(routed[0].report.task_id == "j-000009.a.0.0");
}

TEST_CASE_FIXTURE(
    node_fixture,
    "a known node that never reconnects after a restart is lost after the grace period") {
  for (int i = 0; i < 16; ++i) advance(250ms);  // 4 s
  CHECK(states().empty());
  for (int i = 0; i < 8; ++i) advance(250ms);  // 6 s
  CHECK(states() == std::vector<node_state>{node_state::lost});
}

TEST_CASE_FIXTURE(node_fixture,
                  "a liveness check that runs late (a busy coordinator) judges nobody") {
  caf::anon_send(n1, attach(1));
  run();
  advance(3000ms);  // the coordinator stalled: no heartbeat was processed for 3 s
  CHECK(states() == std::vector<node_state>{node_state::ready});
  // Back on time, and still silent: now the worker is lost.
  for (int i = 0; i < 6; ++i) advance(250ms);
  CHECK(states() == std::vector<node_state>{node_state::ready, node_state::lost});
}

TEST_CASE_FIXTURE(node_fixture,
                  "a drain signals its tasks, moves them after the grace, then stays cordoned") {
  caf::anon_send(n1, attach(1));
  run();
  launch("j-000001.a.0.0");
  caf::anon_send(n1, msg::drain{1000});
  run();
  CHECK(states().back() == node_state::draining);
  REQUIRE(agent->signalled.size() == 1);
  CHECK(agent->signalled[0] == std::pair<std::string, int32_t>{"j-000001.a.0.0", SIGUSR1});
  // Its job heard of the drain, so the exit the signal may cause is a move.
  auto told = received<msg::task_draining>(to_node);
  REQUIRE(told.size() == 1);
  CHECK(told[0].task_id == "j-000001.a.0.0");
  CHECK(told[0].draining);
  advance_beating(750ms);
  CHECK(evicted().empty());  // still within the grace period
  advance_beating(250ms);
  CHECK(evicted() == std::vector<std::string>{"j-000001.a.0.0"});
  CHECK(states().back() == node_state::draining);  // until the task is gone
  caf::anon_send(n1, msg::exited{1, task_report{"j-000001.a.0.0", 1001, false, 143, ""}});
  run();
  CHECK(states().back() == node_state::cordoned);
  CHECK(received<msg::node_changed>(to_cluster).back().reason == "drained");
}

TEST_CASE_FIXTURE(node_fixture,
                  "a drain signals only tasks that declare a signal, each after its own grace") {
  caf::anon_send(n1, attach(1));
  run();
  launch("j-000001.a.0.0", {SIGUSR2, 3000});  // checkpoint: {signal: USR2, grace: 3s}
  launch("j-000001.b.0.0", {});               // no checkpoint signal
  launch("j-000001.c.0.0", {SIGUSR1, 0});     // the drain's own grace
  caf::anon_send(n1, msg::drain{1000});
  run();
  using signal_sent = std::pair<std::string, int32_t>;
  CHECK(agent->signalled ==
        std::vector<signal_sent>{{"j-000001.a.0.0", SIGUSR2}, {"j-000001.c.0.0", SIGUSR1}});
  CHECK(received<msg::task_draining>(to_node).size() == 3);        // every job hears of it
  CHECK(evicted() == std::vector<std::string>{"j-000001.b.0.0"});  // moved at once
  advance_beating(1000ms);
  CHECK(evicted() == std::vector<std::string>{"j-000001.b.0.0", "j-000001.c.0.0"});
  advance_beating(1750ms);
  CHECK(evicted().size() == 2);  // a's grace is not over
  advance_beating(250ms);
  CHECK(evicted() ==
        std::vector<std::string>{"j-000001.b.0.0", "j-000001.c.0.0", "j-000001.a.0.0"});
  CHECK(agent->signalled.size() == 2);  // nobody was signalled twice
  for (const char* t : {"j-000001.a.0.0", "j-000001.b.0.0", "j-000001.c.0.0"}) {
    CHECK(states().back() == node_state::draining);
    caf::anon_send(n1, msg::exited{1, task_report{t, 1001, false, 143, ""}});
    run();
  }
  CHECK(states().back() == node_state::cordoned);
}

TEST_CASE_FIXTURE(node_fixture,
                  "an uncordon ends a drain: its deadline moves nothing, a new drain has its own") {
  caf::anon_send(n1, attach(1));
  run();
  launch("j-000001.a.0.0");
  caf::anon_send(n1, msg::drain{1000});
  run();
  advance_beating(500ms);
  caf::anon_send(n1, msg::set_cordon{false});
  run();
  CHECK(states().back() == node_state::ready);
  auto told = received<msg::task_draining>(to_node);
  REQUIRE(told.size() == 2);
  CHECK_FALSE(told[1].draining);  // its exits count again
  caf::anon_send(n1, msg::drain{1000});
  run();
  CHECK(states().back() == node_state::draining);
  advance_beating(750ms);  // past the first drain's deadline
  CHECK(evicted().empty());
  advance_beating(250ms);  // the second drain's deadline
  CHECK(evicted() == std::vector<std::string>{"j-000001.a.0.0"});
}

TEST_CASE_FIXTURE(node_fixture,
                  "a worker whose heartbeats arrive late may stay silent longer, up to the cap") {
  // What the cluster actor gives a session: a 150 ms interval, stretching up to 6 s.
  cell->interval_ns = 150'000'000;
  auto m = attach(1);
  m.heartbeat_timeout_max_ms = 6000;
  caf::anon_send(n1, m);
  run();
  // A starved worker: its heartbeats come 900 ms apart (750 ms late each).
  for (int i = 0; i < 4; ++i) {
    advance(250ms);
    advance(250ms);
    advance(250ms);
    advance(150ms);
    cell->beat(liveness_cell::stamp(sys->clock().now()), 0);
  }
  // 2.5 s of silence: past the plain 1 s timeout, within 150 ms + 4 x 750 ms.
  for (int i = 0; i < 10; ++i) advance(250ms);
  CHECK(states() == std::vector<node_state>{node_state::ready});
  // Silent past that: lost.
  for (int i = 0; i < 3; ++i) advance(250ms);
  CHECK(states() == std::vector<node_state>{node_state::ready, node_state::lost});
  CHECK(received<msg::node_changed>(to_cluster).back().reason.find("limit 3150 ms") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(node_fixture, "an exit report counts as life as much as a heartbeat") {
  caf::anon_send(n1, attach(1));
  run();
  for (int i = 0; i < 12; ++i) {  // 3 s without a heartbeat, but reports keep coming
    advance(250ms);
    cell->heard(liveness_cell::stamp(sys->clock().now()));
  }
  CHECK(states() == std::vector<node_state>{node_state::ready});
}

TEST_CASE_FIXTURE(
    node_fixture,
    "a lost node tells the cluster before any job, so a re-placement never finds it") {
  // One recorder stands in for both the cluster and the job: its inbox shows the order in
  // which the node actor sent them. A job that hears of its lost task asks the cluster to
  // place it again; that request must arrive after the cluster learnt of the loss.
  auto both = std::make_shared<std::vector<caf::message>>();
  auto shared_inbox = caf::actor_cast<cluster_actor>(
      sys->spawn([both](caf::event_based_actor* self) -> caf::behavior {
        self->set_default_handler(
            [both](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
              both->push_back(m.move_content_to_message());
              return caf::message{};
            });
        return {[](int) {}};
      }));
  auto n2 = spawn_node_actor(*sys, shared_inbox, inv, false, config);
  run();
  caf::anon_send(n2, attach(1));
  run();
  task_spec t;
  t.task_id = "j-000001.a.0.0";
  caf::anon_send(n2, msg::launch{t, caf::actor_cast<job_actor>(shared_inbox), drain_plan{}});
  run();
  both->clear();
  caf::anon_send(n2, msg::detach{1, "connection to the worker closed"});
  run();
  REQUIRE(both->size() == 2);
  REQUIRE((*both)[0].match_elements<msg::node_changed>());
  CHECK((*both)[0].get_as<msg::node_changed>(0).state == node_state::lost);
  CHECK((*both)[1].match_elements<msg::task_lost>());
  caf::anon_send_exit(n2, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(shared_inbox, caf::exit_reason::user_shutdown);
  run();
}
