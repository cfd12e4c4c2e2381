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

}  // namespace

coordinator_service::coordinator_service(coordinator_backend& backend,
                                         std::shared_ptr<kj_mailbox> mailbox, caller who)
    : backend_(backend), mailbox_(std::move(mailbox)), who_(std::move(who)) {}

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
  backend_.submit(who_, text(params.getManifest()), params.getAllowUnschedulable(),
                  std::move(b.fn));
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
  backend_.list_jobs(who_, std::move(b.fn));
  return b.promise.then([context, filter](result<std::vector<job_summary>> r) mutable {
    if (!r) kj::throwFatalException(KJ_EXCEPTION(FAILED, r.error().message));
    auto jobs = select_jobs(std::move(*r), filter);
    auto list = context.getResults().initJobs(jobs.size());
    for (unsigned i = 0; i < jobs.size(); ++i) wc::to_wire(list[i], jobs[i]);
  });
}

kj::Promise<void> coordinator_service::describeJob(DescribeJobContext context) {
  auto b = to_promise<job_record>();
  backend_.describe_job(who_, text(context.getParams().getJobId()), std::move(b.fn));
  return b.promise.then([context](result<job_record> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    wc::to_wire(results.initJob(), *r);
  });
}

kj::Promise<void> coordinator_service::listNodes(ListNodesContext context) {
  auto b = to_promise<std::vector<node_status>>();
  backend_.list_nodes(who_, std::move(b.fn));
  return b.promise.then([context](result<std::vector<node_status>> r) mutable {
    if (!r) kj::throwFatalException(KJ_EXCEPTION(FAILED, r.error().message));
    auto list = context.getResults().initNodes(r->size());
    for (unsigned i = 0; i < r->size(); ++i) wc::to_wire(list[i], (*r)[i]);
  });
}

kj::Promise<void> coordinator_service::cancel(CancelContext context) {
  auto b = to_promise<void>();
  backend_.cancel(who_, text(context.getParams().getJobId()), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::watch(WatchContext context) {
  auto params = context.getParams();
  auto sink = std::make_shared<rpc_event_sink>(mailbox_, params.getWatcher());
  auto b = to_promise<watch_reply>();
  backend_.watch(who_, text(params.getJobId()), params.getFromSeq(), sink, std::move(b.fn));
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
  backend_.read_logs(who_, text(p.getJobId()), text(p.getStage()), p.getRank(), p.getAttempt(),
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
  backend_.wait_node(who_, text(p.getName()), *state, p.getTimeoutMs(), std::move(b.fn));
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
  backend_.set_node_state(who_, text(p.getName()), action, std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

}  // namespace gantry

namespace gantry {

kj::Promise<void> coordinator_service::removeNode(RemoveNodeContext context) {
  auto b = to_promise<void>();
  backend_.remove_node(who_, text(context.getParams().getName()), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::createToken(CreateTokenContext context) {
  auto p = context.getParams();
  token_request request;
  request.user = text(p.getUser());
  request.ttl_ms = p.getTtlMs();
  std::string role = text(p.getRole());
  if (role == "admin") {
    request.role = caller_role::admin;
  } else if (role != "user" && !role.empty()) {
    wc::to_wire(context.getResults().initStatus(),
                error::invalid("unknown role \"" + role + "\" (expected user or admin)"));
    return kj::READY_NOW;
  }
  if (request.user.empty() || request.ttl_ms < 0) {
    wc::to_wire(context.getResults().initStatus(),
                error::invalid(request.user.empty() ? "a token needs a user name"
                                                    : "a token's time to live is not negative"));
    return kj::READY_NOW;
  }
  auto b = to_promise<std::string>();
  backend_.create_token(who_, std::move(request), std::move(b.fn));
  return b.promise.then([context](result<std::string> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setToken(*r);
  });
}

kj::Promise<void> coordinator_service::listTokens(ListTokensContext context) {
  auto b = to_promise<std::vector<token_info>>();
  backend_.list_tokens(who_, std::move(b.fn));
  return b.promise.then([context](result<std::vector<token_info>> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    auto list = results.initTokens(r->size());
    for (unsigned i = 0; i < r->size(); ++i) wc::to_wire(list[i], (*r)[i]);
  });
}

kj::Promise<void> coordinator_service::revokeToken(RevokeTokenContext context) {
  auto b = to_promise<void>();
  backend_.revoke_token(who_, text(context.getParams().getId()), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::whoami(WhoamiContext context) {
  context.getResults().setUser(who_.user);
  context.getResults().setRole(to_string(who_.role));
  return kj::READY_NOW;
}

kj::Promise<void> coordinator_service::setQueue(SetQueueContext context) {
  auto p = context.getParams();
  queue_change change;
  change.name = text(p.getName());
  change.create = p.getCreate();
  if (p.getGuarantee().size() > 0) change.guarantee = text(p.getGuarantee());
  if (p.getLimit().size() > 0) change.limit = text(p.getLimit());
  if (p.getWeight() != 0) change.weight = p.getWeight();
  auto b = to_promise<void>();
  backend_.set_queue(who_, std::move(change), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::deleteQueue(DeleteQueueContext context) {
  auto b = to_promise<void>();
  backend_.delete_queue(who_, text(context.getParams().getName()), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> coordinator_service::listQueues(ListQueuesContext context) {
  auto b = to_promise<std::vector<queue_info>>();
  backend_.list_queues(who_, std::move(b.fn));
  return b.promise.then([context](result<std::vector<queue_info>> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    auto list = results.initQueues(r->size());
    for (unsigned i = 0; i < r->size(); ++i) wc::to_wire(list[i], (*r)[i]);
  });
}

}  // namespace gantry
