// The coordinator's client API (coordinator_service) over a socket pair in this process,
// against a fake coordinator_backend: each method forwards its parameters and answers with
// the backend's reply or error.
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "protocol/convert.hpp"
#include "protocol/coordinator_service.hpp"
#include "protocol/worker_services.hpp"

using namespace gantry;
using namespace gantry::protocol_test;
using Code = wire::Status::Code;

namespace {

// A coordinator_service on one end of a socket pair, a client on the other.
struct service_rig : loop {
  ~service_rig() {
    backend.sink.reset();  // their KJ-side halves are freed through the mailbox
    backend.agent.reset();
    io.waitScope.poll();
  }
  fake_backend backend{changed};
  kj::TwoWayPipe pipe = io.provider->newTwoWayPipe();
  capnp::TwoPartyClient server{
      *pipe.ends[0],
      kj::heap<coordinator_service>(backend, mailbox, caller{"alice", caller_role::user}),
      capnp::rpc::twoparty::Side::SERVER};
  capnp::TwoPartyClient client{*pipe.ends[1]};
  wire::Coordinator::Client coordinator = client.bootstrap().castAs<wire::Coordinator>();
  // A task credential's connection: the rendezvous of j-000005/train attempt 2.
  kj::TwoWayPipe task_pipe = io.provider->newTwoWayPipe();
  capnp::TwoPartyClient task_server{
      *task_pipe.ends[0],
      kj::heap<rendezvous_service>(backend, task_ref{"j-000005", "train", 1, 2}),
      capnp::rpc::twoparty::Side::SERVER};
  capnp::TwoPartyClient task_client{*task_pipe.ends[1]};
  wire::Rendezvous::Client rendezvous = task_client.bootstrap().castAs<wire::Rendezvous>();
};

std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

// Receives a watch's events.
class watcher final : public wire::JobWatcher::Server {
 public:
  watcher(std::vector<job_event>& got, notifier& n) : got_(got), changed_(n) {}

 protected:
  kj::Promise<void> events(EventsContext context) override {
    for (auto e : context.getParams().getEvents()) got_.push_back(wire_convert::from_wire(e));
    changed_.notify();
    return kj::READY_NOW;
  }

 private:
  std::vector<job_event>& got_;
  notifier& changed_;
};

}  // namespace

TEST_CASE("coordinator service: hello accepts our protocol version only") {
  service_rig r;
  auto same = r.coordinator.helloRequest();
  same.setClientVersion(wire::PROTOCOL_VERSION);
  auto ok = r.wait(same.send());
  CHECK(ok.getServerVersion() == wire::PROTOCOL_VERSION);
  CHECK(ok.getStatus().getCode() == Code::OK);

  auto other = r.coordinator.helloRequest();
  other.setClientVersion(wire::PROTOCOL_VERSION + 1);
  auto refused = r.wait(other.send());
  CHECK(refused.getStatus().getCode() == Code::VERSION_MISMATCH);
  CHECK(text(refused.getStatus().getMessage()).find("client speaks protocol") == 0);
  CHECK(r.backend.calls.empty());
}

TEST_CASE("coordinator service: submit forwards the manifest and answers its id or errors") {
  service_rig r;
  auto submit = [&](const char* manifest) {
    auto req = r.coordinator.submitRequest();
    req.setManifest(manifest);
    req.setSourceName("job.yaml");
    return r.wait(req.send());
  };
  auto ok = submit("name: x\n");
  CHECK(r.backend.args == std::vector<std::string>{"name: x\n"});
  CHECK(ok.getStatus().getCode() == Code::OK);
  CHECK(text(ok.getJobId()) == "j-000001");
  CHECK(ok.getErrors().size() == 0);

  r.backend.submit_answer = submit_reply{"", {{"stages[0].name", "required"}, {"name", "empty"}}};
  auto invalid = submit("stages: [{}]\n");
  CHECK(invalid.getStatus().getCode() == Code::INVALID_ARGUMENT);
  CHECK(text(invalid.getJobId()).empty());
  REQUIRE(invalid.getErrors().size() == 2);
  CHECK(text(invalid.getErrors()[0].getPath()) == "stages[0].name");
  CHECK(text(invalid.getErrors()[1].getMessage()) == "empty");

  r.backend.submit_answer = fail(errc::io_error, "state store: disk full");
  auto failed = submit("name: y\n");
  CHECK(failed.getStatus().getCode() == Code::IO_ERROR);
  CHECK(text(failed.getStatus().getMessage()) == "state store: disk full");

  auto req = r.coordinator.submitRequest();
  req.setManifest("name: w\n");
  req.setAllowUnschedulable(true);
  r.wait(req.send());
  CHECK(r.backend.args == std::vector<std::string>{"name: w\n", "allow_unschedulable"});

  r.backend.answer_elsewhere = true;  // answered from another thread, as the actors do
  r.backend.submit_answer = submit_reply{"j-000002", {}};
  CHECK(text(submit("name: z\n").getJobId()) == "j-000002");
}

TEST_CASE("coordinator service: jobs, a job's detail and nodes go through the conversions") {
  service_rig r;
  job_summary s{"j-000003", "train", "bob", job_state::failed, 5, 2, 1000, 2000, "rank 0 failed"};
  job_summary newer;  // listed in submission order, so after s
  newer.id = "j-000004";
  newer.submitted_ms = 3000;
  r.backend.jobs_answer = std::vector<job_summary>{newer, s};
  auto listed = r.wait(r.coordinator.listJobsRequest().send());
  auto jobs = listed.getJobs();
  REQUIRE(jobs.size() == 2);
  CHECK(text(jobs[0].getId()) == "j-000003");
  CHECK(text(jobs[0].getState()) == "failed");
  CHECK(text(jobs[0].getReason()) == "rank 0 failed");
  CHECK(text(jobs[1].getId()) == "j-000004");

  job_record job;
  job.id = "j-000003";
  job.stages.emplace_back().name = "main";
  job.stages[0].ranks.emplace_back().node = "w1";
  r.backend.job_answer = job;
  auto describe = r.coordinator.describeJobRequest();
  describe.setJobId("j-000003");
  auto detail = r.wait(describe.send());
  CHECK(r.backend.args == std::vector<std::string>{"j-000003"});
  CHECK(detail.getStatus().getCode() == Code::OK);
  CHECK(wire_convert::from_wire(detail.getJob()).stages == job.stages);

  r.backend.job_answer = fail(errc::not_found, "no job j-9");
  auto missing = r.coordinator.describeJobRequest();
  missing.setJobId("j-9");
  CHECK(r.wait(missing.send()).getStatus().getCode() == Code::NOT_FOUND);

  node_status n;
  n.inventory.name = "w1";
  n.state = node_state::draining;
  r.backend.nodes_answer = std::vector<node_status>{n};
  auto listed_nodes = r.wait(r.coordinator.listNodesRequest().send());
  auto nodes = listed_nodes.getNodes();
  REQUIRE(nodes.size() == 1);
  CHECK(text(nodes[0].getInventory().getName()) == "w1");
  CHECK(text(nodes[0].getState()) == "draining");

  // The two list calls have no status: a backend error fails the call itself.
  r.backend.jobs_answer = fail(errc::internal, "store actor gone");
  CHECK_THROWS_WITH(r.wait(r.coordinator.listJobsRequest().send()),
                    doctest::Contains("store actor gone"));
}

TEST_CASE("coordinator service: cancel and node actions forward names and map actions") {
  service_rig r;
  auto cancel = r.coordinator.cancelRequest();
  cancel.setJobId("j-000004");
  CHECK(r.wait(cancel.send()).getStatus().getCode() == Code::OK);
  CHECK(r.backend.calls.back() == "cancel");
  CHECK(r.backend.args == std::vector<std::string>{"j-000004"});

  using Action = wire::Coordinator::NodeAction;
  for (auto [wire_action, action] : {std::pair{Action::CORDON, node_action::cordon},
                                     std::pair{Action::UNCORDON, node_action::uncordon},
                                     std::pair{Action::DRAIN, node_action::drain}}) {
    auto req = r.coordinator.setNodeStateRequest();
    req.setName("w2");
    req.setAction(wire_action);
    CHECK(r.wait(req.send()).getStatus().getCode() == Code::OK);
    CHECK(r.backend.args == std::vector<std::string>{"w2"});
    CHECK(r.backend.action == action);
  }
  r.backend.void_answer = fail(errc::failed_precondition, "w2 is lost");
  auto refused = r.coordinator.setNodeStateRequest();
  refused.setName("w2");
  auto answer = r.wait(refused.send());
  auto st = answer.getStatus();
  CHECK(st.getCode() == Code::FAILED_PRECONDITION);
  CHECK(text(st.getMessage()) == "w2 is lost");
}

TEST_CASE("coordinator service: wait_node checks the state name before asking the backend") {
  service_rig r;
  auto bad = r.coordinator.waitNodeRequest();
  bad.setName("w1");
  bad.setState("sleepy");
  auto answer = r.wait(bad.send());
  auto refused = answer.getStatus();
  CHECK(refused.getCode() == Code::INVALID_ARGUMENT);
  CHECK(text(refused.getMessage()).find("\"sleepy\"") != std::string::npos);
  CHECK(r.backend.calls.empty());

  node_status n;
  n.inventory.name = "w1";
  n.state = node_state::lost;
  r.backend.node_answer = n;
  auto good = r.coordinator.waitNodeRequest();
  good.setName("w1");
  good.setState("lost");
  good.setTimeoutMs(1234);
  auto resp = r.wait(good.send());
  CHECK(r.backend.args == std::vector<std::string>{"w1", "lost", "1234"});
  CHECK(text(resp.getNode().getState()) == "lost");

  r.backend.node_answer = fail(errc::timeout, "w1 not lost after 1234 ms");
  auto late = r.coordinator.waitNodeRequest();
  late.setName("w1");
  late.setState("lost");
  CHECK(r.wait(late.send()).getStatus().getCode() == Code::TIMEOUT);
}

TEST_CASE("coordinator service: logs and rendezvous values are bytes, NULs included") {
  service_rig r;
  const std::string bytes("out\0put\n", 8);
  r.backend.log_answer = log_chunk{bytes, 108, true};
  auto logs = r.coordinator.readLogsRequest();
  logs.setJobId("j-000005");
  logs.setStage("train");
  logs.setRank(3);
  logs.setAttempt(2);
  logs.setOffset(100);
  logs.setMaxBytes(4096);
  auto chunk = wire_convert::log_from_wire(r.wait(logs.send()));
  CHECK(r.backend.args == std::vector<std::string>{"j-000005", "train", "3", "2", "100", "4096"});
  REQUIRE(chunk.has_value());
  CHECK(chunk->data == bytes);
  CHECK(chunk->next_offset == 108);
  CHECK(chunk->finished);

  auto put = r.rendezvous.putRequest();
  put.getScope().setJobId("j-000005");
  put.getScope().setStage("train");
  put.getScope().setAttempt(2);
  put.setKey("nccl-id");
  put.setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  CHECK(r.wait(put.send()).getStatus().getCode() == Code::OK);
  CHECK(r.backend.scope == rendezvous_scope{"j-000005", "train", 2});
  CHECK(r.backend.value == bytes);
  CHECK(r.backend.task == task_ref{"j-000005", "train", 1, 2});  // what the backend checks

  r.backend.value_answer = bytes;
  auto get = r.rendezvous.getRequest();
  get.getScope().setJobId("j-000005");
  get.setKey("nccl-id");
  get.setTimeoutMs(500);
  auto got = r.wait(get.send());
  auto value = got.getValue();
  CHECK(std::string(reinterpret_cast<const char*>(value.begin()), value.size()) == bytes);
  CHECK(r.backend.args == std::vector<std::string>{"nccl-id", "500"});

  r.backend.value_answer = fail(errc::timeout, "nobody put nccl-id");
  auto late = r.rendezvous.getRequest();
  late.setKey("nccl-id");
  CHECK(r.wait(late.send()).getStatus().getCode() == Code::TIMEOUT);
}

TEST_CASE("coordinator service: a watch streams the sink's events in order until dropped") {
  service_rig r;
  std::vector<job_event> got;
  r.backend.watch_answer = watch_reply{job_state::running, 2};
  auto req = r.coordinator.watchRequest();
  req.setJobId("j-000006");
  req.setFromSeq(1);
  req.setWatcher(kj::heap<watcher>(got, r.changed));
  {
    auto resp = r.wait(req.send());
    CHECK(r.backend.args == std::vector<std::string>{"j-000006", "1"});
    CHECK(text(resp.getState()) == "running");
    CHECK(resp.getLastSeq() == 2);
    REQUIRE(r.backend.sink != nullptr);

    // The job actor pushes from its own thread, batch after batch.
    auto event = [](uint64_t seq) {
      job_event e;
      e.job_id = "j-000006";
      e.seq = seq;
      e.state = "running";
      return e;
    };
    std::thread([&] {
      r.backend.sink->push({event(1), event(2)});
      r.backend.sink->push({event(3)});
    }).join();
    REQUIRE(r.until([&] { return got.size() == 3; }));
    for (uint64_t i = 0; i < 3; ++i) CHECK(got[i].seq == i + 1);
    CHECK_FALSE(r.backend.sink->closed());
  }  // the client drops the response, and with it the subscription
  // The release goes out before this call on the same connection, so it was handled first.
  r.wait(r.coordinator.helloRequest().send());
  CHECK(r.backend.sink->closed());
}

TEST_CASE("coordinator service: a refused watch closes its sink") {
  service_rig r;
  std::vector<job_event> got;
  r.backend.watch_answer = fail(errc::not_found, "no job j-7");
  auto req = r.coordinator.watchRequest();
  req.setJobId("j-7");
  req.setWatcher(kj::heap<watcher>(got, r.changed));
  CHECK(r.wait(req.send()).getStatus().getCode() == Code::NOT_FOUND);
  REQUIRE(r.backend.sink != nullptr);
  CHECK(r.backend.sink->closed());
}

TEST_CASE("coordinator service: queue changes pass only the fields given, list converts quotas") {
  service_rig r;
  auto create = r.coordinator.setQueueRequest();
  create.setName("vision");
  create.setCreate(true);
  create.setGuarantee("gpu=8,cpu=64");
  create.setWeight(2);
  CHECK(r.wait(create.send()).getStatus().getCode() == Code::OK);
  CHECK(r.backend.calls.back() == "set_queue");
  CHECK(r.backend.who.user == "alice");  // the connection's caller: the backend decides
  const queue_change& c = r.backend.last_queue_change;
  CHECK(c.name == "vision");
  CHECK(c.create);
  CHECK(c.guarantee == std::optional<std::string>("gpu=8,cpu=64"));
  CHECK_FALSE(c.limit.has_value());
  CHECK(c.weight == std::optional<double>(2));

  auto update = r.coordinator.setQueueRequest();
  update.setName("vision");
  update.setLimit("none");
  CHECK(r.wait(update.send()).getStatus().getCode() == Code::OK);
  CHECK_FALSE(r.backend.last_queue_change.create);
  CHECK_FALSE(r.backend.last_queue_change.guarantee.has_value());
  CHECK(r.backend.last_queue_change.limit == std::optional<std::string>("none"));
  CHECK_FALSE(r.backend.last_queue_change.weight.has_value());

  r.backend.void_answer = fail(errc::permission_denied, "deleting a queue needs an admin token");
  auto del = r.coordinator.deleteQueueRequest();
  del.setName("vision");
  auto refused = r.wait(del.send());
  CHECK(refused.getStatus().getCode() == Code::PERMISSION_DENIED);
  CHECK(r.backend.args == std::vector<std::string>{"vision"});

  queue_info q;
  q.name = "vision";
  q.guarantee = {64000, 0, 8000};
  q.limit = {kQuotaUnlimited, kQuotaUnlimited, 16000};
  q.weight = 2;
  q.usage = {4000, 1 << 30, 10000};
  q.borrowed = {800, 0, 2000};
  q.pending_jobs = 3;
  q.running = 5;
  r.backend.queues_answer = {q};
  auto list = r.wait(r.coordinator.listQueuesRequest().send());
  REQUIRE(list.getQueues().size() == 1);
  queue_info got = wire_convert::from_wire(list.getQueues()[0]);
  CHECK(got.name == "vision");
  CHECK(got.guarantee == q.guarantee);
  CHECK(got.limit == q.limit);
  CHECK(got.weight == 2);
  CHECK(got.usage == q.usage);
  CHECK(got.borrowed == q.borrowed);
  CHECK(got.pending_jobs == 3);
  CHECK(got.running == 5);
}
