// `gantry coordinator`: the KJ thread serves Cap'n Proto; the logic runs in CAF actors.
#include <signal.h>

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
#include "protocol/listener.hpp"
#include "protocol/rpc_server.hpp"

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
  if (o.config.max_manifest_bytes + (64 << 10) > o.limits.max_message_bytes) {
    std::cerr << "gantry coordinator: --max-manifest-bytes " << o.config.max_manifest_bytes
              << " does not fit in a message of --max-message-bytes " << o.limits.max_message_bytes
              << " (leave 64 KiB for the rest of the request); raise --max-message-bytes\n";
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
  uint64_t fds = raise_fd_limit();
  auto listening = listener::open(io, o.listen, o.limits);
  if (!listening) {
    log_error(listening.error().message);
    return kExitUsage;
  }
  auto& accepting = **listening;
  std::string host = o.listen.substr(0, o.listen.rfind(':'));
  std::string where = host + ":" + std::to_string(accepting.port());
  // The first line on stdout says where to connect (gantry dev and tests read it).
  std::printf("gantry coordinator listening on %s\n", where.c_str());
  std::fflush(stdout);
  log_info("listening on " + where + ", store in " + o.data_dir + "; at most " +
           std::to_string(accepting.counter().max_total()) + " connections (" +
           std::to_string(accepting.counter().max_per_peer()) + " per address; " +
           "RLIMIT_NOFILE " + std::to_string(fds) + ")");

  // Until token authentication exists, a connection's first whole message authenticates it.
  rpc_server server(kj::heap<coordinator_service>((*coord)->api(), mailbox),
                    io.provider->getTimer(), o.limits, /*first_message_authenticates=*/true);
  auto serving = accepting.run([&](accepted_connection c) { return server.serve(kj::mv(c)); })
                     .eagerlyEvaluate(nullptr);
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
