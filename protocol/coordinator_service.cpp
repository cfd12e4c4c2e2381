#include "protocol/coordinator_service.hpp"

#include <algorithm>
#include <atomic>

#include <kj/debug.h>

#include "protocol/convert.hpp"
#include "protocol/job_filter.hpp"

namespace gantry {
namespace wc = wire_convert;
namespace {

std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

// A watching client's JobWatcher, fed from the job actor's thread. Calls are chained so
// events arrive in order; the first failed call closes the sink.
class rpc_event_sink final : public event_sink {
 public:
  rpc_event_sink(std::shared_ptr<kj_mailbox> mailbox, wire::JobWatcher::Client watcher)
      : kj_(std::make_shared<kj_owned<kj_side>>(mailbox, kj_side{kj::mv(watcher)})),
        closed_(std::make_shared<std::atomic<bool>>(false)) {}

  void push(std::vector<job_event> events) override {
    if (closed()) return;
    auto side = kj_;
    auto closed = closed_;
    side->mailbox().post([side, closed, events = std::move(events)]() mutable {
      if (*closed) return;
      kj_side& s = side->get();
      auto req = s.watcher.eventsRequest();
      auto list = req.initEvents(events.size());
      for (unsigned i = 0; i < events.size(); ++i) wc::to_wire(list[i], events[i]);
      s.tail = kj::mv(s.tail)
                   .then([req = kj::mv(req)]() mutable { return req.send().ignoreResult(); })
                   .catch_([closed](kj::Exception&&) { *closed = true; })
                   .eagerlyEvaluate(nullptr);
    });
  }
  bool closed() const override { return *closed_; }
  void close() { *closed_ = true; }

 private:
  struct kj_side {  // lives and dies on the KJ thread
    wire::JobWatcher::Client watcher;
    kj::Promise<void> tail = kj::READY_NOW;
  };
  std::shared_ptr<kj_owned<kj_side>> kj_;
  std::shared_ptr<std::atomic<bool>> closed_;
};

// Dropping it (client gone, or done watching) closes the sink.
class subscription_impl final : public wire::Subscription::Server {
 public:
  explicit subscription_impl(std::shared_ptr<rpc_event_sink> sink) : sink_(std::move(sink)) {}
  ~subscription_impl() { sink_->close(); }

 private:
  std::shared_ptr<rpc_event_sink> sink_;
};

// The coordinator's handle on a worker's NodeAgent capability.
class rpc_task_agent final : public task_agent {
 public:
  rpc_task_agent(std::shared_ptr<kj_mailbox> mailbox, wire::NodeAgent::Client agent)
      : agent_(std::make_shared<kj_owned<wire::NodeAgent::Client>>(mailbox, kj::mv(agent))) {}

  void launch(task_spec task, callback<int64_t> done) override {
    auto agent = agent_;
    agent->mailbox().post([agent, task = std::move(task), done]() mutable {
      auto req = agent->get().launchRequest();
      wc::to_wire(req.initTask(), task);
      req.send()
          .then([done](auto resp) {
            auto st = wc::from_wire(resp.getStatus());
            if (!st) return done(std::unexpected(st.error()));
            done(resp.getPid());
          })
          .detach([done](kj::Exception&& e) { done(unreachable(e)); });
    });
  }

  void kill(std::string task_id, uint32_t grace_ms, callback<void> done) override {
    auto agent = agent_;
    agent->mailbox().post([agent, task_id = std::move(task_id), grace_ms, done]() mutable {
      auto req = agent->get().killRequest();
      req.setTaskId(task_id);
      req.setGraceMs(grace_ms);
      req.send()
          .then([done](auto resp) { done(wc::from_wire(resp.getStatus())); })
          .detach([done](kj::Exception&& e) { done(unreachable(e)); });
    });
  }

  void signal(std::string task_id, int32_t sig, callback<void> done) override {
    auto agent = agent_;
    agent->mailbox().post([agent, task_id = std::move(task_id), sig, done]() mutable {
      auto req = agent->get().signalRequest();
      req.setTaskId(task_id);
      req.setSignal(sig);
      req.send()
          .then([done](auto resp) { done(wc::from_wire(resp.getStatus())); })
          .detach([done](kj::Exception&& e) { done(unreachable(e)); });
    });
  }

  void reserve_port(callback<uint16_t> done) override {
    auto agent = agent_;
    agent->mailbox().post([agent, done]() mutable {
      agent->get()
          .reservePortRequest()
          .send()
          .then([done](auto resp) {
            auto st = wc::from_wire(resp.getStatus());
            if (!st) return done(std::unexpected(st.error()));
            done(resp.getPort());
          })
          .detach([done](kj::Exception&& e) { done(unreachable(e)); });
    });
  }

  void read_log(std::string task_id, uint64_t offset, uint32_t max_bytes,
                callback<log_chunk> done) override {
    auto agent = agent_;
    agent->mailbox().post([agent, task_id = std::move(task_id), offset, max_bytes, done]() mutable {
      auto req = agent->get().readLogRequest();
      req.setTaskId(task_id);
      req.setOffset(offset);
      req.setMaxBytes(max_bytes);
      req.send()
          .then([done](auto resp) { done(wc::log_from_wire(resp)); })
          .detach([done](kj::Exception&& e) { done(unreachable(e)); });
    });
  }

 private:
  static std::unexpected<error> unreachable(const kj::Exception& e) {
    return fail(errc::unavailable, std::string("worker unreachable: ") + e.getDescription().cStr());
  }
  std::shared_ptr<kj_owned<wire::NodeAgent::Client>> agent_;
};

// One registered worker connection. Its destruction (the worker dropped it, or the
// connection broke) is how the coordinator learns that a worker process went away.
class worker_session_impl final : public wire::WorkerSession::Server {
 public:
  explicit worker_session_impl(std::shared_ptr<worker_session_port> port)
      : port_(std::move(port)) {}
  ~worker_session_impl() { port_->disconnected(); }

 protected:
  kj::Promise<void> heartbeat(HeartbeatContext context) override {
    auto p = context.getParams();
    auto b = to_promise<void>();
    port_->heartbeat(heartbeat_info{p.getSeq(), p.getLagMs()}, std::move(b.fn));
    return b.promise.then(
        [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
  }
  kj::Promise<void> taskExited(TaskExitedContext context) override {
    port_->task_exited(wc::from_wire(context.getParams().getReport()));
    return kj::READY_NOW;
  }
  kj::Promise<void> checkpointCommitted(CheckpointCommittedContext context) override {
    auto p = context.getParams();
    port_->checkpoint_committed(text(p.getTaskId()), p.getStep());
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<worker_session_port> port_;
};

}  // namespace

coordinator_service::coordinator_service(coordinator_backend& backend,
                                         std::shared_ptr<kj_mailbox> mailbox)
    : backend_(backend), mailbox_(std::move(mailbox)) {}

kj::Promise<void> coordinator_service::hello(HelloContext context) {
  auto results = context.getResults();
  results.setServerVersion(wire::PROTOCOL_VERSION);
  if (context.getParams().getClientVersion() != wire::PROTOCOL_VERSION) {
    wc::to_wire(
        results.initStatus(),
        error{errc::version_mismatch,
              "client speaks protocol " + std::to_string(context.getParams().getClientVersion()) +
                  ", coordinator speaks " + std::to_string(wire::PROTOCOL_VERSION)});
  } else {
    wc::set_ok(results.initStatus());
  }
  return kj::READY_NOW;
}

kj::Promise<void> coordinator_service::submit(SubmitContext context) {
  auto b = to_promise<submit_reply>();
  auto params = context.getParams();
  backend_.submit(text(params.getManifest()), params.getAllowUnschedulable(), std::move(b.fn));
  return b.promise.then([context](result<submit_reply> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    if (!r->errors.empty()) {
      wc::to_wire(results.initStatus(), error::invalid("invalid manifest"));
      auto errs = results.initErrors(r->errors.size());
      for (unsigned i = 0; i < r->errors.size(); ++i) {
        errs[i].setPath(r->errors[i].path);
        errs[i].setMessage(r->errors[i].message);
      }
      return;
    }
    wc::set_ok(results.initStatus());
    results.setJobId(r->job_id);
  });
}

kj::Promise<void> coordinator_service::listJobs(ListJobsContext context) {
  auto p = context.getParams();
  job_filter filter;
  filter.name = text(p.getName());
  filter.limit = p.getLimit();
  if (p.getState().size() > 0) {
    filter.state = parse_job_state(text(p.getState()));
    if (!filter.state)
      kj::throwFatalException(KJ_EXCEPTION(FAILED, "unknown job state " + text(p.getState())));
  }
  auto b = to_promise<std::vector<job_summary>>();
  backend_.list_jobs(std::move(b.fn));
  return b.promise.then([context, filter](result<std::vector<job_summary>> r) mutable {
    if (!r) kj::throwFatalException(KJ_EXCEPTION(FAILED, r.error().message));
    auto jobs = select_jobs(std::move(*r), filter);
    auto list = context.getResults().initJobs(jobs.size());
    for (unsigned i = 0; i < jobs.size(); ++i) wc::to_wire(list[i], jobs[i]);
  });
}

kj::Promise<void> coordinator_service::describeJob(DescribeJobContext context) {
  auto b = to_promise<job_record>();
  backend_.describe_job(text(context.getParams().getJobId()), std::move(b.fn));
  return b.promise.then([context](result<job_record> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    wc::to_wire(results.initJob(), *r);
  });
}

kj::Promise<void> coordinator_service::listNodes(ListNodesContext context) {
  auto b = to_promise<std::vector<node_status>>();
  backend_.list_nodes(std::move(b.fn));
  return b.promise.then([context](result<std::vector<node_status>> r) mutable {
    if (!r) kj::throwFatalException(KJ_EXCEPTION(FAILED, r.error().message));
    auto list = context.getResults().initNodes(r->size());
    for (unsigned i = 0; i < r->size(); ++i) wc::to_wire(list[i], (*r)[i]);
  });
}

kj::Promise<void> coordinator_service::cancel(CancelContext context) {
  auto b = to_promise<void>();
  backend_.cancel(text(context.getParams().getJobId()), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::watch(WatchContext context) {
  auto params = context.getParams();
  auto sink = std::make_shared<rpc_event_sink>(mailbox_, params.getWatcher());
  auto b = to_promise<watch_reply>();
  backend_.watch(text(params.getJobId()), params.getFromSeq(), sink, std::move(b.fn));
  return b.promise.then([context, sink](result<watch_reply> r) mutable {
    auto results = context.getResults();
    if (!r) {
      sink->close();
      return wc::to_wire(results.initStatus(), r.error());
    }
    wc::set_ok(results.initStatus());
    results.setSubscription(kj::heap<subscription_impl>(sink));
    results.setState(to_string(r->state));
    results.setLastSeq(r->last_seq);
  });
}

kj::Promise<void> coordinator_service::readLogs(ReadLogsContext context) {
  auto p = context.getParams();
  auto b = to_promise<log_chunk>();
  backend_.read_logs(text(p.getJobId()), text(p.getStage()), p.getRank(), p.getAttempt(),
                     p.getOffset(), std::min(p.getMaxBytes(), kMaxLogChunk), std::move(b.fn));
  return b.promise.then(
      [context](result<log_chunk> r) mutable { wc::set_log(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::waitNode(WaitNodeContext context) {
  auto p = context.getParams();
  auto state = parse_node_state(text(p.getState()));
  if (!state) {
    wc::to_wire(context.getResults().initStatus(),
                error::invalid("unknown node state \"" + text(p.getState()) +
                               "\" (expected ready, lost, cordoned, draining or unknown)"));
    return kj::READY_NOW;
  }
  auto b = to_promise<node_status>();
  backend_.wait_node(text(p.getName()), *state, p.getTimeoutMs(), std::move(b.fn));
  return b.promise.then([context](result<node_status> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    wc::to_wire(results.initNode(), *r);
  });
}

kj::Promise<void> coordinator_service::setNodeState(SetNodeStateContext context) {
  auto p = context.getParams();
  node_action action = p.getAction() == wire::Coordinator::NodeAction::CORDON ? node_action::cordon
                       : p.getAction() == wire::Coordinator::NodeAction::UNCORDON
                           ? node_action::uncordon
                           : node_action::drain;
  auto b = to_promise<void>();
  backend_.set_node_state(text(p.getName()), action, std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

namespace {
rendezvous_scope scope_from(wire::RendezvousScope::Reader r) {
  return {text(r.getJobId()), text(r.getStage()), r.getAttempt()};
}
}  // namespace

kj::Promise<void> coordinator_service::rendezvousPut(RendezvousPutContext context) {
  auto p = context.getParams();
  auto data = p.getValue();
  auto b = to_promise<void>();
  backend_.rendezvous_put(scope_from(p.getScope()), text(p.getKey()),
                          std::string(reinterpret_cast<const char*>(data.begin()), data.size()),
                          std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::rendezvousGet(RendezvousGetContext context) {
  auto p = context.getParams();
  auto b = to_promise<std::string>();
  backend_.rendezvous_get(scope_from(p.getScope()), text(p.getKey()), p.getTimeoutMs(),
                          std::move(b.fn));
  return b.promise.then([context](result<std::string> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r->data()), r->size()));
  });
}

kj::Promise<void> coordinator_service::registerWorker(RegisterWorkerContext context) {
  auto p = context.getParams();
  if (p.getVersion() != wire::PROTOCOL_VERSION) {
    wc::to_wire(context.getResults().initStatus(),
                error{errc::version_mismatch,
                      "worker speaks protocol " + std::to_string(p.getVersion()) +
                          ", coordinator speaks " + std::to_string(wire::PROTOCOL_VERSION)});
    return kj::READY_NOW;
  }
  node_inventory inv = wc::from_wire(p.getInventory());
  if (inv.name.empty()) {
    wc::to_wire(context.getResults().initStatus(), error::invalid("inventory.name is empty"));
    return kj::READY_NOW;
  }
  std::vector<task_report> tasks;
  for (auto t : p.getTasks()) tasks.push_back(wc::from_wire(t));
  auto agent = std::make_shared<rpc_task_agent>(mailbox_, p.getAgent());
  auto b = to_promise<worker_registration>();
  backend_.register_worker(std::move(inv), std::move(tasks), agent, std::move(b.fn));
  return b.promise.then([context](result<worker_registration> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setSession(kj::heap<worker_session_impl>(r->session));
    results.setHeartbeatIntervalMs(r->heartbeat_interval_ms);
  });
}

}  // namespace gantry
