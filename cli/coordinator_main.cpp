// `gantry coordinator`: the KJ thread serves Cap'n Proto; the logic runs in CAF actors.
#include <signal.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <cstdio>
#include <functional>
#include <iostream>

#include "actors/coordinator.hpp"
#include "actors/liveness.hpp"
#include "cli/commands.hpp"
#include "cli/runtime.hpp"
#include "core/log.hpp"
#include "protocol/client.hpp"
#include "protocol/coordinator_service.hpp"

namespace gantry::cli {

int run_coordinator(const coordinator_options& o) {
  set_log_identity("coordinator");
  if (o.data_dir.empty()) {
    std::cerr << "gantry coordinator: --data-dir is required (where the job store lives)\n";
    return kExitUsage;
  }
  if (auto ok = check_host_port(o.listen, /*allow_any_port=*/true); !ok) {
    std::cerr << "gantry coordinator: --listen: " << ok.error().message << "\n";
    return kExitUsage;
  }
  capture_stop_signals();  // before any thread exists
  auto io = kj::setupAsyncIo();
  auto sys = make_actor_system();

  coordinator_config config = o.config;
  config.pulse = std::make_shared<rpc_pulse>();
  auto coord = coordinator::open(*sys, o.data_dir, config);
  if (!coord) {
    log_error("cannot open the store in " + o.data_dir + ": " + coord.error().message);
    return coord.error().code == errc::unavailable ? kExitUnreachable : 1;
  }

  auto mailbox = std::make_shared<kj_mailbox>();
  kj::Own<kj::ConnectionReceiver> listener;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto addr = io.provider->getNetwork().parseAddress(o.listen).wait(io.waitScope);
                 listener = addr->listen();
               })) {
    log_error("cannot listen on " + o.listen + ": " + e->getDescription().cStr());
    return kExitUsage;
  }
  std::string host = o.listen.substr(0, o.listen.rfind(':'));
  std::string where = host + ":" + std::to_string(listener->getPort());
  // The first line on stdout says where to connect (gantry dev and tests read it).
  std::printf("gantry coordinator listening on %s\n", where.c_str());
  std::fflush(stdout);
  log_info("listening on " + where + ", store in " + o.data_dir);

  capnp::TwoPartyServer server(kj::heap<coordinator_service>((*coord)->api(), mailbox));
  auto serving = server.listen(*listener).eagerlyEvaluate([](kj::Exception&& e) {
    log_error(std::string("listener failed: ") + e.getDescription().cStr());
  });
  auto mail = mailbox->run().eagerlyEvaluate(nullptr);
  // The RPC loop's pulse: node actors hold their verdicts while it is stale.
  std::function<kj::Promise<void>()> beat = [&]() -> kj::Promise<void> {
    config.pulse->last_ns = liveness_cell::stamp(sys->clock().now());
    return io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([&] { return beat(); });
  };
  auto pulse = beat().eagerlyEvaluate(nullptr);
  int sig = wait_for_stop_signal(io);
  log_info(std::string("stopping on ") + strsignal(sig));
  mailbox->close();
  (*coord)->stop();
  std::fflush(nullptr);
  // Every acknowledged write is already synced; skip tearing down RPC objects whose
  // peers may still hold references.
  _exit(0);
}

}  // namespace gantry::cli
