// The launch description of a task, from its stage and placement (job_machine). The worker
// builds the task's environment from it (core/task_environment.hpp).
#include "actors/job_machine.hpp"

namespace gantry {

task_spec job_machine::make_task(size_t stage, size_t rank, const sched::task_assignment& a,
                                 const std::string& master_addr, uint16_t master_port) const {
  const stage_spec& spec = spec_of(stage);
  const stage_record& st = rec_.stages[stage];
  const rank_record& rk = st.ranks[rank];
  task_spec t;
  t.task_id = rk.task_id;
  t.job_id = rec_.id;
  t.job_name = rec_.spec.name;
  t.stage = st.name;
  t.rank = rk.rank;
  t.world_size = spec.replicas;
  t.attempt = rk.attempt;
  t.command = spec.command;
  t.env.assign(spec.env.begin(), spec.env.end());
  t.working_dir = spec.working_dir;
  t.cpu_milli = a.cpu_milli;
  t.memory_bytes = a.memory_bytes;
  t.time_limit_ms = spec.time_limit_ms > 0 ? spec.time_limit_ms : rec_.spec.time_limit_ms;
  t.owner = rec_.owner;  // the worker runs the task as the Unix user its --user-map gives
  t.gpus = a.gpus;
  t.gpu_milli = a.gpus.empty() ? 0 : a.gpu_milli;
  t.gpu_memory_bytes = a.gpus.empty() ? 0 : a.gpu_memory_bytes;
  t.fabric = spec.fabric;
  if (spec.checkpoint) {
    t.checkpoint_dir = spec.checkpoint->dir;
    t.restore_step = st.checkpoint_step;
  }
  if (spec.is_gang()) {
    std::vector<std::string> nodes;  // by rank: every rank of a gang is placed by now
    for (const auto& other : st.ranks) nodes.push_back(other.node);
    gang_coordinates g = place_in_gang(nodes, static_cast<int32_t>(rank));
    g.master_addr = master_addr;
    g.master_port = master_port;
    g.max_restarts = rec_.spec.max_restarts;
    g.rendezvous = {rec_.id, st.name, rk.attempt};
    t.gang = std::move(g);
  }
  return t;
}

}  // namespace gantry
