// The worker side of the coordinator's API over a socket pair in this process: registration
// (coordinator_service -> fake backend), the session a worker keeps (heartbeats, exits,
// checkpoints, its end), and the coordinator's calls back into the worker's NodeAgent
// (agent_service -> fake task_agent).
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "protocol/agent_service.hpp"
#include "protocol/convert.hpp"
#include "protocol/coordinator_service.hpp"

using namespace gantry;
using namespace gantry::protocol_test;
using Code = wire::Status::Code;

namespace {

struct worker_rig : loop {
  ~worker_rig() {
    backend.agent.reset();  // its KJ-side half is freed through the mailbox
    io.waitScope.poll();
  }
  fake_backend backend{changed};
  fake_agent agent{changed};
  kj::Own<kj::TwoWayPipe> pipe = kj::heap(io.provider->newTwoWayPipe());
  kj::Own<capnp::TwoPartyClient> server = kj::heap<capnp::TwoPartyClient>(
      *pipe->ends[0], kj::heap<coordinator_service>(backend, mailbox),
      capnp::rpc::twoparty::Side::SERVER);
  kj::Own<capnp::TwoPartyClient> client = kj::heap<capnp::TwoPartyClient>(*pipe->ends[1]);
  wire::Coordinator::Client coordinator = client->bootstrap().castAs<wire::Coordinator>();

  // registerWorker as a worker sends it: its inventory, its agent, the tasks it reports.
  capnp::Response<wire::Coordinator::RegisterWorkerResults> enroll(
      const node_inventory& inv, const std::vector<task_report>& tasks = {},
      uint32_t version = wire::PROTOCOL_VERSION) {
    auto req = coordinator.registerWorkerRequest();
    req.setVersion(version);
    wire_convert::to_wire(req.initInventory(), inv);
    req.setAgent(kj::heap<agent_service>(agent));
    auto list = req.initTasks(tasks.size());
    for (unsigned i = 0; i < tasks.size(); ++i) wire_convert::to_wire(list[i], tasks[i]);
    return wait(req.send());
  }
};

node_inventory inventory(const std::string& name) {
  node_inventory inv;
  inv.name = name;
  inv.cpu_milli = 8000;
  inv.gpus = {{0, "H100", 80LL << 30, 0, 0, "GPU-0", true}};
  inv.labels = {{"zone", "b"}};
  return inv;
}

}  // namespace

TEST_CASE("worker API: a registration with another version or no name is refused") {
  worker_rig r;
  auto old = r.enroll(inventory("w1"), {}, wire::PROTOCOL_VERSION + 1);
  CHECK(old.getStatus().getCode() == Code::VERSION_MISMATCH);
  auto nameless = r.enroll(inventory(""));
  CHECK(nameless.getStatus().getCode() == Code::INVALID_ARGUMENT);
  CHECK(r.backend.calls.empty());
}

TEST_CASE("worker API: registration hands over the inventory and tasks, the session reports") {
  worker_rig r;
  std::vector<task_report> tasks{{"j-1.s.0.0", 4242, true, -1, ""},
                                 {"j-1.s.1.0", 4243, false, 1, "exit code 1"}};
  r.backend.heartbeat_interval_ms = 150;
  auto reg = r.enroll(inventory("w1"), tasks);
  REQUIRE(reg.getStatus().getCode() == Code::OK);
  CHECK(reg.getHeartbeatIntervalMs() == 150);
  REQUIRE(r.backend.registered.size() == 1);
  CHECK(r.backend.registered[0] == inventory("w1"));
  CHECK(r.backend.registered_tasks[0] == tasks);

  auto session = reg.getSession();
  auto& port = *r.backend.session;
  CHECK(r.wait(session.heartbeatRequest().send()).getStatus().getCode() == Code::OK);
  port.heartbeat_answer = fail(errc::failed_precondition, "session replaced");
  auto answer = r.wait(session.heartbeatRequest().send());
  auto refused = answer.getStatus();
  CHECK(refused.getCode() == Code::FAILED_PRECONDITION);
  CHECK(port.heartbeats == 2);

  auto exited = session.taskExitedRequest();
  wire_convert::to_wire(exited.initReport(), tasks[1]);
  r.wait(exited.send());
  CHECK(port.exits == std::vector<task_report>{tasks[1]});
  auto committed = session.checkpointCommittedRequest();
  committed.setTaskId("j-1.s.0.0");
  committed.setStep(120);
  r.wait(committed.send());
  CHECK(port.checkpoints == std::vector<std::pair<std::string, int64_t>>{{"j-1.s.0.0", 120}});
  CHECK_FALSE(port.gone);

  // The connection breaks: the coordinator learns the worker went away.
  r.client = nullptr;
  r.pipe->ends[1] = nullptr;
  CHECK(r.until([&] { return port.gone; }));
}

TEST_CASE("worker API: the coordinator's calls reach the worker's agent and come back") {
  worker_rig r;
  REQUIRE(r.enroll(inventory("w1")).getStatus().getCode() == Code::OK);
  REQUIRE(r.backend.agent != nullptr);
  task_agent& remote = *r.backend.agent;  // what the node actor holds

  task_spec t;
  t.task_id = make_task_id("j-000008", "train", 1, 0);
  t.job_id = "j-000008";
  t.stage = "train";
  t.rank = 1;
  t.command = {"sleep", "5"};
  t.env = {{"GANTRY_RANK", "1"}};
  t.gpus = {0};
  auto pid = r.call<int64_t>([&](callback<int64_t> done) { remote.launch(t, std::move(done)); });
  CHECK(pid == int64_t{4242});
  CHECK(r.agent.launched == std::vector<task_spec>{t});

  CHECK(r.call<void>([&](callback<void> done) { remote.kill(t.task_id, 500, done); }));
  CHECK(r.call<void>([&](callback<void> done) { remote.signal(t.task_id, 10, done); }));
  CHECK(r.call<uint16_t>([&](callback<uint16_t> done) { remote.reserve_port(done); }) ==
        uint16_t{29500});
  r.agent.log_answer = log_chunk{std::string("a\0b", 3), 10, false};
  auto log =
      r.call<log_chunk>([&](callback<log_chunk> done) { remote.read_log(t.task_id, 7, 64, done); });
  REQUIRE(log.has_value());
  CHECK(log->data == std::string("a\0b", 3));
  CHECK(log->next_offset == 10);
  CHECK_FALSE(log->finished);
  CHECK(r.agent.calls == std::vector<std::string>{"kill " + t.task_id + " 500",
                                                  "signal " + t.task_id + " 10", "reserve_port",
                                                  "read_log " + t.task_id + " 7 64"});

  r.agent.pid_answer = fail(errc::invalid_argument, "no such program: sleep");
  auto refused =
      r.call<int64_t>([&](callback<int64_t> done) { remote.launch(t, std::move(done)); });
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::invalid_argument);
  CHECK(refused.error().message == "no such program: sleep");

  // The worker's end of the connection goes away: calls fail as unavailable.
  r.client = nullptr;
  r.pipe->ends[1] = nullptr;
  auto gone = r.call<void>([&](callback<void> done) { remote.kill(t.task_id, 0, done); });
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().code == errc::unavailable);
}
