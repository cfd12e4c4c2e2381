#include "protocol/kj_bridge.hpp"

#include <kj/debug.h>

namespace gantry {

void kj_mailbox::post(std::function<void()> fn) {
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.push_back(std::move(fn));
    wake = kj::mv(wake_);
  }
  if (wake.get() != nullptr) wake->fulfill();
}

void kj_mailbox::close() {
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    wake = kj::mv(wake_);
    dropped.swap(queue_);
  }
  if (wake.get() != nullptr) wake->fulfill();
}

bool kj_mailbox::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

kj::Promise<void> kj_mailbox::wait_for_work() {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  {
    std::lock_guard lock(mu_);
    if (closed_ || !queue_.empty()) return kj::READY_NOW;
    wake_ = kj::mv(paf.fulfiller);
  }
  return kj::mv(paf.promise);
}

kj::Promise<void> kj_mailbox::run() {
  return wait_for_work().then([this]() -> kj::Promise<void> {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(mu_);
      if (closed_) return kj::READY_NOW;
      batch.swap(queue_);
    }
    for (auto& fn : batch) {
      // A closure's failure (a capability call on a dead connection, say) must not
      // stop the mailbox.
      KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { fn(); })) {
        KJ_LOG(WARNING, "mailbox task failed", *e);
      }
    }
    return run();
  });
}

}  // namespace gantry
