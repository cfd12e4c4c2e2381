#pragma once
// The placement engine behind `scheduler`: plans one request on a view (nothing changes
// until the caller applies the plan), with per-shape score caches so that a decision costs
// one pass over the nodes plus re-scoring of only the nodes that changed since. Every
// decision runs the chain of policy.hpp: filters, the policy's score, its tie rule, GPUs.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scheduler/fgd.hpp"
#include "scheduler/fit.hpp"
#include "scheduler/policy.hpp"
#include "scheduler/random.hpp"

namespace gantry::sched {

// Nodes that only one request may use (see scheduler::schedule()).
struct node_reservation {
  std::string owner;               // request id; empty = none
  std::vector<std::string> nodes;  // by name, so it survives node changes
  std::vector<char> mask;          // by dense index, rebuilt every round
  uint64_t generation = 0;         // changes whenever the mask may have changed
};

class engine {
 public:
  engine(policy_kind policy, uint64_t seed);

  policy_kind policy() const { return policy_->kind; }
  node_reservation reservation;                // owned by scheduler::schedule()
  void observe(const placement_request& req);  // learns FGD's workload unless one is set
  void set_workload(const std::vector<workload_type>& types);
  const fgd_model& fgd() const { return fgd_; }

  // Plans `req` on `view`. Nodes in `excluded->mask` (another request's reservation; may
  // be null) are not used and count as "reserved for <owner>" in the reason.
  // Returns true with `out` filled, or false with `reason`.
  bool plan(const cluster_view& view, const placement_request& req,
            const node_reservation* excluded, placement& out, std::string& reason);

  // Chooses the nodes `req` should wait for: enough of them to host it once their running
  // tasks end, those closest to hosting it now first. False (and no nodes) when the
  // cluster could never host it.
  bool reserve(const cluster_view& view, const placement_request& req,
               std::vector<std::string>& nodes);

 private:
  // A node's cached verdict: score -1 when the task does not fit.
  struct cached_score {
    int16_t score = -1;
    int16_t gpu = -1;  // node_score::gpu
  };
  struct shape_cache {
    std::vector<uint64_t> version;  // node version each entry was computed at
    std::vector<cached_score> entry;
    uint64_t context = 0;  // score_context it was computed with
    uint64_t last_use = 0;
  };
  // A feasible node, ranked: its score and the GPU its policy chose there, both for the
  // node's state at `version`.
  struct candidate {
    int32_t score;
    int32_t gpu;
    uint64_t tie;  // tie_key()
    uint64_t version;
    int32_t node;
    int32_t cap;  // pack: ranks that fit
  };

  score_context context(const cluster_view& view, uint64_t& fingerprint);
  shape_cache& cache_for(const task_shape& s, uint64_t fingerprint);
  // Filters, then the policy's score: node i's entry in `c`, re-scored when the node
  // changed since. Inline: the scan of every node calls it.
  cached_score cached(const cluster_view& view, const task_shape& s, shape_cache& c, int32_t i,
                      const score_context& ctx) {
    if (c.version[i] != view.versions()[i]) rescore(view, s, c, i, ctx);
    return c.entry[i];
  }
  void rescore(const cluster_view& view, const task_shape& s, shape_cache& c, int32_t i,
               const score_context& ctx);
  // Tie-break key of node i by the policy's tie rule (higher wins): a random rank fixed per
  // node for the scheduler's life (seeded), a fresh draw, or name order.
  uint64_t tie_key(const cluster_view& view, int32_t node);
  void collect(const cluster_view& view, const task_shape& s, shape_cache& c,
               const score_context& ctx, const node_reservation* excluded);

  // The state of node i during this plan: its scratch copy if a rank went there.
  const node_state& state(const cluster_view& view, int32_t i) const;
  node_state& scratch(const cluster_view& view, int32_t i, int32_t*& last_group);
  // One more rank on `cand`'s node, with the GPU the candidate carries while the node is
  // still in the state it was scored in.
  bool place_rank(const cluster_view& view, const task_shape& s, const score_context& ctx,
                  const candidate& cand, std::vector<task_assignment>& tasks);

  bool plan_single(const cluster_view& view, const task_shape& s, shape_cache& c,
                   const score_context& ctx, const node_reservation* excluded,
                   std::vector<task_assignment>& tasks);
  bool plan_greedy(const cluster_view& view, const task_shape& s, shape_cache& c,
                   const score_context& ctx, const node_reservation* excluded, int32_t count,
                   std::vector<task_assignment>& tasks);
  bool plan_pack(const cluster_view& view, const task_shape& s, shape_cache& c,
                 const score_context& ctx, const node_reservation* excluded, int32_t count,
                 std::vector<task_assignment>& tasks);
  bool plan_spread(const cluster_view& view, const task_shape& s, shape_cache& c,
                   const score_context& ctx, const node_reservation* excluded, int32_t count,
                   std::vector<task_assignment>& tasks);
  std::string explain(const cluster_view& view, const task_shape& s,
                      const node_reservation* excluded, int32_t count, int32_t fitted) const;

  const placement_policy* policy_;
  uint64_t seed_;
  rng gen_;
  fgd_model fgd_;
  bool learning_ = true;
  workload_learner learner_;
  std::unordered_map<std::string, shape_cache> caches_;
  uint64_t uses_ = 0;
  // Per-plan scratch, reused to avoid allocations.
  std::vector<candidate> cands_;
  std::vector<int32_t> ties_;
  std::vector<std::pair<int32_t, node_state>> scratch_;
  std::vector<int32_t> scratch_group_;
  std::vector<int32_t> slots_;
  // Failures remembered until the view changes: key -> (view mutations, reason).
  std::unordered_map<std::string, std::pair<uint64_t, std::string>> failures_;
};

}  // namespace gantry::sched
