#include "protocol/worker_services.hpp"

#include "protocol/convert.hpp"

namespace gantry {
namespace wc = wire_convert;
namespace {

std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

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

rendezvous_scope scope_from(wire::RendezvousScope::Reader r) {
  return {text(r.getJobId()), text(r.getStage()), r.getAttempt()};
}

}  // namespace

kj::Promise<void> join_service::join(JoinContext context) {
  std::string name = text(context.getParams().getName());
  if (name.empty()) {
    wc::to_wire(context.getResults().initStatus(), error::invalid("a node name is required"));
    return kj::READY_NOW;
  }
  auto b = to_promise<std::string>();
  backend_.join(std::move(name), std::move(b.fn));
  return b.promise.then([context](result<std::string> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setCredential(*r);
  });
}

kj::Promise<void> worker_gate_service::registerWorker(RegisterWorkerContext context) {
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
  backend_.register_worker(node_, std::move(inv), std::move(tasks), agent, std::move(b.fn));
  return b.promise.then([context](result<worker_registration> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setSession(kj::heap<worker_session_impl>(r->session));
    results.setHeartbeatIntervalMs(r->heartbeat_interval_ms);
  });
}

kj::Promise<void> rendezvous_service::put(PutContext context) {
  auto p = context.getParams();
  auto data = p.getValue();
  auto b = to_promise<void>();
  backend_.rendezvous_put(task_, scope_from(p.getScope()), text(p.getKey()),
                          std::string(reinterpret_cast<const char*>(data.begin()), data.size()),
                          std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> rendezvous_service::get(GetContext context) {
  auto p = context.getParams();
  auto b = to_promise<std::string>();
  backend_.rendezvous_get(task_, scope_from(p.getScope()), text(p.getKey()), p.getTimeoutMs(),
                          std::move(b.fn));
  return b.promise.then([context](result<std::string> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r->data()), r->size()));
  });
}

}  // namespace gantry
