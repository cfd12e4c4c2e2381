// Issue 9's attacks 6 and 7 on a real coordinator process: running it out of descriptors,
// pinning memory with announced frames (on plain TCP, inside a TLS session that sends no
// hello, and after authentication), and manifests that only the coordinator checks (the
// client library here skips the CLI's own validation).
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <chrono>
#include <thread>

#include <kj/async-io.h>

#include <cctype>
#include <fstream>
#include <functional>

#include "protocol/auth_frame.hpp"
#include "protocol/client.hpp"
#include "protocol/gantry.capnp.h"
#include "security/tls.hpp"
#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

// `gantry coordinator` under `ulimit -n fds` (soft and hard), on a port of its own.
// What 50 refused connections may add to the coordinator's RSS. The attack pinned ~40 MB per
// connection (2 GB for 50). Under the sanitizers, ASan's quarantine keeps freed blocks resident
// (up to 256 MB by default), so the bound there is looser but still far below the attack.
#ifdef GANTRY_SANITIZE
constexpr uint64_t kPinnedSlack = 160u << 20;
#else
constexpr uint64_t kPinnedSlack = 16u << 20;
#endif

struct limited_coordinator {
  limited_coordinator(int fds, const std::vector<std::string>& flags) : dir("hostile") {
    std::vector<std::string> args{"/bin/sh",
                                  "-c",
                                  "ulimit -n " + std::to_string(fds) + " && exec \"$0\" \"$@\"",
                                  bin("gantry"),
                                  "coordinator",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--data-dir",
                                  dir.path() + "/data",
                                  "--http-listen",
                                  "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    log = dir.path() + "/coordinator.log";
    p = std::make_unique<process>(args, log);
    std::string line = p->read_line(30000);
    INFO(read_file(log));
    REQUIRE(line.starts_with("gantry coordinator listening on "));
    address = line.substr(line.rfind(' ') + 1);
    port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }
  ~limited_coordinator() { p->stop(5000); }

  // Whether its log holds `text` within timeout_ms. It closes a connection first and logs
  // after, so a test that saw the close waits (with a deadline) for the line.
  bool logged(const std::string& text, int64_t timeout_ms = 10000) const {
    int64_t deadline = now_ms() + timeout_ms;
    while (read_file(log).find(text) == std::string::npos) {
      if (now_ms() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // An open TCP connection to it (blocking connect on loopback), or -1.
  int dial() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  // The coordinator's resident memory (VmRSS) or its peak so far (VmHWM), in bytes.
  uint64_t rss(const std::string& which = "VmRSS:") const {
    std::ifstream in("/proc/" + std::to_string(p->pid()) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(which)) return std::stoull(line.substr(which.size())) * 1024;
    return 0;
  }
  // The admin's credentials, as the coordinator's first start wrote them.
  gantry::client_credentials admin() const {
    gantry::client_credentials c;
    c.token = read_file(dir.path() + "/data/tokens/admin");
    while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.back())))
      c.token.pop_back();
    c.ca_file = ca_file();
    return c;
  }
  std::string ca_file() const { return dir.path() + "/data/tls/ca.crt"; }
  // A client that can submit and list within timeout_ms.
  bool serves(int timeout_ms = 20000) const {
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      auto c = gantry::client::connect(address, admin(), 2000);
      if (c && (*c)->list_jobs()) return true;
    }
    return false;
  }

  temp_dir dir;
  std::string log;
  std::unique_ptr<process> p;
  std::string address;
  uint16_t port = 0;
};

// True when the peer closed `fd` (EOF or reset) within timeout_ms.
bool closed_by_peer(int fd, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  char buf[4096];
  while (now_ms() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline - now_ms())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

// TLS sessions with a coordinator, as a real client opens them (its CA checked), driven by
// hand: what is sent inside is up to the test.
struct tls_sessions {
  explicit tls_sessions(const limited_coordinator& c) : address(c.address) {
    auto t = gantry::security::tls_client::from_ca_file(c.ca_file());
    REQUIRE(t);
    tls = std::make_unique<gantry::security::tls_client>(std::move(*t));
  }
  // A session that finished its handshake, nothing sent in it yet.
  kj::Own<kj::AsyncIoStream> open() {
    auto addr = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
    auto raw = addr->connect().wait(io.waitScope);
    return tls->wrap(kj::mv(raw), "127.0.0.1").wait(io.waitScope);
  }
  // A session that presented the admin token and was answered ok.
  kj::Own<kj::AsyncIoStream> authenticated(const std::string& token) {
    auto s = open();
    send(*s, gantry::encode(gantry::hello_frame{gantry::wire::PROTOCOL_VERSION,
                                                gantry::credential_kind::user, token}));
    auto answer = gantry::read_answer(*s).wait(io.waitScope);
    REQUIRE(answer);
    REQUIRE(answer->code == gantry::errc::ok);
    return s;
  }
  void send(kj::AsyncIoStream& s, const std::string& bytes) {
    s.write(bytes.data(), bytes.size()).wait(io.waitScope);
  }
  // True when the coordinator ended `s` (EOF or a broken session) within timeout_ms; what
  // it wrote before is read and dropped.
  bool closed_by_peer(kj::AsyncIoStream& s, int timeout_ms) {
    kj::byte buf[4096];
    std::function<kj::Promise<bool>()> drain = [&]() -> kj::Promise<bool> {
      return s.tryRead(buf, 1, sizeof buf)
          .then(
              [&](size_t n) -> kj::Promise<bool> {
                return n == 0 ? kj::Promise<bool>(true) : drain();
              },
              [](kj::Exception&&) -> kj::Promise<bool> { return true; });
    };
    auto late = io.provider->getTimer().afterDelay(timeout_ms * kj::MILLISECONDS).then([] {
      return false;
    });
    return drain().exclusiveJoin(kj::mv(late)).wait(io.waitScope);
  }

  std::string address;
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unique_ptr<gantry::security::tls_client> tls;
};

// A Cap'n Proto frame header announcing one 64 MB segment, and the first bytes of it.
std::string announced_64mb_frame() {
  uint32_t header[2] = {0, (64u << 20) / 8};
  return std::string(reinterpret_cast<const char*>(header), sizeof header) + "trickle!";
}

}  // namespace

// Opens n connections to c, closes them, and checks that c still serves.
void open_and_close(const limited_coordinator& c, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = c.dial();
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  INFO(read_file(c.log));
  // The ones over a limit are closed by the coordinator: the last one among them.
  CHECK(closed_by_peer(fds.back(), 10000));
  for (int fd : fds) ::close(fd);
  CHECK(c.serves());
  CHECK(c.p->running());
}

TEST_CASE("attack 6: 1,100 connections under ulimit -n 1024, then the coordinator serves") {
  // Default limits: one address may hold 256 connections.
  limited_coordinator c(1024, {});
  open_and_close(c, 1100);
  CHECK(
      c.logged("refusing a connection from 127.0.0.1: 256 connections from "
               "127.0.0.1 are open, the most one address may hold "
               "(--max-connections-per-peer 256)"));
}

TEST_CASE("attack 6 from one address allowed 5000: the total follows the descriptor limit") {
  // --max-connections 0 (the default) is the descriptor limit minus 256: the coordinator
  // refuses the excess itself and never runs out of descriptors.
  limited_coordinator c(1024, {"--max-connections-per-peer", "5000"});
  open_and_close(c, 1100);
  CHECK(
      c.logged("refusing a connection from 127.0.0.1: 768 connections are open, "
               "the most the coordinator accepts (--max-connections 768)"));
  CHECK(read_file(c.log).find("cannot accept connections") == std::string::npos);
}

TEST_CASE("attack 6 without the guard: EMFILE bursts are survived, accepting resumes") {
#ifdef GANTRY_SANITIZE
  // The sanitized coordinator cannot be starved of descriptors: UBSan's vptr check opens a pipe
  // to probe memory and, with none left, reports every virtual call as invalid
  // ("member call on address ... which does not point to an object of type ...") and halts.
  // The normal build runs this attack.
  MESSAGE("skipped under the sanitizers: they need free descriptors themselves");
  return;
#endif
  // A connection limit above the descriptor limit: accept() itself fails with EMFILE.
  limited_coordinator c(1024, {"--max-connections", "5000", "--max-connections-per-peer", "5000"});
  std::vector<int> fds;
  for (int i = 0; i < 1100; ++i) {
    int fd = c.dial();
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  int64_t deadline = now_ms() + 20000;
  while (read_file(c.log).find("cannot accept connections") == std::string::npos &&
         now_ms() < deadline)
    closed_by_peer(fds.front(), 100);  // waits on the clock's behalf, bounded
  INFO(read_file(c.log));
  CHECK(c.logged("cannot accept connections"));
  for (int fd : fds) ::close(fd);
  CHECK(c.serves());
  std::string log = read_file(c.log);
  CHECK(log.find("accepting connections again after ") != std::string::npos);
  // Logged once per burst, not once per failed accept.
  size_t lines = 0;
  for (size_t at = 0; (at = log.find("cannot accept connections", at)) != std::string::npos; ++at)
    ++lines;
  CHECK(lines <= 10);
}

TEST_CASE("attack 7: 50 connections announcing 64 MB frames pin no memory") {
  // On plain TCP: the coordinator expects a TLS handshake first, so the frame never reaches
  // a Cap'n Proto parser.
  limited_coordinator c(4096, {});
  REQUIRE(c.serves());
  uint64_t before = c.rss();
  std::vector<int> fds;
  std::string frame = announced_64mb_frame();
  for (int i = 0; i < 50; ++i) {
    int fd = c.dial();
    REQUIRE(fd >= 0);
    REQUIRE(::send(fd, frame.data(), 8, MSG_NOSIGNAL) == 8);
    REQUIRE(::send(fd, frame.data() + 8, 8, MSG_NOSIGNAL) == 8);
    fds.push_back(fd);
  }
  int closed = 0;
  for (int fd : fds) closed += closed_by_peer(fd, 10000) ? 1 : 0;
  uint64_t during = c.rss("VmHWM:");  // the peak while it read the 50 headers
  uint64_t after = c.rss();
  for (int fd : fds) ::close(fd);
  MESSAGE("RSS before " << before / 1024 << " KiB, peak " << during / 1024 << " KiB, after "
                        << after / 1024 << " KiB");
  INFO(read_file(c.log));
  CHECK(closed == 50);
  CHECK(during < before + kPinnedSlack);  // was ~40 MB per connection
  CHECK(after < before + kPinnedSlack);
  CHECK(c.logged("refusing the connection from 127.0.0.1 before authentication"));
  CHECK(c.serves());
}

TEST_CASE("attack 7 inside a valid TLS session that sends no hello: refused, no memory pinned") {
  limited_coordinator c(4096, {});
  REQUIRE(c.serves());
  uint64_t before = c.rss(), during = 0, after = 0;
  int closed = 0;
  {
    tls_sessions t(c);  // its event loop ends before serves() makes its own
    std::vector<kj::Own<kj::AsyncIoStream>> sessions;
    for (int i = 0; i < 50; ++i) {
      sessions.push_back(t.open());
      t.send(*sessions.back(), announced_64mb_frame());
    }
    for (auto& s : sessions) closed += t.closed_by_peer(*s, 10000) ? 1 : 0;
    during = c.rss("VmHWM:");
    after = c.rss();
  }
  MESSAGE("RSS before " << before / 1024 << " KiB, peak " << during / 1024 << " KiB, after "
                        << after / 1024 << " KiB");
  INFO(read_file(c.log));
  CHECK(closed == 50);
  CHECK(during < before + kPinnedSlack);
  CHECK(after < before + kPinnedSlack);
  CHECK(
      c.logged("refusing the connection from 127.0.0.1 before authentication: "
               "invalid argument: not a gantry hello frame"));
  CHECK(c.serves());
}

TEST_CASE("a TLS session that sends nothing is closed after --auth-timeout-ms") {
  limited_coordinator c(4096, {"--auth-timeout-ms", "1000"});
  tls_sessions t(c);
  int64_t start = now_ms();
  auto s = t.open();
  CHECK(t.closed_by_peer(*s, 20000));
  CHECK(now_ms() - start >= 900);  // not at once (KJ's timer may fire a little early)
  INFO(read_file(c.log));
  CHECK(
      c.logged("refusing the connection from 127.0.0.1 before authentication: "
               "not authenticated within 1000 ms (--auth-timeout-ms)"));
}

TEST_CASE("after the hello, a frame beyond --max-message-bytes closes the connection") {
  limited_coordinator c(4096, {});
  {
    tls_sessions t(c);  // its event loop ends before serves() makes its own
    auto s = t.authenticated(c.admin().token);
    t.send(*s, announced_64mb_frame());
    CHECK(t.closed_by_peer(*s, 10000));
  }
  INFO(read_file(c.log));
  CHECK(
      c.logged("message too large: the coordinator accepts at most 8MiB per "
               "message (--max-message-bytes)"));
  CHECK(c.serves());
}

TEST_CASE("the coordinator re-validates manifests: size cap and alias bomb") {
  limited_coordinator c(4096, {"--max-manifest-bytes", "65536"});
  auto cl = gantry::client::connect(c.address, c.admin());
  REQUIRE(cl);
  std::string minimal = "name: j\nstages:\n  - name: s\n    command: [run]\n";
  auto big = (*cl)->submit(minimal + "# " + std::string(70000, 'x') + "\n", "big.yaml");
  REQUIRE(big);
  REQUIRE(big->errors.size() == 1);
  CHECK(big->errors[0].message.find("at most 65536 (64KiB) are accepted (the coordinator's "
                                    "--max-manifest-bytes)") != std::string::npos);
  std::string bomb = "name: j\nx: &b \"" + std::string(30000, 'a') +
                     "\"\nstages:\n"
                     "  - name: s\n    command: [run]\n    env:\n";
  for (int i = 0; i < 100; ++i) bomb += "      V" + std::to_string(i) + ": *b\n";
  uint64_t before = c.rss();
  auto refused = (*cl)->submit(bomb, "bomb.yaml");
  REQUIRE(refused);
  REQUIRE(refused->errors.size() == 1);
  CHECK(
      refused->errors[0].message.starts_with("the manifest's YAML aliases expand it beyond 64KiB"));
  CHECK(c.rss() < before + (16u << 20));
  auto ok = (*cl)->submit(minimal, "ok.yaml");
  REQUIRE(ok);
  CHECK(ok->errors.empty());
  CHECK_FALSE(ok->job_id.empty());
}
