#pragma once
// The placement policies by name. Each is one row of the table in policy_table.cpp (its
// score, tie rule, and whether it learns FGD's workload); docs/scheduler.md gives each
// one's score and how to add a policy.
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
// Accepts the names above and the enumerators' spellings (best_fit, dot_product, ...), in
// any case, with or without '_' and '-'.
result<policy_kind> parse_policy(std::string_view name);
std::vector<policy_kind> all_policies();  // the table's order: the paper's, then FirstFit

}  // namespace gantry::sched
