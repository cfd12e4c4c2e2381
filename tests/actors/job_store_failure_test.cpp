// A job whose writes the store refuses (a full disk): its state changes are held, in order,
// and written again every second; watchers see them only once stored, none lost or reordered.
#include <doctest/doctest.h>

#include "actors/job_actor.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace gantry;
using namespace gantry::test;

TEST_CASE_FIXTURE(actor_fixture, "a refused write is held and retried, watchers see every event") {
  *fail_persists = true;
  stage_spec s;
  s.name = "a";
  s.replicas = 1;
  s.resources.cpu_milli = 500;
  s.resources.memory_bytes = 64 << 20;
  s.command = {"true"};
  job_spec spec;
  spec.name = "held";
  spec.stages = {s};
  auto sink = std::make_shared<recording_sink>();
  job_actor job = spawn_job_actor(*sys, cluster, store, make_job_record("j-000001", spec, 1, 0), {},
                                  coordinator_config{});
  caf::anon_send(job, msg::subscribe{1, sink});
  caf::anon_send(job, msg::start_job{});
  run();

  msg::placed p;
  p.stage = "a";
  p.ranks = {0};
  sched::task_assignment a;
  a.node = "n1";
  a.cpu_milli = 500;
  a.memory_bytes = 64 << 20;
  p.tasks = {a};
  p.nodes = {node};
  p.hostnames = {"host-n1"};
  caf::anon_send(job, std::move(p));
  run();
  auto launches = received<msg::launch>(to_node);
  REQUIRE(launches.size() == 1);  // the job goes on while its writes fail
  caf::anon_send(job, msg::task_launched{launches[0].task.task_id, 1001});
  run();
  CHECK(sink->received.empty());  // nothing is published before it is stored
  CHECK(*persisted_events == 0);

  sched->advance_time(std::chrono::seconds(1));  // a retry, still refused
  run();
  CHECK(sink->received.empty());

  *fail_persists = false;
  sched->advance_time(std::chrono::seconds(1));  // room again: the retry stores everything
  run();
  REQUIRE(sink->received.size() >= 3);  // pending, the stage and the rank starting and running
  for (size_t i = 0; i < sink->received.size(); ++i) CHECK(sink->received[i].seq == i + 1);
  CHECK(*persisted_events >= sink->received.size());
  bool running = false;
  for (auto& e : sink->received) running |= e.kind == event_kind::rank && e.state == "running";
  CHECK(running);
  caf::anon_send_exit(job, caf::exit_reason::user_shutdown);
  run();
}
