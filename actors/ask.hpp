#pragma once
// Asking an actor from outside the actor system (the RPC thread): the reply, or the
// failure of the request, arrives through a callback on a CAF thread.
#include <caf/all.hpp>

#include "core/ports.hpp"

namespace gantry {

// Sends `m` to `target` from a short-lived actor and hands `done` the `result<R>` it
// replies with; an actor that died or never answers gives errc::unavailable. Compiles
// only when `target`'s typed interface answers `Msg` with `result<R>`.
template <class R, class Handle, class Msg>
void ask(caf::actor_system& sys, const Handle& target, Msg m, callback<R> done) {
  sys.spawn(
      [target, m = std::move(m), done = std::move(done)](caf::event_based_actor* self) mutable {
        self->request(target, caf::infinite, std::move(m))
            .then([done](result<R>& r) { done(std::move(r)); },
                  [done](caf::error& e) {
                    done(fail(errc::unavailable, "request failed: " + caf::to_string(e)));
                  });
      });
}

}  // namespace gantry
