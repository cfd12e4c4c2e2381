// The placement policies, one row each: the policy's kind and names, its score
// (policies/<name>.cpp), its tie rule, and whether it learns FGD's target workload. Rows
// are in the order `--policy all` runs them: the FGD paper's, then FirstFit.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scheduler/policies/policies.hpp"
#include "scheduler/policy.hpp"

namespace gantry::sched {

namespace {

constexpr placement_policy kPolicies[] = {
    // kind, name, id, score, ties, learns_workload
    {policy_kind::random, "Random", "random", policies::random, tie_rule::uniform, false},
    {policy_kind::dot_product, "DotProd", "dot_product", policies::dot_product, tie_rule::node_rank,
     false},
    {policy_kind::gpu_clustering, "GpuClustering", "gpu_clustering", policies::gpu_clustering,
     tie_rule::node_rank, false},
    {policy_kind::gpu_packing, "GpuPacking", "gpu_packing", policies::gpu_packing,
     tie_rule::node_rank, false},
    {policy_kind::best_fit, "BestFit", "best_fit", policies::best_fit, tie_rule::node_rank, false},
    {policy_kind::fgd, "FGD", "fgd", policies::fgd, tie_rule::node_rank, true},
    {policy_kind::first_fit, "FirstFit", "first_fit", policies::first_fit, tie_rule::name_order,
     false},
};

// Lower case without '_' and '-': "GpuPacking", "gpu_packing", "gpu-packing" are equal.
std::string normalized(std::string_view name) {
  std::string n;
  for (char c : name) {
    if (c != '_' && c != '-') n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return n;
}

}  // namespace

const placement_policy& policy_of(policy_kind kind) {
  for (const placement_policy& p : kPolicies) {
    if (p.kind == kind) return p;
  }
  // Our bug: an enumerator without a row.
  std::fprintf(stderr, "policy_of: policy_kind %d has no row in policy_table.cpp\n",
               static_cast<int>(kind));
  std::abort();
}

const char* to_string(policy_kind p) {
  return policy_of(p).name;
}

result<policy_kind> parse_policy(std::string_view name) {
  const std::string n = normalized(name);
  std::string known;  // "Random, DotProd, ..., FirstFit"
  for (const placement_policy& p : kPolicies) {
    if (n == normalized(p.name) || n == normalized(p.id)) return p.kind;
    known += (known.empty() ? "" : ", ") + std::string(p.name);
  }
  return fail(errc::invalid_argument,
              "unknown policy '" + std::string(name) + "' (expected " + known + " or all)");
}

std::vector<policy_kind> all_policies() {
  std::vector<policy_kind> all;
  for (const placement_policy& p : kPolicies) all.push_back(p.kind);
  return all;
}

}  // namespace gantry::sched
