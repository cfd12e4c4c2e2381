// The job actor's state machine under CAF's deterministic test coordinator.
#include <doctest/doctest.h>

#include <csignal>

#include "actors/job_actor.hpp"
#include "core/task_environment.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

stage_spec stage(const std::string& name, int replicas, std::vector<std::string> after = {}) {
  stage_spec s;
  s.name = name;
  s.replicas = replicas;
  s.resources.cpu_milli = 500;
  s.resources.memory_bytes = 64 << 20;
  s.command = {"true"};
  s.after = std::move(after);
  return s;
}

// The environment a worker with coordinator "coord:7070" builds for a launched task.
environment env_of(const task_spec& t) {
  worker_facts facts;
  facts.coordinator = "coord:7070";
  auto env = task_environment(t, facts, {});
  REQUIRE(env.has_value());
  return *env;
}

sched::task_assignment on(const std::string& node) {
  sched::task_assignment a;
  a.node = node;
  a.cpu_milli = 500;
  a.memory_bytes = 64 << 20;
  return a;
}

struct job_fixture : actor_fixture {
  job_actor job;
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();

  void start(job_spec spec) {
    job_record rec = make_job_record("j-000001", std::move(spec), 1, 0);
    job = spawn_job_actor(*sys, cluster, store, rec, {}, coordinator_config{});
    caf::anon_send(job, msg::subscribe{1, sink});
    caf::anon_send(job, msg::start_job{});
    run();
  }
  ~job_fixture() {
    caf::anon_send_exit(job, caf::exit_reason::user_shutdown);
    run();
  }
  // Places the given ranks of `stage` on node n1, one message per call.
  void place(const std::string& stage, std::vector<int32_t> ranks) {
    msg::placed p;
    p.stage = stage;
    p.ranks = ranks;
    for (size_t i = 0; i < ranks.size(); ++i) {
      p.tasks.push_back(on("n1"));
      p.nodes.push_back(node);
      p.hostnames.push_back("host-n1");
    }
    caf::anon_send(job, std::move(p));
    run();
  }
  std::vector<msg::launch> launches() { return received<msg::launch>(to_node); }
  std::string task(const std::string& stage, int rank) {
    for (auto& l : launches())
      if (l.task.stage == stage && l.task.rank == rank) return l.task.task_id;
    FAIL("no launch for " << stage << "/" << rank);
    return "";
  }
  void started(const std::string& task_id, int64_t pid) {
    caf::anon_send(job, msg::task_launched{task_id, pid});
    run();
  }
  void exited(const std::string& task_id, int32_t code, int64_t pid = 0) {
    caf::anon_send(
        job,
        msg::task_exit{task_id, code, code ? "exited with code " + std::to_string(code) : "", pid});
    run();
  }
  // States of the job events published so far.
  std::vector<std::string> job_states() {
    std::vector<std::string> out;
    for (auto& e : sink->received)
      if (e.kind == event_kind::job) out.push_back(e.state);
    return out;
  }
  std::vector<std::string> places_for() {
    std::vector<std::string> out;
    for (auto& p : received<msg::place>(to_cluster)) out.push_back(p.request.id);
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(job_fixture, "a two-stage job runs its stages in DAG order and succeeds") {
  job_spec spec;
  spec.name = "dag";
  spec.stages = {stage("a", 2), stage("b", 1, {"a"})};
  start(spec);
  // Only stage a asks for placement: one request per rank of a plain stage.
  CHECK(places_for() == std::vector<std::string>{"j-000001/a/0", "j-000001/a/1"});
  CHECK(job_states() == std::vector<std::string>{"pending"});

  place("a", {0});
  place("a", {1});
  REQUIRE(launches().size() == 2);
  auto env = env_of(launches()[0].task);
  auto has = [&](const std::string& k, const std::string& v) {
    for (auto& [key, val] : env)
      if (key == k) return val == v;
    return false;
  };
  CHECK(has("GANTRY_JOB_ID", "j-000001"));
  CHECK(has("GANTRY_STAGE", "a"));
  CHECK(has("GANTRY_WORLD_SIZE", "2"));
  CHECK(has("GANTRY_ATTEMPT", "0"));

  started(task("a", 0), 11);
  started(task("a", 1), 12);
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
  exited(task("a", 0), 0);
  CHECK(places_for().size() == 2);  // b waits for all of a
  exited(task("a", 1), 0);
  REQUIRE(places_for().size() == 3);
  CHECK(places_for()[2] == "j-000001/b/0");

  place("b", {0});
  started(task("b", 0), 13);
  exited(task("b", 0), 0);
  CHECK(job_states() == std::vector<std::string>{"pending", "running", "succeeded"});
  // Every event was published once, in seq order, without gaps.
  for (size_t i = 0; i < sink->received.size(); ++i) CHECK(sink->received[i].seq == i + 1);
  // The finished job tells the cluster and releases everything it held.
  auto changes = received<msg::job_changed>(to_cluster);
  REQUIRE_FALSE(changes.empty());
  CHECK(changes.back().finished);
  CHECK(changes.back().summary.state == job_state::succeeded);
  CHECK(received<msg::release>(to_cluster).size() == 3);
}

TEST_CASE_FIXTURE(job_fixture,
                  "a failed rank stops the others and the job fails once they exited") {
  job_spec spec;
  spec.name = "fails";
  spec.stages = {stage("a", 2), stage("b", 1, {"a"})};
  start(spec);
  place("a", {0});
  place("a", {1});
  started(task("a", 0), 11);
  started(task("a", 1), 12);
  exited(task("a", 0), 3);
  // The other rank is being stopped; the job is not failed while it still runs.
  auto kills = received<msg::kill_task>(to_node);
  REQUIRE(kills.size() == 1);
  CHECK(kills[0].task_id == task("a", 1));
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
  exited(task("a", 1), 128 + 15);
  REQUIRE(job_states().size() == 3);
  CHECK(job_states()[2] == "failed");
  CHECK(sink->received.back().message.find("stage a rank 0 failed: exited with code 3") !=
        std::string::npos);
  CHECK(places_for().size() == 2);  // b never started
}

TEST_CASE_FIXTURE(job_fixture,
                  "cancel withdraws pending ranks, kills running ones, ends cancelled") {
  job_spec spec;
  spec.name = "cancel";
  spec.stages = {stage("a", 3)};
  start(spec);
  place("a", {0});
  place("a", {1});
  started(task("a", 0), 11);
  started(task("a", 1), 12);
  caf::anon_send(job, msg::cancel_job{});
  run();
  auto withdrawn = received<msg::withdraw>(to_cluster);
  REQUIRE(withdrawn.size() == 1);
  CHECK(withdrawn[0].request_id == "j-000001/a/2");
  CHECK(received<msg::kill_task>(to_node).size() == 2);
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
  // A placement that arrives after the cancel is refused, so the cluster takes it back.
  msg::placed late{"a", {2}, {on("n1")}, {node}, {"host-n1"}};
  CHECK(ask<bool>(job, std::move(late)) == false);
  exited(task("a", 0), 143);
  exited(task("a", 1), 143);
  CHECK(job_states() == std::vector<std::string>{"pending", "running", "cancelled"});
}

TEST_CASE_FIXTURE(job_fixture, "events reach watchers only after the store synced them") {
  *hold_persists = true;
  job_spec spec;
  spec.name = "durable";
  spec.stages = {stage("a", 1)};
  start(spec);
  CHECK(sink->received.empty());  // "pending" is written but not yet acknowledged
  CHECK(*persisted_events > 0);
  caf::anon_send(store, release_persists{});
  run();
  REQUIRE(sink->received.size() == 1);
  CHECK(sink->received[0].state == "pending");
}

TEST_CASE_FIXTURE(job_fixture, "stale reports from an older task are ignored") {
  job_spec spec;
  spec.name = "stale";
  spec.stages = {stage("a", 1)};
  start(spec);
  place("a", {0});
  started(task("a", 0), 11);
  exited("j-000001.a.0.7", 1);  // not the current attempt's task
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
  exited(task("a", 0), 0);
  CHECK(job_states().back() == "succeeded");
}

TEST_CASE_FIXTURE(job_fixture, "a failed plain rank is relaunched alone with the next attempt") {
  job_spec spec;
  spec.name = "retry";
  spec.max_restarts = 2;
  spec.stages = {stage("a", 2)};
  start(spec);
  place("a", {0});
  place("a", {1});
  started(task("a", 0), 11);
  started(task("a", 1), 12);
  exited(task("a", 1), 1);
  // Rank 1 asks for a new placement; rank 0 is left alone.
  CHECK(received<msg::kill_task>(to_node).empty());
  REQUIRE(places_for().size() == 3);
  CHECK(places_for()[2] == "j-000001/a/1");
  place("a", {1});
  auto relaunch = launches().back().task;
  CHECK(relaunch.rank == 1);
  CHECK(relaunch.attempt == 1);
  CHECK(relaunch.task_id == "j-000001.a.1.1");
  started(relaunch.task_id, 13);
  exited(task("a", 0), 0);
  exited(relaunch.task_id, 0);
  CHECK(job_states().back() == "succeeded");
  CHECK(received<msg::job_changed>(to_cluster).back().summary.restarts == 1);
}

TEST_CASE_FIXTURE(job_fixture, "a failed gang is stopped everywhere and placed again as a whole") {
  job_spec spec;
  spec.name = "gang";
  spec.max_restarts = 1;
  spec.stages = {stage("train", 3)};
  spec.stages[0].collective = collective_kind::nccl;
  spec.stages[0].checkpoint = checkpoint_spec{"/ckpt"};
  start(spec);
  CHECK(places_for() == std::vector<std::string>{"j-000001/train"});
  place("train", {0, 1, 2});
  // Nothing launches before rank 0's node reserved the gang's MASTER_PORT.
  CHECK(launches().empty());
  auto ports = received<msg::reserve_port>(to_node);
  REQUIRE(ports.size() == 1);
  caf::anon_send(job, msg::port_reserved{"train", 0, uint16_t{29999}});
  run();
  REQUIRE(launches().size() == 3);
  for (auto& l : launches()) {
    auto env = env_of(l.task);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"MASTER_PORT", "29999"}) == 1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"MASTER_ADDR", "host-n1"}) == 1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"WORLD_SIZE", "3"}) == 1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"LOCAL_WORLD_SIZE", "3"}) == 1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"RANK", std::to_string(l.task.rank)}) ==
          1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"GANTRY_RENDEZVOUS",
                                                         "coord:7070/j-000001/train/0"}) == 1);
    CHECK(std::count(env.begin(), env.end(),
                     std::pair<std::string, std::string>{"TORCHELASTIC_MAX_RESTARTS", "1"}) == 1);
  }
  for (int r = 0; r < 3; ++r) started(task("train", r), 20 + r);
  // Every rank commits step 5; only two commit step 10.
  for (int r = 0; r < 3; ++r) caf::anon_send(job, msg::checkpoint{task("train", r), 5});
  for (int r = 0; r < 2; ++r) caf::anon_send(job, msg::checkpoint{task("train", r), 10});
  run();
  caf::anon_send(job, msg::task_lost{task("train", 2), "node n1 lost"});
  run();
  // The two survivors are stopped before anything is placed again.
  CHECK(received<msg::kill_task>(to_node).size() == 2);
  CHECK(places_for().size() == 1);
  exited(task("train", 0), 143);
  CHECK(places_for().size() == 1);
  exited(task("train", 1), 143);
  REQUIRE(places_for().size() == 2);
  CHECK(places_for()[1] == "j-000001/train");
  size_t before = launches().size();
  place("train", {0, 1, 2});
  caf::anon_send(job,
                 msg::port_reserved{"train", 0, uint16_t{30001}});  // the old attempt's: ignored
  caf::anon_send(job, msg::port_reserved{"train", 1, uint16_t{30002}});
  run();
  REQUIRE(launches().size() == before + 3);
  for (size_t i = before; i < launches().size(); ++i) {
    const auto t = launches()[i].task;
    CHECK(t.attempt == 1);
    const auto env = env_of(t);
    auto restore = std::find(env.begin(), env.end(),
                             std::pair<std::string, std::string>{"GANTRY_RESTORE_STEP", "5"});
    CHECK(restore != env.end());
    auto attempt = std::find(env.begin(), env.end(),
                             std::pair<std::string, std::string>{"GANTRY_ATTEMPT", "1"});
    CHECK(attempt != env.end());
  }
  // The old attempt's late exit changes nothing.
  exited("j-000001.train.2.0", 1);
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
  // A second failure exhausts max_restarts.
  for (size_t i = before; i < before + 3; ++i) started(launches()[i].task.task_id, 30 + i);
  exited(launches()[before].task.task_id, 2);
  exited(launches()[before + 1].task.task_id, 143);
  exited(launches()[before + 2].task.task_id, 143);
  CHECK(job_states().back() == "failed");
  CHECK(sink->received.back().message.find("max_restarts (1) exhausted") != std::string::npos);
}

TEST_CASE_FIXTURE(job_fixture,
                  "an exit code in no_retry_exit_codes fails the job without a restart") {
  job_spec spec;
  spec.name = "noretry";
  spec.max_restarts = 5;
  spec.stages = {stage("a", 1)};
  spec.stages[0].no_retry_exit_codes = {42};
  start(spec);
  place("a", {0});
  started(task("a", 0), 11);
  exited(task("a", 0), 42);
  CHECK(job_states().back() == "failed");
  CHECK(places_for().size() == 1);
  CHECK(sink->received.back().message.find("no_retry_exit_codes") != std::string::npos);
}

TEST_CASE_FIXTURE(job_fixture,
                  "an exit that overtakes its launch reply still shows the rank running") {
  job_spec spec;
  spec.name = "fast";
  spec.stages = {stage("a", 1)};
  start(spec);
  place("a", {0});
  exited(task("a", 0), 0, 4242);  // the worker's exit report arrived first
  started(task("a", 0), 4242);    // then the launch reply: changes nothing
  CHECK(job_states() == std::vector<std::string>{"pending", "running", "succeeded"});
  std::vector<std::string> rank_states;
  for (auto& e : sink->received)
    if (e.kind == event_kind::rank) rank_states.push_back(e.state);
  CHECK(rank_states == std::vector<std::string>{"starting", "running", "succeeded"});
  CHECK(sink->received[2].pid == 4242);
}

TEST_CASE_FIXTURE(job_fixture, "only the first unschedulable reason of a stage is an event") {
  job_spec spec;
  spec.name = "waits";
  spec.stages = {stage("a", 1)};
  start(spec);
  size_t before = sink->received.size();
  caf::anon_send(job, msg::unschedulable{"a", "0/2 nodes: 2 insufficient cpu"});
  caf::anon_send(
      job, msg::unschedulable{"a", "0/2 nodes: 1 insufficient cpu, 1 reserved for j-000009/x/0"});
  run();
  CHECK(sink->received.size() == before + 1);
  auto d = ask<result<job_record>>(job, msg::describe_job{});
  REQUIRE(d.has_value());
  CHECK((*d)->stages[0].reason == "0/2 nodes: 1 insufficient cpu, 1 reserved for j-000009/x/0");
}

TEST_CASE_FIXTURE(job_fixture, "a second restart asks for placement only after the backoff") {
  job_spec spec;
  spec.name = "backoff";
  spec.max_restarts = 3;
  spec.stages = {stage("a", 1)};
  start(spec);  // restart_backoff_ms = 500 (the default)
  place("a", {0});
  started(task("a", 0), 11);
  exited(task("a", 0), 1);
  REQUIRE(places_for().size() == 2);  // the first restart is immediate
  place("a", {0});
  std::string second = launches().back().task.task_id;
  CHECK(second == "j-000001.a.0.1");
  started(second, 12);
  exited(second, 1);
  CHECK(places_for().size() == 2);
  sched->advance_time(std::chrono::milliseconds(499));
  run();
  CHECK(places_for().size() == 2);
  sched->advance_time(std::chrono::milliseconds(1));
  run();
  REQUIRE(places_for().size() == 3);
  CHECK(places_for()[2] == "j-000001/a/0");
  CHECK(received<msg::place>(to_cluster)[2].ranks == std::vector<int32_t>{0});
}

TEST_CASE_FIXTURE(job_fixture,
                  "a gang placed on a node that was lost meanwhile is placed again, no restart") {
  // The cluster placed the gang just before its node was declared lost: the launch finds
  // the node gone (errc::unavailable). Nothing of the rank ran, so this is no failure.
  job_spec spec;
  spec.name = "raced";
  spec.max_restarts = 1;
  spec.stages = {stage("train", 2)};
  spec.stages[0].collective = collective_kind::nccl;
  start(spec);
  place("train", {0, 1});
  caf::anon_send(job, msg::port_reserved{"train", 0, uint16_t{29999}});
  run();
  REQUIRE(launches().size() == 2);
  started(task("train", 0), 20);
  caf::anon_send(job, msg::task_launched{task("train", 1),
                                         fail(errc::unavailable, "node n1 is not connected")});
  run();
  // The survivor is stopped, then the gang is placed again as a whole.
  CHECK(received<msg::kill_task>(to_node).size() == 1);
  exited(task("train", 0), 143);
  REQUIRE(places_for().size() == 2);
  place("train", {0, 1});
  caf::anon_send(job, msg::port_reserved{"train", 1, uint16_t{30001}});
  run();
  REQUIRE(launches().size() == 4);
  CHECK(launches()[2].task.attempt == 1);
  auto d = ask<result<job_record>>(job, msg::describe_job{});
  REQUIRE(d.has_value());
  CHECK((*d)->restarts == 0);
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
}

TEST_CASE_FIXTURE(job_fixture, "any other launch failure still counts as a failed rank") {
  job_spec spec;
  spec.name = "badexec";
  spec.stages = {stage("a", 1)};
  start(spec);
  place("a", {0});
  caf::anon_send(job, msg::task_launched{task("a", 0), fail(errc::not_found, "no such file")});
  run();
  CHECK(job_states().back() == "failed");
}

TEST_CASE_FIXTURE(job_fixture, "a launch tells the node what a drain does with the task") {
  job_spec spec;
  spec.name = "mixed";
  spec.stages = {stage("plain", 1), stage("ckpt", 1), stage("usr2", 1)};
  spec.stages[1].checkpoint = checkpoint_spec{"/ckpt"};
  spec.stages[2].checkpoint = checkpoint_spec{"/ckpt", "USR2", 45000};
  start(spec);
  place("plain", {0});
  place("ckpt", {0});
  place("usr2", {0});
  REQUIRE(launches().size() == 3);
  for (const auto& l : launches()) {
    CAPTURE(l.task.stage);
    if (l.task.stage == "usr2") {
      CHECK(l.drain.signal == SIGUSR2);
      CHECK(l.drain.grace_ms == 45000);
    } else {  // a checkpoint without a signal is not asked either
      CHECK(l.drain.signal == 0);
    }
  }
}

TEST_CASE_FIXTURE(job_fixture, "a task that ends on a draining node is moved, whatever its code") {
  job_spec spec;
  spec.name = "sleeper";  // max_restarts 0: one failure would fail the job
  spec.stages = {stage("a", 1)};
  start(spec);
  place("a", {0});
  started(task("a", 0), 11);
  caf::anon_send(job, msg::task_draining{task("a", 0), true});
  run();
  exited(task("a", 0), 138);  // SIGUSR1's default action ended it
  REQUIRE(places_for().size() == 2);
  place("a", {0});
  CHECK(launches().back().task.attempt == 1);
  started(launches().back().task.task_id, 12);
  exited(launches().back().task.task_id, 0);
  CHECK(job_states().back() == "succeeded");
  REQUIRE_FALSE(received<msg::job_changed>(to_cluster).empty());
  CHECK(received<msg::job_changed>(to_cluster).back().summary.restarts == 0);
}

TEST_CASE_FIXTURE(job_fixture, "a gang with a draining rank moves as a whole when any rank ends") {
  job_spec spec;
  spec.name = "ddp";
  spec.stages = {stage("train", 2)};
  spec.stages[0].collective = collective_kind::nccl;
  start(spec);
  place("train", {0, 1});
  caf::anon_send(job, msg::port_reserved{"train", 0, uint16_t{29999}});
  run();
  started(task("train", 0), 20);
  started(task("train", 1), 21);
  caf::anon_send(job, msg::task_draining{task("train", 1), true});
  run();
  exited(task("train", 0), 1);  // its peer on the draining node went away first
  CHECK(received<msg::kill_task>(to_node).size() == 1);
  exited(task("train", 1), 143);
  REQUIRE(places_for().size() == 2);
  auto d = ask<result<job_record>>(job, msg::describe_job{});
  REQUIRE(d.has_value());
  CHECK((*d)->restarts == 0);
  CHECK(job_states() == std::vector<std::string>{"pending", "running"});
}

TEST_CASE_FIXTURE(job_fixture, "after a drain is called off, an exit counts again") {
  job_spec spec;
  spec.name = "stays";
  spec.stages = {stage("a", 1)};
  start(spec);
  place("a", {0});
  started(task("a", 0), 11);
  caf::anon_send(job, msg::task_draining{task("a", 0), true});
  caf::anon_send(job, msg::task_draining{task("a", 0), false});
  run();
  exited(task("a", 0), 1);
  CHECK(job_states().back() == "failed");
}
