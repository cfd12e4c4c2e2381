// FirstFit: every feasible node scores the same; its tie rule (name order) then takes the
// first node by name, and a fraction the first GPU that fits.
#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

node_score first_fit(const node_state&, const task_shape&, const score_context&) {
  return {0, -1};
}

}  // namespace gantry::sched::policies
