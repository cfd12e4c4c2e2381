#include "core/identity.hpp"

namespace gantry {

const char* to_string(caller_role role) {
  return role == caller_role::admin ? "admin" : "user";
}

const char* to_string(credential_kind kind) {
  switch (kind) {
    case credential_kind::none:
      return "none";
    case credential_kind::user:
      return "user";
    case credential_kind::join:
      return "join";
    case credential_kind::node:
      return "node";
    case credential_kind::task:
      return "task";
  }
  return "?";
}

bool may_access_job(const caller& who, std::string_view owner) {
  return who.role == caller_role::admin || who.user == owner;
}

result<void> require_admin(const caller& who, std::string_view what) {
  if (who.role == caller_role::admin) return {};
  return fail(errc::permission_denied, std::string(what) + " needs an admin token; you are " +
                                           describe(who) +
                                           " (an admin runs gantry token create --role admin)");
}

std::string describe(const caller& who) {
  return who.user + " (" + to_string(who.role) + ")";
}

}  // namespace gantry
