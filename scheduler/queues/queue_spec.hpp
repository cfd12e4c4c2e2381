#pragma once
// A queue's definition: what it is guaranteed, how far it may borrow, its fair-share weight.
// docs/queues.md describes the model.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "scheduler/queues/queue_resources.hpp"

namespace gantry::sched {

// The queue jobs without `queue:` go to. It always exists, with no guarantee and no limit;
// only its weight may change.
inline constexpr std::string_view kDefaultQueue = "default";

struct queue_spec {
  std::string name;
  // Capacity the queue gets back by preemption whenever it has work for it.
  queue_resources guarantee;
  // The most the queue may use, guaranteed and borrowed together (kNoLimit: no limit).
  queue_resources limit = queue_resources::unlimited();
  // Its share of borrowed capacity relative to other borrowing queues (weighted DRF).
  double weight = 1.0;
  friend bool operator==(const queue_spec&, const queue_spec&) = default;
};

// Checks a definition: a name of letters, digits, '-', '_' or '.' (at most 63, starting with
// a letter or digit); weight > 0 and finite; limit at least the guarantee in every
// dimension; `default` without guarantee or limit. Errors name the field.
result<void> validate(const queue_spec& q);

}  // namespace gantry::sched
