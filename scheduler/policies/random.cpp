// Random: every feasible node scores the same; its tie rule (uniform) then draws a node,
// and a fraction's GPU, afresh for every decision.
#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

node_score random(const node_state&, const task_shape&, const score_context&) {
  return {0, -1};
}

}  // namespace gantry::sched::policies
