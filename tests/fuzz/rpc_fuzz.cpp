// libFuzzer harness for every RPC's decode-and-validate path: the first byte picks a message
// (a method's parameters, or a response a client or worker decodes), the rest is a Cap'n
// Proto message read under the limits a connection has before authentication (the
// coordinator's, protocol/connection_limits.hpp). The fields are decoded and validated as
// the adapters in protocol/ do, through the conversions of protocol/convert.cpp. A malformed
// message may raise a kj::Exception (the RPC system turns it into an error for the caller);
// anything else (a crash, a sanitizer report, an abort) is a bug.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/manifest.hpp"
#include "core/state.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/convert.hpp"
#include "protocol/job_filter.hpp"

namespace {
using namespace gantry;
namespace wc = wire_convert;
using wire::Coordinator;
using wire::NodeAgent;

std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

// Writes a decoded value as struct W again (the path every response takes), reads it back.
template <class T, class W>
void round_trip(const T& value) {
  capnp::MallocMessageBuilder b;
  wc::to_wire(b.initRoot<W>(), value);
  (void)wc::from_wire(b.getRoot<W>().asReader());
}

void decode(uint8_t which, capnp::MessageReader& m) {
  switch (which % 16) {
    case 0: {  // submit: the coordinator re-validates the whole manifest
      auto p = m.getRoot<Coordinator::SubmitParams>();
      (void)parse_manifest(text(p.getManifest()), 64 << 10);
      (void)text(p.getSourceName());
      break;
    }
    case 1: {  // listJobs
      auto p = m.getRoot<Coordinator::ListJobsParams>();
      job_filter f;
      f.name = text(p.getName());
      f.limit = p.getLimit();
      if (p.getState().size() > 0) f.state = parse_job_state(text(p.getState()));
      (void)select_jobs({}, f);
      break;
    }
    case 2:
      (void)text(m.getRoot<Coordinator::DescribeJobParams>().getJobId());
      (void)text(m.getRoot<Coordinator::CancelParams>().getJobId());
      break;
    case 3: {
      auto p = m.getRoot<Coordinator::ReadLogsParams>();
      (void)text(p.getJobId()), (void)text(p.getStage());
      (void)std::min(p.getMaxBytes(), kMaxLogChunk);
      break;
    }
    case 4: {
      auto p = m.getRoot<Coordinator::WaitNodeParams>();
      (void)parse_node_state(text(p.getState()));
      (void)text(p.getName());
      break;
    }
    case 5: {
      auto p = m.getRoot<Coordinator::SetNodeStateParams>();
      (void)text(p.getName()), (void)p.getAction();
      break;
    }
    case 6: {
      auto p = m.getRoot<Coordinator::RendezvousPutParams>();
      auto s = p.getScope();
      (void)text(s.getJobId()), (void)text(s.getStage()), (void)text(p.getKey());
      auto v = p.getValue();
      (void)std::string(reinterpret_cast<const char*>(v.begin()), v.size());
      break;
    }
    case 7: {  // registerWorker
      auto p = m.getRoot<Coordinator::RegisterWorkerParams>();
      node_inventory inv = wc::from_wire(p.getInventory());
      for (auto t : p.getTasks()) (void)wc::from_wire(t);
      round_trip<node_inventory, wire::Inventory>(inv);
      break;
    }
    case 8: {  // WorkerSession.taskExited
      task_report r = wc::from_wire(m.getRoot<wire::TaskReport>());
      round_trip<task_report, wire::TaskReport>(r);
      break;
    }
    case 9: {  // NodeAgent.launch, on the worker
      task_spec t = wc::from_wire(m.getRoot<NodeAgent::LaunchParams>().getTask());
      round_trip<task_spec, wire::TaskSpec>(t);
      break;
    }
    case 10: {  // describeJob's answer, on the client
      auto r = m.getRoot<Coordinator::DescribeJobResults>();
      (void)wc::from_wire(r.getStatus());
      job_record j = wc::from_wire(r.getJob());
      round_trip<job_record, wire::JobDetail>(j);
      break;
    }
    case 11: {  // listJobs' answer
      std::vector<job_summary> jobs;
      for (auto s : m.getRoot<Coordinator::ListJobsResults>().getJobs())
        jobs.push_back(wc::from_wire(s));
      (void)select_jobs(jobs, job_filter{});
      break;
    }
    case 12: {  // listNodes' answer
      for (auto n : m.getRoot<Coordinator::ListNodesResults>().getNodes()) {
        node_status s = wc::from_wire(n);
        round_trip<node_status, wire::NodeInfo>(s);
      }
      break;
    }
    case 13: {  // JobWatcher.events, on the client
      for (auto e : m.getRoot<wire::JobWatcher::EventsParams>().getEvents()) {
        job_event ev = wc::from_wire(e);
        round_trip<job_event, wire::JobEvent>(ev);
      }
      break;
    }
    case 14: {  // a log slice, on the client
      auto r = m.getRoot<Coordinator::ReadLogsResults>();
      (void)wc::log_from_wire(r);
      break;
    }
    default: {
      auto r = m.getRoot<Coordinator::RendezvousGetResults>();
      (void)wc::from_wire(r.getStatus());
      (void)r.getValue().size();
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 + sizeof(capnp::word)) return 0;
  // Cap'n Proto reads whole words from aligned memory, as the stream reader does.
  std::vector<capnp::word> words((size - 1) / sizeof(capnp::word));
  std::memcpy(words.data(), data + 1, words.size() * sizeof(capnp::word));
  capnp::ReaderOptions options;
  options.traversalLimitInWords = connection_limits{}.pre_auth_message_bytes / sizeof(capnp::word);
  kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader m(kj::arrayPtr(words.data(), words.size()), options);
    decode(data[0], m);
  });
  return 0;
}
