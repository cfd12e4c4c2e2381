// Writes rpc_fuzz's seed corpus: one well-formed message per selector, each file the
// selector byte followed by the message in Cap'n Proto's stream format.
//   build-fuzz/tests/fuzz/rpc_seeds tests/fuzz/corpus/rpc_fuzz   (after scripts/fuzz.sh)
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "protocol/convert.hpp"

using namespace gantry;
namespace wc = wire_convert;
using wire::Coordinator;

namespace {

void write(const std::string& dir, uint8_t which, const std::string& name,
           const std::function<void(capnp::MessageBuilder&)>& fill) {
  capnp::MallocMessageBuilder b;
  fill(b);
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  std::ofstream out(dir + "/" + std::to_string(which) + "-" + name, std::ios::binary);
  out.put(static_cast<char>(which));
  out.write(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: rpc_seeds DIR\n";
    return 2;
  }
  std::string d = argv[1];
  write(d, 0, "submit", [](auto& b) {
    auto p = b.template initRoot<Coordinator::SubmitParams>();
    p.setManifest(
        "name: j\npriority: 1\nstages:\n  - name: s\n    replicas: 2\n    command: [run, x]\n"
        "    env: {A: \"1\"}\n    resources: {cpu: 0.5, memory: 64MiB}\n");
    p.setSourceName("j.yaml");
  });
  write(d, 1, "list-jobs", [](auto& b) {
    auto p = b.template initRoot<Coordinator::ListJobsParams>();
    p.setState("running"), p.setName("j"), p.setLimit(3);
  });
  write(d, 2, "describe", [](auto& b) {
    b.template initRoot<Coordinator::DescribeJobParams>().setJobId("j-000001");
  });
  write(d, 3, "read-logs", [](auto& b) {
    auto p = b.template initRoot<Coordinator::ReadLogsParams>();
    p.setJobId("j-000001"), p.setStage("s"), p.setRank(1), p.setMaxBytes(1 << 30);
  });
  write(d, 4, "wait-node", [](auto& b) {
    auto p = b.template initRoot<Coordinator::WaitNodeParams>();
    p.setName("w1"), p.setState("ready"), p.setTimeoutMs(100);
  });
  write(d, 5, "set-node-state", [](auto& b) {
    auto p = b.template initRoot<Coordinator::SetNodeStateParams>();
    p.setName("w1"), p.setAction(Coordinator::NodeAction::DRAIN);
  });
  write(d, 6, "rendezvous-put", [](auto& b) {
    auto p = b.template initRoot<Coordinator::RendezvousPutParams>();
    auto s = p.initScope();
    s.setJobId("j-000001"), s.setStage("s"), s.setAttempt(2);
    p.setKey("nccl-id");
    p.setValue(kj::StringPtr("0123456789abcdef").asBytes());
  });
  node_inventory inv;
  inv.name = "w1", inv.hostname = "w1.local", inv.cpu_milli = 4000, inv.fabrics = {"tcp"};
  inv.labels = {{"zone", "a"}};
  write(d, 7, "register-worker", [&](auto& b) {
    auto p = b.template initRoot<Coordinator::RegisterWorkerParams>();
    p.setVersion(wire::PROTOCOL_VERSION);
    wc::to_wire(p.initInventory(), inv);
    wc::to_wire(p.initTasks(1)[0], task_report{"j-000001.s.0.0", 42, true, -1, ""});
  });
  write(d, 8, "task-exited", [](auto& b) {
    wc::to_wire(b.template initRoot<wire::TaskReport>(),
                task_report{"j-000001.s.0.0", 42, false, 137, "killed by signal 9"});
  });
  write(d, 9, "launch", [](auto& b) {
    task_spec t;
    t.task_id = "j-000001.s.0.0", t.job_id = "j-000001", t.stage = "s";
    t.command = {"run", "x"}, t.env = {{"GANTRY_RANK", "0"}}, t.gpus = {0, 1};
    wc::to_wire(b.template initRoot<wire::NodeAgent::LaunchParams>().initTask(), t);
  });
  write(d, 11, "list-jobs-results", [](auto& b) {
    auto jobs = b.template initRoot<Coordinator::ListJobsResults>().initJobs(2);
    job_summary s;
    s.id = "j-000001", s.name = "j";
    wc::to_wire(jobs[0], s);
    s.id = "j-000002";
    wc::to_wire(jobs[1], s);
  });
  write(d, 12, "list-nodes-results", [&](auto& b) {
    node_status n;
    n.inventory = inv;
    wc::to_wire(b.template initRoot<Coordinator::ListNodesResults>().initNodes(1)[0], n);
  });
  write(d, 13, "events", [](auto& b) {
    job_event e;
    e.job_id = "j-000001", e.seq = 3, e.kind = event_kind::rank, e.stage = "s", e.rank = 1;
    e.state = "running", e.node = "w1", e.pid = 42;
    wc::to_wire(b.template initRoot<wire::JobWatcher::EventsParams>().initEvents(1)[0], e);
  });
  write(d, 14, "read-logs-results", [](auto& b) {
    wc::set_log(b.template initRoot<Coordinator::ReadLogsResults>(),
                result<log_chunk>(log_chunk{"hello\n", 6, true}));
  });
  return 0;
}
