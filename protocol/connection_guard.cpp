#include "protocol/connection_guard.hpp"

#include "core/quantity.hpp"

namespace gantry {

connection_guard::connection_guard(const connection_limits& limits, kj::Timer& timer,
                                   std::string peer)
    : limits_(limits),
      timer_(timer),
      peer_(std::move(peer)),
      accepted_(timer.now()),
      last_activity_(accepted_) {}

void connection_guard::authenticated() {
  if (authenticated_) return;
  authenticated_ = true;
  last_activity_ = timer_.now();
  if (rearm_) rearm_->fulfill();
}

uint64_t connection_guard::message_limit() const {
  return authenticated_ ? limits_.max_message_bytes : limits_.pre_auth_message_bytes;
}

void connection_guard::activity() {
  last_activity_ = timer_.now();
}

kj::Promise<void> connection_guard::expired() {
  return check();
}

kj::Promise<void> connection_guard::check() {
  uint32_t timeout_ms = authenticated_ ? limits_.idle_timeout_ms : limits_.auth_timeout_ms;
  if (timeout_ms == 0) return kj::NEVER_DONE;  // no idle timeout (auth_timeout_ms is never 0)
  kj::TimePoint deadline =
      (authenticated_ ? last_activity_ : accepted_) + timeout_ms * kj::MILLISECONDS;
  if (timer_.now() >= deadline) {
    why_ = authenticated_ ? "idle for " + std::to_string(timeout_ms) + " ms (--idle-timeout-ms)"
                          : "not authenticated within " + std::to_string(timeout_ms) +
                                " ms (--auth-timeout-ms)";
    return kj::READY_NOW;
  }
  // Activity meanwhile moves the deadline later: the next check sees it. Authenticating may
  // move it earlier: it wakes this wait.
  auto rearm = kj::newPromiseAndFulfiller<void>();
  rearm_ = kj::mv(rearm.fulfiller);
  return timer_.atTime(deadline).exclusiveJoin(kj::mv(rearm.promise)).then([this] {
    return check();
  });
}

guarded_message_stream::guarded_message_stream(kj::AsyncIoStream& stream, connection_guard& guard,
                                               bool first_message_authenticates)
    : inner_(stream), guard_(guard), first_message_authenticates_(first_message_authenticates) {}

kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> guarded_message_stream::tryReadMessage(
    kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
    kj::ArrayPtr<capnp::word> scratch) {
  uint64_t limit = guard_.message_limit();
  options.traversalLimitInWords = limit / sizeof(capnp::word);
  bool authenticated = guard_.is_authenticated();
  return inner_.tryReadMessage(fd_space, options, scratch)
      .then(
          [this](kj::Maybe<capnp::MessageReaderAndFds>&& message) {
            if (message != nullptr) {
              guard_.activity();
              if (first_message_authenticates_) guard_.authenticated();
            }
            return kj::mv(message);
          },
          [this, limit, authenticated](kj::Exception&& e) -> kj::Maybe<capnp::MessageReaderAndFds> {
            // capnp refuses a message whose announced size exceeds the traversal limit (or
            // that has 512 segments or more) before allocating it; say which limit it was.
            std::string what = e.getDescription().cStr();
            if (what.find("Message is too large") == std::string::npos &&
                what.find("too many segments") == std::string::npos)
              kj::throwFatalException(kj::mv(e));
            refusal_ = "message too large: the coordinator accepts at most " +
                       format_bytes(static_cast<int64_t>(limit)) + " per message" +
                       (authenticated ? " (--max-message-bytes)" : " before authentication");
            kj::throwFatalException(KJ_EXCEPTION(FAILED, refusal_));
          });
}

kj::Promise<void> guarded_message_stream::writeMessage(
    kj::ArrayPtr<const int> fds, kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  guard_.activity();
  return inner_.writeMessage(fds, segments);
}

kj::Promise<void> guarded_message_stream::writeMessages(
    kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) {
  guard_.activity();
  return inner_.writeMessages(messages);
}

kj::Maybe<int> guarded_message_stream::getSendBufferSize() {
  return inner_.getSendBufferSize();
}

kj::Promise<void> guarded_message_stream::end() {
  return inner_.end();
}

}  // namespace gantry
