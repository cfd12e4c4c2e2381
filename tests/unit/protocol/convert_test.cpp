// Conversions between core types and the wire: every field of every record survives a trip
// through a serialized Cap'n Proto message.
#include <doctest/doctest.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "protocol/convert.hpp"

using namespace gantry;
namespace wc = gantry::wire_convert;

namespace {

// `v` written into a message of type Wire, serialized to bytes, read back and converted.
template <class Wire, class T>
auto round_trip(const T& v) {
  capnp::MallocMessageBuilder out;
  wc::to_wire(out.initRoot<Wire>(), v);
  auto words = capnp::messageToFlatArray(out);
  capnp::FlatArrayMessageReader in(words);
  return wc::from_wire(in.getRoot<Wire>());
}

node_inventory sample_inventory() {
  node_inventory inv;
  inv.name = "gpu-01";
  inv.hostname = "gpu-01.cluster.local";
  inv.cpu_milli = 64000;
  inv.memory_bytes = 512LL << 30;
  inv.gpus = {{0, "H100", 80LL << 30, 0, 0, "GPU-aaaa", false},
              {1, "H100", 80LL << 30, 0, 1, "GPU-bbbb", true}};
  inv.dpus = {{0, "BlueField-3", true}};
  inv.fabrics = {"tcp", "shm", "verbs", "verbs;ofi_rxm"};
  inv.labels = {{"rack", "r12"}, {"zone", "a"}};
  inv.gpu_sharing = kGpuSharingMps;  // not the default, so the round trip shows it travels
  inv.isolation = "v1";
  return inv;
}

}  // namespace

TEST_CASE("wire: every error code and its message, and ok") {
  for (errc code : {errc::invalid_argument, errc::not_found, errc::already_exists,
                    errc::unavailable, errc::io_error, errc::timeout, errc::internal,
                    errc::version_mismatch, errc::failed_precondition}) {
    capnp::MallocMessageBuilder m;
    wc::to_wire(m.initRoot<wire::Status>(), error{code, "what went wrong"});
    auto back = wc::from_wire(m.getRoot<wire::Status>().asReader());
    REQUIRE_FALSE(back.has_value());
    CHECK(back.error().code == code);
    CHECK(back.error().message == "what went wrong");
  }
  capnp::MallocMessageBuilder m;
  wc::set_ok(m.initRoot<wire::Status>());
  CHECK(wc::from_wire(m.getRoot<wire::Status>().asReader()).has_value());
}

TEST_CASE("wire: a node's inventory") {
  CHECK(round_trip<wire::Inventory>(sample_inventory()) == sample_inventory());
  CHECK(round_trip<wire::Inventory>(node_inventory{}) == node_inventory{});
  // A worker that does not send gpuSharing (older, or another build) is time-sliced.
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Inventory>().setName("old");
  CHECK(wc::from_wire(m.getRoot<wire::Inventory>().asReader()).gpu_sharing == "time-sliced");
}

TEST_CASE("wire: a task spec") {
  // Sets every field of task_spec: a field added there belongs here too.
  task_spec t;
  t.task_id = make_task_id("j-000007", "train", 2, 1);
  t.job_id = "j-000007";
  t.stage = "train";
  t.rank = 2;
  t.attempt = 1;
  t.command = {"python", "-c", "print('hi')", ""};
  t.env = {{"B", "2"}, {"A", "1"}, {"A", "again"}, {"EMPTY", ""}};  // order and repeats kept
  t.job_name = "recsys";
  t.world_size = 4;
  t.working_dir = "/srv/work";
  t.cpu_milli = 2500;
  t.gpus = {3, 0};  // the task's ordinal order, not the node's
  t.gpu_milli = 500;
  t.gpu_memory_bytes = int64_t{40} << 30;
  t.fabric = "verbs;ofi_rxm";
  t.checkpoint_dir = "/shared/ckpt";
  t.restore_step = 1200;
  t.memory_bytes = int64_t{8} << 30;
  t.owner = "alice";
  t.time_limit_ms = 7'200'000;
  CHECK(round_trip<wire::TaskSpec>(t) == t);
  t.gang = gang_coordinates{1, 2, 1, 2, "10.0.0.5", 29500, 3, {"j-000007", "train", 1}};
  CHECK(round_trip<wire::TaskSpec>(t) == t);
  CHECK(round_trip<wire::TaskSpec>(task_spec{}) == task_spec{});
}

TEST_CASE("wire: task reports, running and ended") {
  task_report running{"j-1.s.0.0", 4242, true, -1, ""};
  task_report ended{"j-1.s.1.0", 4243, false, 137, "killed by signal 9"};
  CHECK(round_trip<wire::TaskReport>(running) == running);
  CHECK(round_trip<wire::TaskReport>(ended) == ended);
  task_report measured{
      "j-1.s.2.0", 4244, false, 137, "time limit 2h exceeded", {64 << 20, 1'500'000, 7'200'100},
      true};
  CHECK(round_trip<wire::TaskReport>(measured) == measured);
}

TEST_CASE("wire: job events of every kind") {
  for (event_kind kind : {event_kind::job, event_kind::stage, event_kind::rank}) {
    job_event e{"j-000042",
                17,
                1'700'000'000'123,
                kind,
                "train",
                3,
                "failed",
                "gpu-01",
                99'999'999'999,
                143,
                2,
                "exit code 143 \xE2\x80\x94 terminated",
                {1 << 30, 42, 9000}};
    CHECK(round_trip<wire::JobEvent>(e) == e);
  }
}

TEST_CASE("wire: job summaries in every state") {
  for (job_state s : {job_state::pending, job_state::running, job_state::succeeded,
                      job_state::failed, job_state::cancelled}) {
    job_summary in{"j-000042",        "recsys",          "alice",        s, -5, 3,
                   1'700'000'000'000, 1'700'000'009'000, "rank 1 failed"};
    job_summary out = round_trip<wire::JobSummary>(in);
    CHECK(out.id == in.id);
    CHECK(out.name == in.name);
    CHECK(out.owner == in.owner);
    CHECK(out.state == in.state);
    CHECK(out.priority == in.priority);
    CHECK(out.restarts == in.restarts);
    CHECK(out.submitted_ms == in.submitted_ms);
    CHECK(out.finished_ms == in.finished_ms);
    CHECK(out.reason == in.reason);
  }
}

TEST_CASE("wire: node status in every state, with each GPU's allocation") {
  for (node_state s : {node_state::ready, node_state::lost, node_state::cordoned,
                       node_state::draining, node_state::unknown}) {
    node_status in{sample_inventory(), s, 12500, 3LL << 30, {1000, 250}, 3, 42, "drained by x"};
    node_status out = round_trip<wire::NodeInfo>(in);
    CHECK(out.inventory == in.inventory);
    CHECK(out.state == in.state);
    CHECK(out.allocated_cpu_milli == in.allocated_cpu_milli);
    CHECK(out.allocated_memory_bytes == in.allocated_memory_bytes);
    CHECK(out.gpu_allocated_milli == in.gpu_allocated_milli);
    CHECK(out.tasks == in.tasks);
    CHECK(out.last_seen_ms_ago == in.last_seen_ms_ago);
    CHECK(out.reason == in.reason);
  }
}

TEST_CASE("wire: a job's detail carries its summary, stages and ranks") {
  job_spec spec;
  spec.name = "recsys";
  spec.priority = 10;
  spec.stages.resize(2);
  spec.stages[0].name = "features";
  spec.stages[1].name = "train";
  spec.stages[1].device = device_kind::gpu;
  spec.stages[1].after = {"features"};
  spec.stages[1].replicas = 2;
  job_record job = make_job_record("j-000042", spec, 7, 1'700'000'000'000);
  job.state = job_state::running;
  job.reason = "restarting train";
  job.restarts = 1;
  job.finished_ms = 1'700'000'000'999;
  job.last_event_seq = 23;
  job.stages[0].state = stage_state::succeeded;
  job.stages[1].state = stage_state::running;
  job.stages[1].reason = "rank 1 lost";
  job.stages[1].checkpoint_step = 120;
  job.stages[1].restarts = 1;
  for (auto& r : job.stages[1].ranks) {
    r.state = rank_state::running;
    r.node = "gpu-0" + std::to_string(r.rank);
    r.pid = 9000 + r.rank;
    r.attempt = 1;
    r.gpus = {r.rank, r.rank + 2};
    r.gpu_milli = 500;
    r.exit_code = 143;
    r.task_id = make_task_id(job.id, "train", r.rank, 1);
    r.reason = "restarted";
    r.usage = {int64_t{3} << 30, 120'000'000, 61'000};
  }

  job_record out = round_trip<wire::JobDetail>(job);
  CHECK(out.id == job.id);
  CHECK(out.spec.name == job.spec.name);
  CHECK(out.spec.priority == job.spec.priority);
  CHECK(out.state == job.state);
  CHECK(out.reason == job.reason);
  CHECK(out.restarts == job.restarts);
  CHECK(out.submitted_ms == job.submitted_ms);
  CHECK(out.finished_ms == job.finished_ms);
  CHECK(out.last_event_seq == job.last_event_seq);
  // Every stage and rank field; a rank's gpu_memory_bytes (left 0 here) is not in the detail.
  CHECK(out.stages == job.stages);
  REQUIRE(out.spec.stages.size() == 2);
  CHECK(out.spec.stages[1].device == device_kind::gpu);
  CHECK(out.spec.stages[1].after == std::vector<std::string>{"features"});
  CHECK(out.spec.stages[1].replicas == 2);  // the number of ranks
}
