#pragma once
// One connection's limits while it lives: the largest message it may send now (small until
// it authenticates), and the deadline after which it is closed (auth_timeout_ms after it was
// accepted, until it authenticates; then idle_timeout_ms after its last whole message in or
// out). guarded_message_stream applies them to Cap'n Proto's reads and writes.
#include <capnp/serialize-async.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <string>

#include "protocol/connection_limits.hpp"

namespace gantry {

class connection_guard {
 public:
  connection_guard(const connection_limits& limits, kj::Timer& timer, std::string peer);
  connection_guard(const connection_guard&) = delete;
  connection_guard& operator=(const connection_guard&) = delete;

  const std::string& peer() const { return peer_; }
  // The peer proved who it is: the larger message limit and the idle deadline apply.
  void authenticated();
  bool is_authenticated() const { return authenticated_; }
  // Bytes the next message may have.
  uint64_t message_limit() const;
  // A whole message arrived or was sent: the idle deadline moves.
  void activity();
  // Resolves when the connection has to be closed: not authenticated in time, or idle too
  // long. why() then says which, with the limit.
  kj::Promise<void> expired();
  const std::string& why() const { return why_; }

 private:
  kj::Promise<void> check();

  connection_limits limits_;
  kj::Timer& timer_;
  // Wakes check() when the deadline moves earlier (on authentication: the idle timeout may be
  // shorter than what is left of the authentication deadline).
  kj::Own<kj::PromiseFulfiller<void>> rearm_;
  std::string peer_;
  kj::TimePoint accepted_;
  kj::TimePoint last_activity_;
  bool authenticated_ = false;
  std::string why_;
};

// A Cap'n Proto MessageStream over `stream` that enforces `guard`: a message larger than the
// guard's limit ends the connection before capnp allocates room for it (the limit is also
// the reader's traversal limit), and every whole message counts as activity. With
// first_message_authenticates, the first whole message calls guard.authenticated().
class guarded_message_stream final : public capnp::MessageStream {
 public:
  guarded_message_stream(kj::AsyncIoStream& stream, connection_guard& guard,
                         bool first_message_authenticates);

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratch) override;
  kj::Promise<void> writeMessage(
      kj::ArrayPtr<const int> fds,
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override;
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override;
  kj::Maybe<int> getSendBufferSize() override;
  kj::Promise<void> end() override;

  // Why the last read failed ("" when none did), for the log.
  const std::string& refusal() const { return refusal_; }

 private:
  capnp::AsyncIoMessageStream inner_;
  connection_guard& guard_;
  bool first_message_authenticates_;
  std::string refusal_;
};

}  // namespace gantry
