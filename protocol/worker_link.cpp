#include "protocol/worker_link.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <kj/debug.h>

#include "core/log.hpp"
#include "protocol/agent_service.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/convert.hpp"
#include "protocol/rpc_client.hpp"

namespace gantry {
namespace wc = wire_convert;

struct worker_link::connection {
  explicit connection(kj::Own<kj::AsyncIoStream> s)
      : stream(kj::mv(s)), client(*stream, kWorkerMaxMessageBytes) {}
  kj::Own<kj::AsyncIoStream> stream;
  rpc_client client;
};

void worker_link::error_handler::taskFailed(kj::Exception&& e) {
  log_warn(std::string("coordinator call failed: ") + e.getDescription().cStr());
}

worker_link::worker_link(kj::AsyncIoContext& io, std::shared_ptr<kj_mailbox> mailbox,
                         task_agent& agent, worker_link_options opts)
    : io_(io),
      mailbox_(std::move(mailbox)),
      agent_(agent),
      opts_(std::move(opts)),
      backoff_ms_(opts_.backoff_initial_ms) {}

worker_link::~worker_link() = default;

kj::Promise<void> worker_link::run() {
  return session_once()
      .then([this]() { backoff_ms_ = opts_.backoff_initial_ms; },
            [this](kj::Exception&& e) {
              log_warn("coordinator " + opts_.coordinator + " unreachable (" +
                       e.getDescription().cStr() + "); retrying in " + std::to_string(backoff_ms_) +
                       " ms");
            })
      .then([this]() {
        session_ = nullptr;
        conn_ = nullptr;
        uint32_t delay = backoff_ms_;
        backoff_ms_ = std::min(backoff_ms_ * 2, opts_.backoff_max_ms);
        return io_.provider->getTimer().afterDelay(delay * kj::MILLISECONDS);
      })
      .then([this]() { return run(); });
}

kj::Promise<void> worker_link::session_once() {
  return io_.provider->getNetwork()
      .parseAddress(opts_.coordinator)
      .then([](kj::Own<kj::NetworkAddress> addr) { return addr->connect().attach(kj::mv(addr)); })
      .then([this](kj::Own<kj::AsyncIoStream> stream) {
        conn_ = kj::heap<connection>(kj::mv(stream));
        auto coordinator = conn_->client.bootstrap().castAs<wire::Coordinator>();
        auto b = to_promise<std::vector<task_report>>();
        agent_.list_running(std::move(b.fn));
        auto disconnected = conn_->client.onDisconnect().then(
            []() -> kj::Promise<void> { return KJ_EXCEPTION(DISCONNECTED, "connection closed"); });
        return b.promise
            .then([this, coordinator](result<std::vector<task_report>> running) mutable {
              return register_with(coordinator, running ? *running : std::vector<task_report>{});
            })
            .exclusiveJoin(kj::mv(disconnected));
      });
}

kj::Promise<void> worker_link::register_with(wire::Coordinator::Client coordinator,
                                             std::vector<task_report> running) {
  auto req = coordinator.registerWorkerRequest();
  req.setVersion(wire::PROTOCOL_VERSION);
  wc::to_wire(req.initInventory(), opts_.inventory);
  req.setAgent(kj::heap<agent_service>(agent_));
  // Running tasks first, then exits the coordinator has not acknowledged.
  std::vector<task_report> all = std::move(running);
  for (const auto& r : unacked_) all.push_back(r);
  auto list = req.initTasks(all.size());
  for (unsigned i = 0; i < all.size(); ++i) wc::to_wire(list[i], all[i]);
  size_t included = unacked_.size();
  return req.send().then([this, included](auto resp) -> kj::Promise<void> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) {
      if (st.error().code == errc::version_mismatch || st.error().code == errc::invalid_argument ||
          st.error().code == errc::failed_precondition)
        log_error("coordinator refused registration: " + st.error().message);
      return KJ_EXCEPTION(FAILED, "registration refused", st.error().message);
    }
    session_ = resp.getSession();
    backoff_ms_ = opts_.backoff_initial_ms;
    log_info("registered with coordinator " + opts_.coordinator + " as " + opts_.inventory.name);
    // The registration carried the first `included` exits: they are acknowledged.
    unacked_.erase(unacked_.begin(), unacked_.begin() + std::min(included, unacked_.size()));
    for (const auto& r : unacked_) send_exit(r);
    for (const auto& [task, step] : pending_checkpoints_) send_checkpoint(task, step);
    pending_checkpoints_.clear();
    return heartbeat_loop(std::max<uint32_t>(resp.getHeartbeatIntervalMs(), 10));
  });
}

// One session's heartbeats. The schedule is fixed (every interval from registration, on
// the monotonic clock), never "an interval after the last reply": a slow round trip must
// not stretch the gaps the coordinator sees. A beat due while the loop was stalled goes
// out at once, carrying how late it is; the ones missed meanwhile are not sent.
struct worker_link::beats : kj::Refcounted {
  using clock = std::chrono::steady_clock;
  clock::duration interval;
  clock::time_point due;
  uint64_t seq = 0;
  uint32_t in_flight = 0;
  kj::Own<kj::PromiseFulfiller<void>> ended;  // rejected when a heartbeat is refused
};

kj::Promise<void> worker_link::heartbeat_loop(uint32_t interval_ms) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  auto b = kj::refcounted<beats>();
  b->interval = std::chrono::milliseconds(interval_ms);
  b->due = beats::clock::now() + b->interval;
  b->ended = kj::mv(paf.fulfiller);
  return next_beat(kj::mv(b)).exclusiveJoin(kj::mv(paf.promise));
}

kj::Promise<void> worker_link::next_beat(kj::Own<beats> b) {
  auto now = beats::clock::now();
  if (now < b->due) {
    // KJ's timer counts from the loop's last wake-up, so it may fire early: check again.
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(b->due - now).count();
    return io_.provider->getTimer()
        .afterDelay(wait * kj::NANOSECONDS)
        .then([this, b = kj::mv(b)]() mutable { return next_beat(kj::mv(b)); });
  }
  auto lag = now - b->due;
  send_beat(*b, std::chrono::duration_cast<std::chrono::nanoseconds>(lag).count());
  b->due += b->interval * (1 + lag / b->interval);
  return next_beat(kj::mv(b));
}

void worker_link::send_beat(beats& b, int64_t lag_ns) {
  KJ_IF_MAYBE (session, session_) {
    if (b.in_flight >= kMaxBeatsInFlight) return;
    auto req = session->heartbeatRequest();
    req.setSeq(++b.seq);
    req.setLagMs(static_cast<uint32_t>(std::min<int64_t>(lag_ns / 1'000'000, UINT32_MAX)));
    ++b.in_flight;
    tasks_.add(req.send().then(
        [b = kj::addRef(b)](auto resp) mutable {
          --b->in_flight;
          auto st = wc::from_wire(resp.getStatus());
          if (!st && b->ended->isWaiting())
            b->ended->reject(KJ_EXCEPTION(DISCONNECTED, "session ended", st.error().message));
        },
        [b = kj::addRef(b)](kj::Exception&& e) mutable {
          --b->in_flight;
          if (b->ended->isWaiting()) b->ended->reject(kj::mv(e));
        }));
    return;
  }
  if (b.ended->isWaiting()) b.ended->reject(KJ_EXCEPTION(DISCONNECTED, "no session"));
}

class worker_link::sink final : public report_sink {
 public:
  sink(std::shared_ptr<kj_mailbox> mailbox, worker_link* link)
      : mailbox_(std::move(mailbox)), link_(link) {}
  void task_exited(task_report report) override {
    mailbox_->post([link = link_, report = std::move(report)]() { link->on_exit(report); });
  }
  void checkpoint_committed(std::string task_id, int64_t step) override {
    mailbox_->post([link = link_, task_id = std::move(task_id), step]() {
      link->on_checkpoint(task_id, step);
    });
  }

 private:
  std::shared_ptr<kj_mailbox> mailbox_;
  worker_link* link_;
};

std::shared_ptr<report_sink> worker_link::reports() {
  return std::make_shared<sink>(mailbox_, this);
}

void worker_link::on_exit(task_report report) {
  unacked_.push_back(report);
  send_exit(report);
}

void worker_link::on_checkpoint(std::string task_id, int64_t step) {
  if (session_ == nullptr) {
    pending_checkpoints_.emplace_back(std::move(task_id), step);
    return;
  }
  send_checkpoint(task_id, step);
}

void worker_link::send_exit(const task_report& report) {
  KJ_IF_MAYBE (session, session_) {
    auto req = session->taskExitedRequest();
    wc::to_wire(req.initReport(), report);
    std::string id = report.task_id;
    tasks_.add(req.send().then(
        [this, id](auto) {
          std::erase_if(unacked_, [&](const task_report& r) { return r.task_id == id; });
        },
        [](kj::Exception&&) { /* kept in unacked_; resent at the next registration */ }));
  }
}

void worker_link::send_checkpoint(const std::string& task_id, int64_t step) {
  KJ_IF_MAYBE (session, session_) {
    auto req = session->checkpointCommittedRequest();
    req.setTaskId(task_id);
    req.setStep(step);
    tasks_.add(req.send().ignoreResult().catch_([this, task_id, step](kj::Exception&&) {
      pending_checkpoints_.emplace_back(task_id, step);
    }));
  }
}

}  // namespace gantry
