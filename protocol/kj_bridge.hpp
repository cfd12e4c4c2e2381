#pragma once
// The two directions between CAF threads and the KJ (RPC) thread:
//   - to_promise<T>(): a callback<T> that any thread may call, and the kj::Promise that
//     resolves on the KJ thread when it is called (a cross-thread fulfiller underneath);
//   - kj_mailbox: any thread posts closures that run on the KJ thread, in order, without
//     blocking the poster.
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <kj/async.h>

#include "core/ports.hpp"

namespace gantry {

template <class T>
struct bridged {
  kj::Promise<result<T>> promise;
  callback<T> fn;
};

// REQUIRES: called on the KJ thread. If `fn` is destroyed without being called, the
// promise resolves to an `unavailable` error.
template <class T>
bridged<T> to_promise() {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<result<T>>();
  using fulfiller = kj::Own<kj::CrossThreadPromiseFulfiller<result<T>>>;
  auto holder = std::make_shared<fulfiller>(kj::mv(paf.fulfiller));
  callback<T> fn = [holder](result<T> r) { (*holder)->fulfill(kj::mv(r)); };
  auto promise = paf.promise.catch_([](kj::Exception&& e) -> result<T> {
    return fail(errc::unavailable, std::string("request dropped: ") + e.getDescription().cStr());
  });
  return {kj::mv(promise), std::move(fn)};
}

class kj_mailbox {
 public:
  // REQUIRES: constructed on the KJ thread whose loop will run the closures.
  kj_mailbox() = default;
  kj_mailbox(const kj_mailbox&) = delete;
  kj_mailbox& operator=(const kj_mailbox&) = delete;

  // Thread-safe. Closures posted after close() are destroyed without running, on the
  // posting thread; closures must not throw.
  void post(std::function<void()> fn);

  // Runs posted closures until close(); the KJ thread keeps this promise alive.
  kj::Promise<void> run();

  // Thread-safe. Stops run() and drops later posts.
  void close();
  bool closed() const;

 private:
  kj::Promise<void> wait_for_work();

  mutable std::mutex mu_;
  std::deque<std::function<void()>> queue_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;  // set while run() sleeps
  bool closed_ = false;
};

// Owns a KJ-thread object (a capability client, say) from any thread: the object is
// destroyed on the KJ thread, or leaked if the mailbox closed (the loop is gone).
template <class T>
class kj_owned {
 public:
  kj_owned(std::shared_ptr<kj_mailbox> mailbox, T value)
      : mailbox_(std::move(mailbox)), value_(new T(kj::mv(value))) {}
  ~kj_owned() {
    T* v = value_;
    if (mailbox_->closed()) return;  // the loop is gone: leak rather than crash
    mailbox_->post([v] { delete v; });
  }
  kj_owned(const kj_owned&) = delete;
  kj_owned& operator=(const kj_owned&) = delete;

  // REQUIRES: on the KJ thread.
  T& get() { return *value_; }
  kj_mailbox& mailbox() { return *mailbox_; }

 private:
  std::shared_ptr<kj_mailbox> mailbox_;
  T* value_;
};

}  // namespace gantry
