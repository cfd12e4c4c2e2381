// The typed interfaces as a compiler check. Built as it is, this file must compile (the
// build does so with the tests); built with GANTRY_REJECT=N, the compiler must refuse case N
// (tests/actors/compile/CMakeLists.txt makes each a ctest).
#include "actors/messages.hpp"

namespace gantry::compile_check {

void sends(caf::event_based_actor* self, const job_actor& job, const node_actor& node) {
  self->send(node, msg::kill_task{"j-000001.a.0.0", 0});
  self->request(job, caf::infinite, msg::describe_job{}).then([](result<job_record>&) {});
#if GANTRY_REJECT == 1  // a message the receiver does not handle
  self->send(job, msg::kill_task{"j-000001.a.0.0", 0});
#elif GANTRY_REJECT == 2  // a reply taken as another type than the interface says
  self->request(job, caf::infinite, msg::describe_job{}).then([](bool) {});
#endif
}

// A behavior handles exactly its interface.
store_actor::behavior_type store_like() {
  return {
    [](msg::persist&) -> result<void> { return {}; },
        [](msg::load_job&) -> result<std::optional<job_record>> { return std::nullopt; },
        [](msg::load_events&) -> result<std::vector<job_event>> {
          return std::vector<job_event>{};
        },
        [](msg::forget_jobs&) -> result<void> { return {}; },
#if GANTRY_REJECT == 3  // a handler that nobody can reach
        [](msg::kill_task&) {},
#endif
  };
}

}  // namespace gantry::compile_check
