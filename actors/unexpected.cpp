#include "actors/unexpected.hpp"

#include "core/log.hpp"

namespace gantry {

void log_unexpected_messages(caf::scheduled_actor* self) {
  self->set_default_handler(
      [](caf::scheduled_actor* s, caf::message_view& m) -> caf::result<caf::message> {
        log_warn(std::string("actor ") + s->name() + " dropped an unexpected message of " +
                 std::to_string(m.content().size()) + " element(s)");
        return caf::sec::unexpected_message;
      });
}

}  // namespace gantry
