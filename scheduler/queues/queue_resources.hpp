#pragma once
// The resources a queue is guaranteed, limited to and charged for: CPU (millicores), memory
// (bytes) and GPU share (milli-GPU: 1000 = one whole GPU, so fractions count). Quotas are
// model-agnostic: a GPU is a GPU whatever its model.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/resources.hpp"
#include "core/result.hpp"

namespace gantry::sched {

// A limit dimension with this value is unlimited.
inline constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

struct queue_resources {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t gpu_milli = 0;

  static queue_resources unlimited() { return {kNoLimit, kNoLimit, kNoLimit}; }
  bool zero() const { return cpu_milli == 0 && memory_bytes == 0 && gpu_milli == 0; }
  // For `queue list --json`: cores and GPUs as numbers (0.5 cpu, 0.25 gpu).
  double cpu_cores() const { return static_cast<double>(cpu_milli) / 1000.0; }
  double gpus() const { return static_cast<double>(gpu_milli) / kGpuMilliWhole; }

  // Saturating at kNoLimit, so that unlimited stays unlimited.
  queue_resources& operator+=(const queue_resources& o);
  queue_resources& operator-=(const queue_resources& o);
  friend queue_resources operator+(queue_resources a, const queue_resources& b) { return a += b; }
  friend queue_resources operator-(queue_resources a, const queue_resources& b) { return a -= b; }
  friend bool operator==(const queue_resources&, const queue_resources&) = default;
};

// Every dimension of `a` is at most the same dimension of `b`.
bool fits_within(const queue_resources& a, const queue_resources& b);
// Per dimension max(0, a - b): how far `a` is above `b`.
queue_resources excess(const queue_resources& a, const queue_resources& b);
// Per dimension min(a, b).
queue_resources lesser(const queue_resources& a, const queue_resources& b);
// Some dimension is positive in both.
bool overlaps(const queue_resources& a, const queue_resources& b);

// The dimensions of `r` that `quota` governs: for a guarantee those it gives a positive
// amount, for a limit those it does not leave unlimited; the others are 0.
queue_resources guaranteed_part(const queue_resources& r, const queue_resources& guarantee);
queue_resources limited_part(const queue_resources& r, const queue_resources& limit);

// What `count` tasks of `r` take from a quota (GPU: count x gpu_count x gpu_milli).
queue_resources demand_of(const resource_request& r, int32_t count);

// "gpu=8,cpu=64,memory=512GiB" (any subset, any order; cpu as in manifests: 2, 0.5, 500m;
// gpu whole or fractional: 8, 0.5). Dimensions not named are `absent` (0 for a guarantee,
// kNoLimit for a limit). Errors name the item and what was expected.
result<queue_resources> parse_queue_resources(std::string_view text, int64_t absent = 0);

// The dimensions that are non-zero, as events say it: "4 gpu", "0.5 gpu, 8 cpu",
// "16GiB memory"; unlimited dimensions are left out; "nothing" when none is.
std::string describe(const queue_resources& r);

}  // namespace gantry::sched
