#pragma once
// A gang attempt's rendezvous: where its ranks exchange small values (an ncclUniqueId,
// addresses) through the coordinator. Tasks find it in GANTRY_RENDEZVOUS.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/identity.hpp"
#include "core/result.hpp"

namespace gantry {

// Values of different jobs, stages or attempts never mix.
struct rendezvous_scope {
  std::string job_id;
  std::string stage;
  int32_t attempt = 0;
  friend bool operator==(const rendezvous_scope&, const rendezvous_scope&) = default;
};

// GANTRY_RENDEZVOUS is "HOST:PORT/JOB/STAGE/ATTEMPT": the coordinator, then the scope.
std::string format_rendezvous(const std::string& address, const rendezvous_scope& scope);
// Returns the coordinator address and the scope; errors say what is malformed.
result<std::pair<std::string, rendezvous_scope>> parse_rendezvous(std::string_view text);

// Ok when a task credential bound to `task` may use `scope`: its own job, stage and attempt.
// Otherwise errc::permission_denied naming both.
result<void> check_task_scope(const task_ref& task, const rendezvous_scope& scope);

}  // namespace gantry
