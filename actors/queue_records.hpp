#pragma once
// Queue definitions as the coordinator keeps them: stored JSON, `queue create|update`
// applied to a definition, and the book's status as `queue list` shows it.
#include <optional>
#include <string>
#include <vector>

#include "core/coordinator_api.hpp"
#include "core/result.hpp"
#include "scheduler/queues/queue_book.hpp"

namespace gantry {

// {"name","guarantee":{"cpu_milli","memory_bytes","gpu_milli"},"limit":{...},"weight"}; a
// limit's unlimited dimension is null.
std::string encode_queue(const sched::queue_spec& q);
// Errors name the stored key and what is wrong.
result<sched::queue_spec> decode_queue(const std::string& name, const std::string& json);

// The definition `change` makes of `current` (nullopt: the queue does not exist), validated.
// A create of an existing queue is errc::already_exists; an update of a missing one
// errc::not_found naming `gantry queue list`.
result<sched::queue_spec> apply_change(const std::optional<sched::queue_spec>& current,
                                       const queue_change& change);

queue_info info_of(const sched::queue_status& s);

}  // namespace gantry
