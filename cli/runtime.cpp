#include "cli/runtime.hpp"

#include <signal.h>

#include <kj/async-unix.h>

namespace gantry::cli {

void capture_stop_signals() {
  signal(SIGPIPE, SIG_IGN);
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
}

int wait_for_stop_signal(kj::AsyncIoContext& io) {
  auto term = io.unixEventPort.onSignal(SIGTERM).then([](siginfo_t) { return SIGTERM; });
  auto intr = io.unixEventPort.onSignal(SIGINT).then([](siginfo_t) { return SIGINT; });
  return term.exclusiveJoin(kj::mv(intr)).wait(io.waitScope);
}

std::unique_ptr<caf::actor_system> make_actor_system() {
  static caf::actor_system_config cfg;  // must outlive the system
  cfg.set("scheduler.max-threads", 2);
  // One shared queue with a condition variable: idle threads sleep instead of polling
  // (CAF's default work stealing spins, which costs an idle coordinator ~15% of a core).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return std::make_unique<caf::actor_system>(cfg);
}

}  // namespace gantry::cli
