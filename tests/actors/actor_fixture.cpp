#include "tests/actors/actor_fixture.hpp"

namespace gantry::test {
namespace {

caf::behavior recorder(caf::event_based_actor* self, inbox box) {
  self->set_default_handler(
      [box](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
        box->push_back(m.move_content_to_message());
        return caf::message{};
      });
  return {[](release_persists) {}};
}

struct store_stub_state {
  std::vector<caf::typed_response_promise<result<void>>> held;
};

store_stub_actor::behavior_type store_stub(
    store_stub_actor::stateful_pointer<store_stub_state> self, std::shared_ptr<bool> hold,
    std::shared_ptr<size_t> count, std::shared_ptr<bool> failing) {
  return {
      [self, hold, count, failing](msg::persist& m) {
        auto rp = self->make_response_promise<result<void>>();
        if (*failing) {
          rp.deliver(result<void>(fail(errc::io_error, "the coordinator's storage is full: test")));
          return rp;
        }
        *count += m.batch->size();
        if (*hold)
          self->state.held.push_back(rp);
        else
          rp.deliver(result<void>{});
        return rp;
      },
      [self](release_persists) {
        for (auto& rp : self->state.held) rp.deliver(result<void>{});
        self->state.held.clear();
      },
      [](msg::load_job&) -> result<std::optional<job_record>> { return std::nullopt; },
      [](msg::load_events&) -> result<std::vector<job_event>> { return {}; },
      [](msg::forget_jobs&) -> result<void> { return {}; },
  };
}

}  // namespace

actor_fixture::actor_fixture() {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  sys = std::make_unique<caf::actor_system>(cfg);
  sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  cluster = caf::actor_cast<cluster_actor>(sys->spawn(recorder, to_cluster));
  node = caf::actor_cast<node_actor>(sys->spawn(recorder, to_node));
  store = sys->spawn(store_stub, hold_persists, persisted_events, fail_persists);
  run();
}

actor_fixture::~actor_fixture() {
  caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  run();
}

}  // namespace gantry::test
