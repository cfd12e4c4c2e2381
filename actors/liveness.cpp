#include "actors/liveness.hpp"

#include <algorithm>

namespace gantry {

silence_limit::silence_limit(int64_t interval_ns, int64_t timeout_ns, int64_t cap_ns)
    : interval_ns_(interval_ns), timeout_ns_(timeout_ns), cap_ns_(std::max(cap_ns, timeout_ns)) {}

void silence_limit::observe(int64_t now_ns, int64_t late_ns) {
  if (late_ns <= 0) return;
  int64_t number = now_ns / kBucketNs;
  bucket& b = buckets_[static_cast<size_t>(number % kBuckets)];
  if (b.number != number) b = bucket{number, 0};
  b.worst_ns = std::max(b.worst_ns, late_ns);
}

int64_t silence_limit::worst_late_ns(int64_t now_ns) const {
  int64_t number = now_ns / kBucketNs;
  int64_t worst = 0;
  for (const auto& b : buckets_)
    if (b.number > number - kBuckets && b.number <= number) worst = std::max(worst, b.worst_ns);
  return worst;
}

int64_t silence_limit::limit_ns(int64_t now_ns) const {
  int64_t late = std::min(worst_late_ns(now_ns), cap_ns_);  // no overflow below
  int64_t stretched = interval_ns_ + kLatenessFactor * late;
  return std::clamp(stretched, timeout_ns_, cap_ns_);
}

}  // namespace gantry
