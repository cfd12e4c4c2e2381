#pragma once
// The placement policies by name; docs/scheduler.md gives each one's score.
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gantry::sched {

// fgd is the default; the rest are the FGD paper's baselines plus first-fit.
enum class policy_kind {
  first_fit,
  best_fit,
  fgd,
  random,
  dot_product,
  gpu_clustering,
  gpu_packing
};

const char* to_string(policy_kind p);  // "FirstFit", "BestFit", "FGD", "Random", ...
// Accepts the names above in any case, plus first_fit/best_fit/dot_product/... spellings.
result<policy_kind> parse_policy(std::string_view name);
std::vector<policy_kind> all_policies();  // the paper's order, then FirstFit

}  // namespace gantry::sched
