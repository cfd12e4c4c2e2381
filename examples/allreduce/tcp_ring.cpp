#include "examples/allreduce/tcp_ring.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "examples/allreduce/bounded_wait.hpp"

namespace gantry::example {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr int32_t kMagic = 0x47524e47;  // "GRNG": a ring connection of this example
constexpr int kSliceMs = 10;            // the longest a step waits for a socket event

struct handshake {
  int32_t magic;
  int32_t rank;
  int32_t world;
};

std::string sys_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

int mod(int a, int w) {
  return ((a % w) + w) % w;
}

// A scope guard for a socket until it is handed over.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

outcome<int> listen_any(int& port) {
  fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return failure(sys_error("ring: socket"));
  int one = 1;
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return failure(sys_error("ring: bind"));
  if (::listen(s.fd, 16) != 0) return failure(sys_error("ring: listen"));
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return failure(sys_error("ring: getsockname"));
  port = ntohs(addr.sin_port);
  return s.release();
}

// Connects to "HOST:PORT", retrying until the deadline (the peer may still be starting).
outcome<int> connect_to(const std::string& address, clock_type::time_point deadline) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return failure("ring: bad peer address \"" + address + "\" (expected HOST:PORT)");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  std::string last = "timed out";
  do {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      last = std::string("cannot resolve: ") + ::gai_strerror(rc);
    } else {
      for (addrinfo* a = found; a; a = a->ai_next) {
        fd_guard s{::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol)};
        if (s.fd < 0) continue;
        if (::connect(s.fd, a->ai_addr, a->ai_addrlen) == 0) {
          ::freeaddrinfo(found);
          return s.release();
        }
        last = std::strerror(errno);
      }
      ::freeaddrinfo(found);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (clock_type::now() < deadline);
  return failure("ring: cannot connect to " + address + ": " + last);
}

// Reads or writes exactly `n` bytes on a blocking socket, giving up at the deadline.
bool transfer_all(int fd, void* buf, size_t n, bool write, clock_type::time_point deadline) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    pollfd pfd{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t k = write ? ::send(fd, p, n, MSG_NOSIGNAL) : ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// One step of accepting the predecessor: a connection that carries the handshake of
// `want_rank` in this world ends it (into `accepted`); others are dropped.
step_status accept_step(int listen_fd, int want_rank, int world, clock_type::time_point deadline,
                        int& accepted) {
  pollfd pfd{listen_fd, POLLIN, 0};
  if (::poll(&pfd, 1, kSliceMs) <= 0) return {};
  fd_guard s{::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC)};
  if (s.fd < 0) return {};
  handshake h{};
  if (!transfer_all(s.fd, &h, sizeof h, false, deadline)) return {};
  if (h.magic != kMagic || h.rank != want_rank || h.world != world) return {};
  accepted = s.release();
  return {step_state::done, ""};
}

uint32_t ms_until(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() > 0 ? static_cast<uint32_t>(left.count()) : 0;
}

void set_stream_options(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

std::string advertise_address(const std::string& peer_host) {
  if (!peer_host.empty()) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(peer_host.c_str(), "9", &hints, &found) == 0) {
      // Connecting a UDP socket sends nothing; it only picks the route and its source.
      fd_guard s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
      sockaddr_in local{};
      socklen_t len = sizeof local;
      char text[INET_ADDRSTRLEN] = "";
      bool ok = s.fd >= 0 && ::connect(s.fd, found->ai_addr, found->ai_addrlen) == 0 &&
                ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
                ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text) != nullptr;
      ::freeaddrinfo(found);
      if (ok) return text;
    }
  }
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) != 0 || !*host) return "127.0.0.1";
  return host;
}

tcp_ring::tcp_ring(int rank, int world, uint32_t timeout_ms)
    : rank_(rank), world_(world), timeout_ms_(timeout_ms) {}

tcp_ring::~tcp_ring() {
  if (send_fd_ >= 0) ::close(send_fd_);
  if (recv_fd_ >= 0) ::close(recv_fd_);
}

outcome<std::unique_ptr<tcp_ring>> tcp_ring::join(int rank, int world, rendezvous& rdv,
                                                  const ring_options& options) {
  std::unique_ptr<tcp_ring> ring(new tcp_ring(rank, world, options.timeout_ms));
  if (world == 1) return ring;
  auto deadline = clock_type::now() + std::chrono::milliseconds(options.timeout_ms);
  int port = 0;
  auto listener = listen_any(port);
  if (!listener) return std::unexpected(listener.error());
  fd_guard listen_fd{*listener};
  std::string me = options.advertise_host + ":" + std::to_string(port);
  if (auto put = rdv.put("ring/" + std::to_string(rank), me); !put)
    return std::unexpected(put.error());
  int successor = mod(rank + 1, world), predecessor = mod(rank - 1, world);
  auto address = rdv.get("ring/" + std::to_string(successor), options.timeout_ms);
  if (!address) return std::unexpected(address.error());
  // Connecting first cannot deadlock: every rank listens before it publishes its address,
  // so the connection completes in the successor's backlog before it accepts.
  auto out = connect_to(*address, deadline);
  if (!out) return std::unexpected(out.error());
  ring->send_fd_ = *out;
  handshake h{kMagic, rank, world};
  if (!transfer_all(ring->send_fd_, &h, sizeof h, true, deadline))
    return failure("ring: handshake with rank " + std::to_string(successor) + " at " + *address +
                   " failed");
  auto in = wait_for_step(
      [&] { return accept_step(listen_fd.fd, predecessor, world, deadline, ring->recv_fd_); },
      ms_until(deadline), "ring: waiting for rank " + std::to_string(predecessor) + " to connect");
  if (!in) return std::unexpected(in.error());
  set_stream_options(ring->send_fd_);
  set_stream_options(ring->recv_fd_);
  return ring;
}

outcome<void> tcp_ring::exchange(std::span<const float> send, std::span<float> recv) {
  const char* out = reinterpret_cast<const char*>(send.data());
  char* in = reinterpret_cast<char*>(recv.data());
  size_t sent = 0, got = 0, to_send = send.size_bytes(), to_recv = recv.size_bytes();
  int successor = mod(rank_ + 1, world_), predecessor = mod(rank_ - 1, world_);
  auto failed = [](std::string why) { return step_status{step_state::failed, std::move(why)}; };
  auto step = [&]() -> step_status {
    if (sent == to_send && got == to_recv) return {step_state::done, ""};
    pollfd fds[2];
    int n = 0, si = -1, ri = -1;
    if (sent < to_send) fds[si = n++] = {send_fd_, POLLOUT, 0};
    if (got < to_recv) fds[ri = n++] = {recv_fd_, POLLIN, 0};
    int ready = ::poll(fds, n, kSliceMs);
    if (ready < 0 && errno != EINTR) return failed(sys_error("poll"));
    if (ready <= 0) return {};
    if (si >= 0 && fds[si].revents) {
      ssize_t k = ::send(send_fd_, out + sent, to_send - sent, MSG_NOSIGNAL);
      if (k < 0 && errno != EAGAIN && errno != EINTR)
        return failed(sys_error("sending to rank " + std::to_string(successor)));
      if (k > 0) sent += static_cast<size_t>(k);
    }
    if (ri >= 0 && fds[ri].revents) {
      ssize_t k = ::recv(recv_fd_, in + got, to_recv - got, 0);
      if (k == 0) return failed("rank " + std::to_string(predecessor) + " closed the connection");
      if (k < 0 && errno != EAGAIN && errno != EINTR)
        return failed(sys_error("receiving from rank " + std::to_string(predecessor)));
      if (k > 0) got += static_cast<size_t>(k);
    }
    return sent == to_send && got == to_recv ? step_status{step_state::done, ""} : step_status{};
  };
  return wait_for_step(step, timeout_ms_,
                       "ring: rank " + std::to_string(rank_) + " exchanging with ranks " +
                           std::to_string(successor) + " and " + std::to_string(predecessor));
}

void tcp_ring::abort() {
  if (send_fd_ >= 0) ::shutdown(send_fd_, SHUT_RDWR);
  if (recv_fd_ >= 0) ::shutdown(recv_fd_, SHUT_RDWR);
}

outcome<double> tcp_ring::allreduce_sum(std::span<float> data) {
  if (world_ == 1) return 0.0;
  auto start = clock_type::now();
  const size_t n = data.size();
  scratch_.resize(n / world_ + 1);
  auto chunk = [&](int c) {
    auto [b, e] = chunk_bounds(n, world_, mod(c, world_));
    return data.subspan(b, e - b);
  };
  // Reduce-scatter: after step k, chunk rank-k-1 holds the sum of k+2 ranks' values; at the
  // end this rank holds the full sum of chunk rank+1.
  for (int k = 0; k + 1 < world_; ++k) {
    auto dst = chunk(rank_ - k - 1);
    std::span<float> incoming(scratch_.data(), dst.size());
    if (auto r = exchange(chunk(rank_ - k), incoming); !r) return std::unexpected(r.error());
    for (size_t i = 0; i < dst.size(); ++i) dst[i] += incoming[i];
  }
  // All-gather: pass the complete chunks around the ring, received in place.
  for (int k = 0; k + 1 < world_; ++k)
    if (auto r = exchange(chunk(rank_ + 1 - k), chunk(rank_ - k)); !r)
      return std::unexpected(r.error());
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace gantry::example
