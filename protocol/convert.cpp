#include "protocol/convert.hpp"

#include <string>

namespace gantry::wire_convert {
namespace {

std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

template <class List, class Fn>
void fill_list(List builder, const auto& items, Fn fn) {
  for (unsigned i = 0; i < items.size(); ++i) fn(builder[i], items[i]);
}

}  // namespace

wire::Status::Code to_code(errc c) {
  switch (c) {
    case errc::ok:
      return wire::Status::Code::OK;
    case errc::invalid_argument:
      return wire::Status::Code::INVALID_ARGUMENT;
    case errc::not_found:
      return wire::Status::Code::NOT_FOUND;
    case errc::already_exists:
      return wire::Status::Code::ALREADY_EXISTS;
    case errc::unavailable:
      return wire::Status::Code::UNAVAILABLE;
    case errc::io_error:
      return wire::Status::Code::IO_ERROR;
    case errc::timeout:
      return wire::Status::Code::TIMEOUT;
    case errc::internal:
      return wire::Status::Code::INTERNAL;
    case errc::version_mismatch:
      return wire::Status::Code::VERSION_MISMATCH;
    case errc::failed_precondition:
      return wire::Status::Code::FAILED_PRECONDITION;
    case errc::unauthenticated:
      return wire::Status::Code::UNAUTHENTICATED;
    case errc::permission_denied:
      return wire::Status::Code::PERMISSION_DENIED;
  }
  return wire::Status::Code::INTERNAL;
}

errc to_errc(wire::Status::Code c) {
  switch (c) {
    case wire::Status::Code::OK:
      return errc::ok;
    case wire::Status::Code::INVALID_ARGUMENT:
      return errc::invalid_argument;
    case wire::Status::Code::NOT_FOUND:
      return errc::not_found;
    case wire::Status::Code::ALREADY_EXISTS:
      return errc::already_exists;
    case wire::Status::Code::UNAVAILABLE:
      return errc::unavailable;
    case wire::Status::Code::IO_ERROR:
      return errc::io_error;
    case wire::Status::Code::TIMEOUT:
      return errc::timeout;
    case wire::Status::Code::INTERNAL:
      return errc::internal;
    case wire::Status::Code::VERSION_MISMATCH:
      return errc::version_mismatch;
    case wire::Status::Code::FAILED_PRECONDITION:
      return errc::failed_precondition;
    case wire::Status::Code::UNAUTHENTICATED:
      return errc::unauthenticated;
    case wire::Status::Code::PERMISSION_DENIED:
      return errc::permission_denied;
  }
  return errc::internal;  // a newer peer's code we do not know
}

void to_wire(wire::Status::Builder b, const error& e) {
  b.setCode(to_code(e.code));
  b.setMessage(e.message);
}

void set_ok(wire::Status::Builder b) {
  b.setCode(wire::Status::Code::OK);
}

result<void> from_wire(wire::Status::Reader r) {
  if (r.getCode() == wire::Status::Code::OK) return {};
  return fail(to_errc(r.getCode()), text(r.getMessage()));
}

void to_wire(wire::Inventory::Builder b, const node_inventory& inv) {
  b.setName(inv.name);
  b.setHostname(inv.hostname);
  b.setCpuMilli(inv.cpu_milli);
  b.setMemoryBytes(inv.memory_bytes);
  fill_list(b.initGpus(inv.gpus.size()), inv.gpus, [](auto g, const gpu_info& v) {
    g.setIndex(v.index);
    g.setModel(v.model);
    g.setMemoryBytes(v.memory_bytes);
    g.setNvlinkGroup(v.nvlink_group);
    g.setNumaNode(v.numa_node);
    g.setUuid(v.uuid);
    g.setSimulated(v.simulated);
  });
  fill_list(b.initDpus(inv.dpus.size()), inv.dpus, [](auto d, const dpu_info& v) {
    d.setIndex(v.index);
    d.setModel(v.model);
    d.setSimulated(v.simulated);
  });
  auto fabrics = b.initFabrics(inv.fabrics.size());
  for (unsigned i = 0; i < inv.fabrics.size(); ++i) fabrics.set(i, inv.fabrics[i]);
  b.setGpuSharing(inv.gpu_sharing);
  auto labels = b.initLabels(inv.labels.size());
  unsigned i = 0;
  for (const auto& [k, v] : inv.labels) {
    labels[i].setKey(k);
    labels[i].setValue(v);
    ++i;
  }
  b.setIsolation(inv.isolation);
}

node_inventory from_wire(wire::Inventory::Reader r) {
  node_inventory inv;
  inv.name = text(r.getName());
  inv.hostname = text(r.getHostname());
  inv.cpu_milli = r.getCpuMilli();
  inv.memory_bytes = r.getMemoryBytes();
  for (auto g : r.getGpus()) {
    inv.gpus.push_back({g.getIndex(), text(g.getModel()), g.getMemoryBytes(), g.getNvlinkGroup(),
                        g.getNumaNode(), text(g.getUuid()), g.getSimulated()});
  }
  for (auto d : r.getDpus())
    inv.dpus.push_back({d.getIndex(), text(d.getModel()), d.getSimulated()});
  for (auto f : r.getFabrics()) inv.fabrics.push_back(text(f));
  for (auto kv : r.getLabels()) inv.labels[text(kv.getKey())] = text(kv.getValue());
  if (r.hasGpuSharing() && r.getGpuSharing().size() > 0) inv.gpu_sharing = text(r.getGpuSharing());
  inv.isolation = text(r.getIsolation());
  return inv;
}

void to_wire(wire::TaskSpec::Builder b, const task_spec& t) {
  b.setTaskId(t.task_id);
  b.setJobId(t.job_id);
  b.setJobName(t.job_name);
  b.setStage(t.stage);
  b.setRank(t.rank);
  b.setWorldSize(t.world_size);
  b.setAttempt(t.attempt);
  auto cmd = b.initCommand(t.command.size());
  for (unsigned i = 0; i < t.command.size(); ++i) cmd.set(i, t.command[i]);
  fill_list(b.initEnv(t.env.size()), t.env, [](auto kv, const auto& p) {
    kv.setKey(p.first);
    kv.setValue(p.second);
  });
  b.setWorkingDir(t.working_dir);
  b.setCpuMilli(t.cpu_milli);
  auto gpus = b.initGpus(t.gpus.size());
  for (unsigned i = 0; i < t.gpus.size(); ++i) gpus.set(i, t.gpus[i]);
  b.setGpuMilli(t.gpu_milli);
  b.setGpuMemoryBytes(t.gpu_memory_bytes);
  b.setFabric(t.fabric);
  b.setCheckpointDir(t.checkpoint_dir);
  b.setRestoreStep(t.restore_step);
  b.setTaskToken(t.task_token);
  b.setMemoryBytes(t.memory_bytes);
  b.setOwner(t.owner);
  b.setTimeLimitMs(t.time_limit_ms);
  if (t.gang) {
    const gang_coordinates& g = *t.gang;
    auto w = b.initGang();
    w.setLocalRank(g.local_rank);
    w.setLocalWorldSize(g.local_world_size);
    w.setGroupRank(g.group_rank);
    w.setGroupWorldSize(g.group_world_size);
    w.setMasterAddr(g.master_addr);
    w.setMasterPort(g.master_port);
    w.setMaxRestarts(g.max_restarts);
    auto scope = w.initRendezvous();
    scope.setJobId(g.rendezvous.job_id);
    scope.setStage(g.rendezvous.stage);
    scope.setAttempt(g.rendezvous.attempt);
  }
}

task_spec from_wire(wire::TaskSpec::Reader r) {
  task_spec t;
  t.task_id = text(r.getTaskId());
  t.job_id = text(r.getJobId());
  t.job_name = text(r.getJobName());
  t.stage = text(r.getStage());
  t.rank = r.getRank();
  t.world_size = r.getWorldSize();
  t.attempt = r.getAttempt();
  for (auto c : r.getCommand()) t.command.push_back(text(c));
  for (auto kv : r.getEnv()) t.env.emplace_back(text(kv.getKey()), text(kv.getValue()));
  t.working_dir = text(r.getWorkingDir());
  t.cpu_milli = r.getCpuMilli();
  for (auto g : r.getGpus()) t.gpus.push_back(g);
  t.gpu_milli = r.getGpuMilli();
  t.gpu_memory_bytes = r.getGpuMemoryBytes();
  t.fabric = text(r.getFabric());
  t.checkpoint_dir = text(r.getCheckpointDir());
  t.restore_step = r.getRestoreStep();
  t.task_token = text(r.getTaskToken());
  t.memory_bytes = r.getMemoryBytes();
  t.owner = text(r.getOwner());
  t.time_limit_ms = r.getTimeLimitMs();
  if (r.hasGang()) {
    auto w = r.getGang();
    gang_coordinates g;
    g.local_rank = w.getLocalRank();
    g.local_world_size = w.getLocalWorldSize();
    g.group_rank = w.getGroupRank();
    g.group_world_size = w.getGroupWorldSize();
    g.master_addr = text(w.getMasterAddr());
    g.master_port = w.getMasterPort();
    g.max_restarts = w.getMaxRestarts();
    auto scope = w.getRendezvous();
    g.rendezvous = {text(scope.getJobId()), text(scope.getStage()), scope.getAttempt()};
    t.gang = std::move(g);
  }
  return t;
}

void to_wire(wire::TaskUsage::Builder b, const task_usage& u) {
  b.setPeakMemoryBytes(u.peak_memory_bytes);
  b.setCpuUsec(u.cpu_usec);
  b.setWallMs(u.wall_ms);
}

task_usage from_wire(wire::TaskUsage::Reader r) {
  return {r.getPeakMemoryBytes(), r.getCpuUsec(), r.getWallMs()};
}

void to_wire(wire::TaskReport::Builder b, const task_report& t) {
  b.setTaskId(t.task_id);
  b.setPid(t.pid);
  b.setRunning(t.running);
  b.setExitCode(t.exit_code);
  b.setMessage(t.message);
  to_wire(b.initUsage(), t.usage);
  b.setTimeLimitExceeded(t.time_limit_exceeded);
}

task_report from_wire(wire::TaskReport::Reader r) {
  return {text(r.getTaskId()),     r.getPid(),           r.getRunning(),
          r.getExitCode(),         text(r.getMessage()), from_wire(r.getUsage()),
          r.getTimeLimitExceeded()};
}

void to_wire(wire::JobEvent::Builder b, const job_event& e) {
  b.setJobId(e.job_id);
  b.setSeq(e.seq);
  b.setTimeMs(e.time_ms);
  b.setKind(e.kind == event_kind::job     ? wire::JobEvent::Kind::JOB
            : e.kind == event_kind::stage ? wire::JobEvent::Kind::STAGE
                                          : wire::JobEvent::Kind::RANK);
  b.setStage(e.stage);
  b.setRank(e.rank);
  b.setState(e.state);
  b.setNode(e.node);
  b.setPid(e.pid);
  b.setExitCode(e.exit_code);
  b.setAttempt(e.attempt);
  b.setMessage(e.message);
  to_wire(b.initUsage(), e.usage);
}

job_event from_wire(wire::JobEvent::Reader r) {
  job_event e;
  e.job_id = text(r.getJobId());
  e.seq = r.getSeq();
  e.time_ms = r.getTimeMs();
  e.kind = r.getKind() == wire::JobEvent::Kind::JOB     ? event_kind::job
           : r.getKind() == wire::JobEvent::Kind::STAGE ? event_kind::stage
                                                        : event_kind::rank;
  e.stage = text(r.getStage());
  e.rank = r.getRank();
  e.state = text(r.getState());
  e.node = text(r.getNode());
  e.pid = r.getPid();
  e.exit_code = r.getExitCode();
  e.attempt = r.getAttempt();
  e.message = text(r.getMessage());
  e.usage = from_wire(r.getUsage());
  return e;
}

void to_wire(wire::JobSummary::Builder b, const job_summary& s) {
  b.setId(s.id);
  b.setName(s.name);
  b.setState(to_string(s.state));
  b.setPriority(s.priority);
  b.setRestarts(s.restarts);
  b.setSubmittedMs(s.submitted_ms);
  b.setFinishedMs(s.finished_ms);
  b.setReason(s.reason);
  b.setPendingReason(s.pending_reason);
  b.setOwner(s.owner);
  b.setQueue(s.queue);
}

job_summary from_wire(wire::JobSummary::Reader r) {
  job_summary s;
  s.id = text(r.getId());
  s.name = text(r.getName());
  s.state = parse_job_state(text(r.getState())).value_or(job_state::pending);
  s.priority = r.getPriority();
  s.restarts = r.getRestarts();
  s.submitted_ms = r.getSubmittedMs();
  s.finished_ms = r.getFinishedMs();
  s.reason = text(r.getReason());
  s.pending_reason = text(r.getPendingReason());
  s.owner = text(r.getOwner());
  s.queue = text(r.getQueue());
  return s;
}

void to_wire(wire::JobDetail::Builder b, const job_record& job) {
  to_wire(b.initSummary(), summarize(job));
  b.setLastEventSeq(job.last_event_seq);
  auto stages = b.initStages(job.stages.size());
  for (unsigned i = 0; i < job.stages.size(); ++i) {
    const stage_record& st = job.stages[i];
    auto sb = stages[i];
    sb.setName(st.name);
    sb.setState(to_string(st.state));
    sb.setReason(st.reason);
    sb.setCheckpointStep(st.checkpoint_step);
    sb.setRestarts(st.restarts);
    if (const stage_spec* spec = job.spec.find_stage(st.name)) {
      sb.setDevice(to_string(spec->device));
      auto after = sb.initAfter(spec->after.size());
      for (unsigned a = 0; a < spec->after.size(); ++a) after.set(a, spec->after[a]);
    }
    fill_list(sb.initRanks(st.ranks.size()), st.ranks, [](auto rb, const rank_record& rk) {
      rb.setRank(rk.rank);
      rb.setState(to_string(rk.state));
      rb.setNode(rk.node);
      rb.setPid(rk.pid);
      rb.setAttempt(rk.attempt);
      auto gpus = rb.initGpus(rk.gpus.size());
      for (unsigned g = 0; g < rk.gpus.size(); ++g) gpus.set(g, rk.gpus[g]);
      rb.setGpuMilli(rk.gpu_milli);
      rb.setExitCode(rk.exit_code);
      rb.setReason(rk.reason);
      rb.setTaskId(rk.task_id);
      to_wire(rb.initUsage(), rk.usage);
    });
  }
}

namespace {
template <class E>
E parse_enum(const std::string& s, std::initializer_list<E> all, E fallback) {
  for (E v : all)
    if (s == to_string(v)) return v;
  return fallback;
}
}  // namespace

job_record from_wire(wire::JobDetail::Reader r) {
  job_summary s = from_wire(r.getSummary());
  job_record job;
  job.id = s.id;
  job.owner = s.owner;
  job.spec.name = s.name;
  job.spec.queue = s.queue;
  job.spec.priority = s.priority;
  job.state = s.state;
  job.reason = s.reason;
  job.restarts = s.restarts;
  job.submitted_ms = s.submitted_ms;
  job.finished_ms = s.finished_ms;
  job.last_event_seq = r.getLastEventSeq();
  for (auto sr : r.getStages()) {
    stage_spec spec;
    spec.name = text(sr.getName());
    spec.device =
        parse_enum(text(sr.getDevice()), {device_kind::cpu, device_kind::gpu, device_kind::dpu},
                   device_kind::cpu);
    for (auto a : sr.getAfter()) spec.after.push_back(text(a));
    stage_record st;
    st.name = spec.name;
    st.state = parse_enum(text(sr.getState()),
                          {stage_state::waiting, stage_state::pending, stage_state::running,
                           stage_state::succeeded, stage_state::failed, stage_state::cancelled},
                          stage_state::waiting);
    st.reason = text(sr.getReason());
    st.checkpoint_step = sr.getCheckpointStep();
    st.restarts = sr.getRestarts();
    for (auto rr : sr.getRanks()) {
      rank_record rk;
      rk.rank = rr.getRank();
      rk.state = parse_enum(text(rr.getState()),
                            {rank_state::pending, rank_state::starting, rank_state::running,
                             rank_state::succeeded, rank_state::failed, rank_state::cancelled},
                            rank_state::pending);
      rk.node = text(rr.getNode());
      rk.pid = rr.getPid();
      rk.attempt = rr.getAttempt();
      for (auto g : rr.getGpus()) rk.gpus.push_back(g);
      rk.gpu_milli = rr.getGpuMilli();
      rk.exit_code = rr.getExitCode();
      rk.reason = text(rr.getReason());
      rk.task_id = text(rr.getTaskId());
      rk.usage = from_wire(rr.getUsage());
      st.ranks.push_back(std::move(rk));
    }
    spec.replicas = static_cast<int32_t>(st.ranks.size());
    job.spec.stages.push_back(std::move(spec));
    job.stages.push_back(std::move(st));
  }
  return job;
}

void to_wire(wire::NodeInfo::Builder b, const node_status& n) {
  to_wire(b.initInventory(), n.inventory);
  auto gpus = b.getInventory().getGpus();
  for (unsigned i = 0; i < gpus.size() && i < n.gpu_allocated_milli.size(); ++i)
    gpus[i].setAllocatedMilli(n.gpu_allocated_milli[i]);
  b.setState(to_string(n.state));
  b.setAllocatedCpuMilli(n.allocated_cpu_milli);
  b.setAllocatedMemoryBytes(n.allocated_memory_bytes);
  b.setTasks(n.tasks);
  b.setLastSeenMsAgo(n.last_seen_ms_ago);
  b.setReason(n.reason);
}

node_status from_wire(wire::NodeInfo::Reader r) {
  node_status n;
  n.inventory = from_wire(r.getInventory());
  for (auto g : r.getInventory().getGpus()) n.gpu_allocated_milli.push_back(g.getAllocatedMilli());
  n.state = parse_node_state(text(r.getState())).value_or(node_state::unknown);
  n.allocated_cpu_milli = r.getAllocatedCpuMilli();
  n.allocated_memory_bytes = r.getAllocatedMemoryBytes();
  n.tasks = r.getTasks();
  n.last_seen_ms_ago = r.getLastSeenMsAgo();
  n.reason = text(r.getReason());
  return n;
}

void to_wire(wire::TokenInfo::Builder b, const token_info& t) {
  b.setId(t.id);
  b.setUser(t.user);
  b.setRole(t.role);
  b.setCreatedMs(t.created_ms);
  b.setExpiresMs(t.expires_ms);
  b.setNode(t.node);
}

token_info from_wire(wire::TokenInfo::Reader r) {
  return {text(r.getId()),  text(r.getUser()), text(r.getRole()),
          r.getCreatedMs(), r.getExpiresMs(),  text(r.getNode())};
}

namespace {
void quota_to_wire(wire::QueueQuota::Builder b, const queue_quota& q) {
  b.setCpuMilli(q.cpu_milli);
  b.setMemoryBytes(q.memory_bytes);
  b.setGpuMilli(q.gpu_milli);
}
queue_quota quota_from_wire(wire::QueueQuota::Reader r) {
  return {r.getCpuMilli(), r.getMemoryBytes(), r.getGpuMilli()};
}
}  // namespace

void to_wire(wire::QueueInfo::Builder b, const queue_info& q) {
  b.setName(q.name);
  quota_to_wire(b.initGuarantee(), q.guarantee);
  quota_to_wire(b.initLimit(), q.limit);
  b.setWeight(q.weight);
  quota_to_wire(b.initUsage(), q.usage);
  quota_to_wire(b.initBorrowed(), q.borrowed);
  b.setPendingJobs(q.pending_jobs);
  b.setPendingRequests(q.pending_requests);
  b.setRunning(q.running);
  b.setPreempted(q.preempted);
}

queue_info from_wire(wire::QueueInfo::Reader r) {
  queue_info q;
  q.name = text(r.getName());
  q.guarantee = quota_from_wire(r.getGuarantee());
  q.limit = quota_from_wire(r.getLimit());
  q.weight = r.getWeight();
  q.usage = quota_from_wire(r.getUsage());
  q.borrowed = quota_from_wire(r.getBorrowed());
  q.pending_jobs = r.getPendingJobs();
  q.pending_requests = r.getPendingRequests();
  q.running = r.getRunning();
  q.preempted = r.getPreempted();
  return q;
}

}  // namespace gantry::wire_convert
