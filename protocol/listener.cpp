#include "protocol/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>

namespace gantry {

connection_counter::slot::slot(connection_counter& c, std::string peer)
    : counter_(c), peer_(std::move(peer)) {
  ++counter_.open_;
  ++counter_.per_peer_[peer_];
}

connection_counter::slot::~slot() {
  --counter_.open_;
  auto it = counter_.per_peer_.find(peer_);
  if (it != counter_.per_peer_.end() && --it->second == 0) counter_.per_peer_.erase(it);
}

std::unique_ptr<connection_counter::slot> connection_counter::admit(const std::string& peer,
                                                                    std::string& why) {
  if (open_ >= max_total_) {
    why = std::to_string(open_) + " connections are open, the most the coordinator accepts " +
          "(--max-connections " + std::to_string(max_total_) + ")";
    return nullptr;
  }
  if (open_from(peer) >= max_per_peer_) {
    why = std::to_string(open_from(peer)) + " connections from " + peer +
          " are open, the most one address may hold (--max-connections-per-peer " +
          std::to_string(max_per_peer_) + ")";
    return nullptr;
  }
  return std::make_unique<slot>(*this, peer);
}

size_t connection_counter::open_from(const std::string& peer) const {
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

uint32_t effective_max_connections(const connection_limits& limits) {
  if (limits.max_connections > 0) return limits.max_connections;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 65536;
  uint64_t room = rl.rlim_cur > connection_limits::kReservedFds
                      ? rl.rlim_cur - connection_limits::kReservedFds
                      : 0;
  return static_cast<uint32_t>(std::clamp<uint64_t>(room, 16, 1u << 20));
}

uint64_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur;
}

std::string peer_address(kj::AsyncIoStream& stream) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  bool ok = true;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions(
                      [&] { stream.getpeername(reinterpret_cast<sockaddr*>(&ss), &len); })) {
    ok = false;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (ok && ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (ok && ss.ss_family == AF_INET6) {
    auto* a = &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      inet_ntop(AF_INET, &a->s6_addr[12], buf, sizeof buf);
      return buf;
    }
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    return buf;
  }
  return "local";
}

// A connection's own failure (a reset, a protocol error) concerns that peer only.
class listener::error_logger final : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& e) override {
    log_debug(std::string("connection ended: ") + e.getDescription().cStr());
  }
};

result<std::unique_ptr<listener>> listener::open(kj::AsyncIoContext& io, const std::string& address,
                                                 const connection_limits& limits) {
  kj::Own<kj::ConnectionReceiver> receiver;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto addr = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
                 receiver = addr->listen();
               })) {
    return fail(errc::unavailable,
                "cannot listen on " + address + ": " + e->getDescription().cStr());
  }
  return std::make_unique<listener>(kj::mv(receiver), io.provider->getTimer(), limits);
}

listener::listener(kj::Own<kj::ConnectionReceiver> receiver, kj::Timer& timer,
                   const connection_limits& limits)
    : receiver_(kj::mv(receiver)),
      timer_(timer),
      counter_(effective_max_connections(limits), limits.max_connections_per_peer),
      errors_(kj::heap<error_logger>()),
      connections_(kj::heap<kj::TaskSet>(*errors_)) {}

listener::~listener() {
  connections_ = nullptr;  // every connection (and its slot) goes before the counter
}

uint16_t listener::port() {
  return static_cast<uint16_t>(receiver_->getPort());
}

kj::Promise<void> listener::run(std::function<kj::Promise<void>(accepted_connection)> serve) {
  serve_ = std::move(serve);
  return accept_next();
}

kj::Promise<void> listener::accept_next() {
  // kj's accept() calls accept4() at once and throws EMFILE from there: evalNow turns that
  // into a rejected promise like any later failure.
  return kj::evalNow([this] { return receiver_->accept(); })
      .then(
          [this](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<void> {
            if (burst_failures_ > 0) {
              log_info("accepting connections again after " + std::to_string(burst_failures_) +
                       " failed attempts over " + std::to_string(now_ms() - burst_started_ms_) +
                       " ms (" + std::to_string(counter_.open()) + " connections open)");
              burst_failures_ = 0;
              backoff_ms_ = 0;
            }
            std::string peer = peer_address(*stream);
            std::string why;
            auto slot = counter_.admit(peer, why);
            if (!slot) {
              refusals_.warn("refusing a connection from " + peer + ": " + why, now_ms());
              return accept_next();  // `stream` closes here
            }
            connections_->add(serve_(accepted_connection{kj::mv(stream), peer, std::move(slot)}));
            return accept_next();
          },
          [this](kj::Exception&& e) { return accept_failed(kj::mv(e)); });
}

// EMFILE and ENFILE (kj: OVERLOADED) pass when connections close; anything else on a
// listening socket is as likely to. Either way: log the burst's first failure, wait, retry.
kj::Promise<void> listener::accept_failed(kj::Exception&& e) {
  ++failed_accepts_;
  backoff_ms_ = backoff_ms_ == 0 ? 10 : std::min<uint32_t>(backoff_ms_ * 2, 1000);
  if (burst_failures_++ == 0) {
    burst_started_ms_ = now_ms();
    log_warn(std::string("cannot accept connections: ") + e.getDescription().cStr() + " (" +
             std::to_string(counter_.open()) +
             " connections open); retrying with a backoff of up to 1 s");
  }
  return timer_.afterDelay(backoff_ms_ * kj::MILLISECONDS).then([this] { return accept_next(); });
}

}  // namespace gantry
