#pragma once
// The Cap'n Proto servers a connection gets for the credentials that are not a person's
// (protocol/secure_listener.hpp picks one): Join for the join token, WorkerGate for a node
// credential (the worker API, for its own node only), Rendezvous for a task credential (its
// own gang attempt's scope only). Thin adapters: the backend decides.
#include <memory>
#include <optional>
#include <string>

#include "core/coordinator_api.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/kj_bridge.hpp"

namespace gantry {

class join_service final : public wire::Join::Server {
 public:
  explicit join_service(coordinator_backend& backend) : backend_(backend) {}

 protected:
  kj::Promise<void> join(JoinContext context) override;

 private:
  coordinator_backend& backend_;
};

class worker_gate_service final : public wire::WorkerGate::Server {
 public:
  // `node`: the name the connection's credential is bound to; "" (--insecure): any.
  // REQUIRES: constructed on the KJ thread that `mailbox` belongs to.
  worker_gate_service(coordinator_backend& backend, std::shared_ptr<kj_mailbox> mailbox,
                      std::string node)
      : backend_(backend), mailbox_(std::move(mailbox)), node_(std::move(node)) {}

 protected:
  kj::Promise<void> registerWorker(RegisterWorkerContext context) override;

 private:
  coordinator_backend& backend_;
  std::shared_ptr<kj_mailbox> mailbox_;
  std::string node_;
};

class rendezvous_service final : public wire::Rendezvous::Server {
 public:
  // `task`: what the connection's task credential is bound to; nullopt (--insecure): any.
  rendezvous_service(coordinator_backend& backend, std::optional<task_ref> task)
      : backend_(backend), task_(std::move(task)) {}

 protected:
  kj::Promise<void> put(PutContext context) override;
  kj::Promise<void> get(GetContext context) override;
  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

 private:
  coordinator_backend& backend_;
  std::optional<task_ref> task_;
};

}  // namespace gantry
