#include "scheduler/queues/queue_spec.hpp"

#include <cctype>
#include <cmath>

namespace gantry::sched {

result<void> validate(const queue_spec& q) {
  auto bad = [&](const std::string& field, const std::string& why) {
    return fail(errc::invalid_argument, "queue " + q.name + ": " + field + ": " + why);
  };
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  };
  if (q.name.empty() || q.name.size() > 63 || !std::isalnum(static_cast<unsigned char>(q.name[0])))
    return fail(errc::invalid_argument,
                "queue name \"" + q.name +
                    "\": expected 1 to 63 letters, digits, '-', '_' or '.', starting with a "
                    "letter or digit");
  for (char c : q.name)
    if (!name_char(c))
      return fail(errc::invalid_argument, "queue name \"" + q.name + "\": '" + std::string(1, c) +
                                              "' is not a letter, digit, '-', '_' or '.'");
  if (!(q.weight > 0) || !std::isfinite(q.weight) || q.weight > 1e6)
    return bad("weight", "expected a number above 0 (at most 1000000)");
  const queue_resources zero;
  if (!fits_within(zero, q.guarantee)) return bad("guarantee", "amounts must not be negative");
  if (!fits_within(zero, q.limit)) return bad("limit", "amounts must not be negative");
  if (!fits_within(q.guarantee, q.limit))
    return bad("limit", describe(q.limit) + " is below the guarantee " + describe(q.guarantee));
  if (q.name == kDefaultQueue && (!q.guarantee.zero() || q.limit != queue_resources::unlimited()))
    return bad("guarantee",
               "the default queue has no guarantee and no limit (only its weight "
               "may change)");
  return {};
}

}  // namespace gantry::sched
