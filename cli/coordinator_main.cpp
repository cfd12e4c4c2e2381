// `gantry coordinator`: the KJ thread serves Cap'n Proto; the logic runs in CAF actors.
#include <signal.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>

#include "actors/coordinator.hpp"
#include "actors/liveness.hpp"
#include "cli/commands.hpp"
#include "cli/runtime.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/coordinator_http.hpp"
#include "protocol/client.hpp"
#include "protocol/listener.hpp"
#include "protocol/secure_listener.hpp"
#include "security/credential_files.hpp"
#include "security/server_names.hpp"
#include "security/tls.hpp"

namespace gantry::cli {
namespace {

// Whether `host` (the listen address's host part) only reaches this machine.
bool is_loopback_host(std::string host) {
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

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
  if (o.http_listen != "off") {
    if (auto ok = check_host_port(o.http_listen, /*allow_any_port=*/true); !ok) {
      std::cerr << "gantry coordinator: --http-listen: " << ok.error().message << " (or off)\n";
      return kExitUsage;
    }
  }
  if (o.config.max_manifest_bytes + (64 << 10) > o.limits.max_message_bytes) {
    std::cerr << "gantry coordinator: --max-manifest-bytes " << o.config.max_manifest_bytes
              << " does not fit in a message of --max-message-bytes " << o.limits.max_message_bytes
              << " (leave 64 KiB for the rest of the request); raise --max-message-bytes\n";
    return kExitUsage;
  }
  std::string listen_host = o.listen.substr(0, o.listen.rfind(':'));
  if (o.insecure) {
    if (!is_loopback_host(listen_host)) {
      std::cerr << "gantry coordinator: --insecure listens on loopback only (127.0.0.1, ::1, "
                   "localhost), not "
                << listen_host
                << ": without TLS and tokens anyone who reaches the port owns "
                   "the cluster\n";
      return kExitUsage;
    }
    std::string http_host = o.http_listen.substr(0, o.http_listen.rfind(':'));
    if (o.http_listen != "off" && !is_loopback_host(http_host)) {
      std::cerr << "gantry coordinator: --insecure serves HTTP on loopback only (127.0.0.1, ::1, "
                   "localhost), not "
                << http_host << " (--http-listen " << o.http_listen << "; or off)\n";
      return kExitUsage;
    }
    log_warn(
        "INSECURE: --insecure is for debugging only: no TLS, no tokens, every connection "
        "is admin");
  }
  coordinator_credentials_in creds;
  std::optional<security::tls_server> tls;
  if (!o.insecure) {
    std::string host = listen_host == "*" ? "0.0.0.0" : listen_host;
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    auto names = security::coordinator_server_names(host, o.advertise, security::local_hostname());
    if (!names) {
      std::cerr << "gantry coordinator: " << names.error().message << "\n";
      return kExitUsage;
    }
    auto loaded = security::ensure_coordinator_credentials(o.data_dir, *names, now_ms());
    if (!loaded) {
      log_error("credentials in " + o.data_dir + ": " + loaded.error().message);
      return 1;
    }
    const auto& c = *loaded;
    log_info(std::string(c.ca_created ? "created" : "loaded") + " the cluster CA " +
             c.paths.ca_cert.string() + " (" + c.ca_fingerprint + "); admin token in " +
             c.paths.admin_token.string() + ", join token in " + c.paths.join_token.string());
    if (!c.server_cert_issued.empty())
      log_info("issued " + c.paths.server_cert.string() + ": " + c.server_cert_issued);
    auto server = security::tls_server::create(c.server_cert_pem, c.server_key_pem);
    if (!server) {
      log_error("TLS: " + server.error().message);
      return 1;
    }
    tls.emplace(std::move(*server));
    creds.admin_token = c.admin_token;
    creds.join_token = c.join_token;
  }
  creds.insecure = o.insecure;
  capture_stop_signals();  // before any thread exists
  auto io = kj::setupAsyncIo();
  auto sys = make_actor_system();

  coordinator_config config = o.config;
  config.pulse = std::make_shared<rpc_pulse>();
  config.metrics = std::make_shared<coordinator_metrics>();
  auto coord = coordinator::open(*sys, o.data_dir, config, creds);
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

  http::server_options hopts;
  if (tls) {
    hopts.tls = &*tls;
    hopts.auth = http::coordinator_authenticator((*coord)->api());
  }
  hopts.limits = o.limits;
  auto web = http::start(io, o.http_listen,
                         http::coordinator_routes((*coord)->api(), config.metrics), hopts);
  if (!web) {
    log_error("--http-listen: " + web.error().message + " (another port, or off)");
    return kExitUsage;
  }
  std::string web_url = (*web)->address.empty() ? std::string("off")
                                                : (tls ? "https://" : "http://") + (*web)->address;
  // The first line on stdout says where to connect (gantry dev and tests read it), the
  // second where HTTP is served ("off" when it is not).
  std::printf("gantry coordinator listening on %s\n", where.c_str());
  std::printf("gantry coordinator serving HTTP on %s\n", web_url.c_str());
  std::fflush(stdout);
  log_info("listening on " + where + ", HTTP on " + web_url + ", store in " + o.data_dir +
           "; at most " + std::to_string(accepting.counter().max_total()) + " connections (" +
           std::to_string(accepting.counter().max_per_peer()) + " per address; " +
           "RLIMIT_NOFILE " + std::to_string(fds) + ")");

  listener_options lopts;
  if (tls) lopts.tls = &*tls;
  lopts.limits = o.limits;
  secure_listener server((*coord)->api(), mailbox, io.provider->getTimer(), lopts);
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
