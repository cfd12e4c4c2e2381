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
  std::vector<caf::response_promise> held;
};

caf::behavior store_stub(caf::stateful_actor<store_stub_state>* self, std::shared_ptr<bool> hold,
                         std::shared_ptr<size_t> count) {
  return {
      [self, hold, count](msg::persist& m) {
        auto rp = self->make_response_promise();
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
  };
}

}  // namespace

actor_fixture::actor_fixture() {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  sys = std::make_unique<caf::actor_system>(cfg);
  sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  cluster = sys->spawn(recorder, to_cluster);
  node = sys->spawn(recorder, to_node);
  store = sys->spawn(store_stub, hold_persists, persisted_events);
  run();
}

actor_fixture::~actor_fixture() {
  for (auto& a : {cluster, node, store}) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

}  // namespace gantry::test
