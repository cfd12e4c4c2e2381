#include "actors/store_actor.hpp"

#include "actors/messages.hpp"
#include "actors/unexpected.hpp"
#include "core/log.hpp"

namespace gantry {
namespace {

// Sent to itself: write what is pending, queued behind the persists already in the mailbox.
struct flush_now {};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::flush_now)

namespace gantry {
namespace {

// The store actor's full interface: its public one plus what it sends itself.
using store_impl = store_actor::extend<caf::reacts_to<flush_now>>;

struct store_state {
  storage::state_store* store = nullptr;
  std::vector<std::pair<std::shared_ptr<storage::state_store::batch>,
                        caf::typed_response_promise<result<void>>>>
      pending;
  bool flush_scheduled = false;
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
  result<void> r = st.store->commit(group);
  if (!r)
    log_error("store: synced write of " + std::to_string(group.size()) +
              " batches failed: " + r.error().message);
  for (auto& [batch, rp] : st.pending) rp.deliver(r);
  st.pending.clear();
}

store_impl::behavior_type store_behavior(store_actor_t* self, storage::state_store* store) {
  log_unexpected_messages(self);
  self->state.store = store;
  return {
      [self](msg::persist& m) {
        auto rp = self->make_response_promise<result<void>>();
        self->state.pending.emplace_back(std::move(m.batch), rp);
        if (!self->state.flush_scheduled) {
          // Queued behind everything already in the mailbox: those persists join this write.
          self->state.flush_scheduled = true;
          self->send(self, flush_now{});
        }
        return rp;
      },
      [self](flush_now) { flush(self); },
      [self](msg::load_job& m) -> result<std::optional<job_record>> {
        return self->state.store->get_job(m.id);
      },
      [self](msg::load_events& m) -> result<std::vector<job_event>> {
        return self->state.store->load_events(m.job_id, m.from_seq);
      },
  };
}

}  // namespace

store_actor spawn_store_actor(caf::actor_system& sys, storage::state_store& store) {
  return sys.spawn<caf::detached>(store_behavior, &store);
}

}  // namespace gantry
