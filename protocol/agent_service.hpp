#pragma once
// The worker's NodeAgent server: forwards the coordinator's launch/kill/readLog calls to
// the worker's task_agent (its supervisor actor).
#include "core/ports.hpp"
#include "protocol/gantry.capnp.h"

namespace gantry {

class agent_service final : public wire::NodeAgent::Server {
 public:
  explicit agent_service(task_agent& agent) : agent_(agent) {}

 protected:
  kj::Promise<void> launch(LaunchContext context) override;
  kj::Promise<void> kill(KillContext context) override;
  kj::Promise<void> readLog(ReadLogContext context) override;
  kj::Promise<void> reservePort(ReservePortContext context) override;
  kj::Promise<void> signal(SignalContext context) override;

 private:
  task_agent& agent_;
};

}  // namespace gantry
