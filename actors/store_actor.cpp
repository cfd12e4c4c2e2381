#include "actors/store_actor.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "actors/messages.hpp"
#include "actors/unexpected.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace gantry {
namespace {

// Sent to itself: write what is pending, queued behind the persists already in the mailbox.
struct flush_now {};
// To the reclaimer: jobs in [first, last] were forgotten.
struct forgotten {
  std::string first, last;
};
// Sent by the reclaimer to itself: compact what was forgotten since the last time.
struct reclaim_now {};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::flush_now)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::forgotten)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::reclaim_now)

namespace gantry {
namespace {

// The store actor's full interface: its public one plus what it sends itself.
using store_impl = store_actor::extend<caf::reacts_to<flush_now>>;

using reclaimer_actor = caf::typed_actor<caf::reacts_to<forgotten>, caf::reacts_to<reclaim_now>>;

struct reclaimer_state {
  storage::state_store* store = nullptr;
  std::chrono::milliseconds interval{0};
  std::optional<forgotten> pending;  // the range forgotten since the last compaction
  caf::actor_clock::time_point last{};
  bool scheduled = false;
  static inline const char* name = "gantry.store.reclaim";
};

using reclaimer_t = reclaimer_actor::stateful_base<reclaimer_state>;

void reclaim(reclaimer_t* self) {
  auto& st = self->state;
  st.scheduled = false;
  if (!st.pending) return;
  forgotten range = std::move(*st.pending);
  st.pending.reset();
  auto started = std::chrono::steady_clock::now();
  auto r = st.store->reclaim(range.first, range.last);
  st.last = self->clock().now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  if (!r)
    log_warn("store: reclaiming the space of forgotten jobs failed: " + r.error().message);
  else
    log_debug("store: compacted forgotten jobs " + range.first + ".." + range.last + " in " +
              std::to_string(ms) + " ms");
}

reclaimer_actor::behavior_type reclaimer_behavior(reclaimer_t* self, storage::state_store* store,
                                                  uint32_t interval_ms) {
  log_unexpected_messages(self);
  self->state.store = store;
  self->state.interval = std::chrono::milliseconds(interval_ms);
  return {
      [self](forgotten& f) {
        auto& st = self->state;
        if (!st.pending) {
          st.pending = std::move(f);
        } else {
          st.pending->first = std::min(st.pending->first, f.first);
          st.pending->last = std::max(st.pending->last, f.last);
        }
        if (st.scheduled) return;
        st.scheduled = true;
        auto due = st.last + st.interval;
        auto now = self->clock().now();
        if (due <= now)
          self->send(self, reclaim_now{});
        else
          self->delayed_send(self, due - now, reclaim_now{});
      },
      [self](reclaim_now) { reclaim(self); },
  };
}

struct store_state {
  storage::state_store* store = nullptr;
  reclaimer_actor reclaimer;
  std::vector<forgotten> forgetting;  // ranges of jobs deleted by the pending batches
  std::vector<std::pair<std::shared_ptr<storage::state_store::batch>,
                        caf::typed_response_promise<result<void>>>>
      pending;
  bool flush_scheduled = false;
  std::shared_ptr<coordinator_metrics> metrics;  // null: writes are not timed
  static inline const char* name = "gantry.store";
};

using store_actor_t = store_impl::stateful_base<store_state>;

void flush(store_actor_t* self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.pending.empty()) return;
  std::vector<const storage::state_store::batch*> group;
  group.reserve(st.pending.size());
  for (auto& [batch, rp] : st.pending) group.push_back(batch.get());
  auto started = std::chrono::steady_clock::now();
  result<void> r = st.store->commit(group);
  if (st.metrics)
    st.metrics->store_write.observe_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
  if (!r)
    log_error("store: synced write of " + std::to_string(group.size()) +
              " batches failed: " + r.error().message);
  for (auto& [batch, rp] : st.pending) rp.deliver(r);
  st.pending.clear();
  if (r)
    for (auto& f : st.forgetting) self->send(st.reclaimer, std::move(f));
  st.forgetting.clear();
}

// Adds b to the next group commit; the promise is kept when it is durable.
caf::typed_response_promise<result<void>> enqueue(store_actor_t* self,
                                                  std::shared_ptr<storage::state_store::batch> b) {
  auto rp = self->make_response_promise<result<void>>();
  self->state.pending.emplace_back(std::move(b), rp);
  if (!self->state.flush_scheduled) {
    // Queued behind everything already in the mailbox: those persists join this write.
    self->state.flush_scheduled = true;
    self->send(self, flush_now{});
  }
  return rp;
}

store_impl::behavior_type store_behavior(store_actor_t* self, storage::state_store* store,
                                         uint32_t reclaim_interval_ms,
                                         std::shared_ptr<coordinator_metrics> metrics) {
  log_unexpected_messages(self);
  self->state.store = store;
  self->state.metrics = std::move(metrics);
  self->state.reclaimer =
      self->spawn<caf::detached + caf::linked>(reclaimer_behavior, store, reclaim_interval_ms);
  return {
      [self](msg::persist& m) { return enqueue(self, std::move(m.batch)); },
      [self](flush_now) { flush(self); },
      [self](msg::load_job& m) -> result<std::optional<job_record>> {
        return self->state.store->get_job(m.id);
      },
      [self](msg::load_events& m) -> result<std::vector<job_event>> {
        return self->state.store->load_events(m.job_id, m.from_seq);
      },
      [self](msg::forget_jobs& m) {
        auto batch = std::make_shared<storage::state_store::batch>();
        if (auto r = self->state.store->add_forget(*batch, m.ids); !r) {
          auto rp = self->make_response_promise<result<void>>();
          rp.deliver(r);
          return rp;
        }
        if (!m.ids.empty()) {
          auto [lo, hi] = std::ranges::minmax(m.ids);
          self->state.forgetting.push_back({lo, hi});
        }
        return enqueue(self, std::move(batch));
      },
  };
}

}  // namespace

store_actor spawn_store_actor(caf::actor_system& sys, storage::state_store& store,
                              uint32_t reclaim_interval_ms,
                              std::shared_ptr<coordinator_metrics> metrics) {
  return sys.spawn<caf::detached>(store_behavior, &store, reclaim_interval_ms, std::move(metrics));
}

}  // namespace gantry
