// The environment and command of a task, from its stage and placement (job_machine).
#include "actors/job_machine.hpp"

#include <algorithm>
#include <functional>

#include "core/log.hpp"

namespace gantry {

task_spec job_machine::make_task(size_t stage, size_t rank, const sched::task_assignment& a,
                                 const std::string& master_addr, uint16_t master_port) const {
  const stage_spec& spec = spec_of(stage);
  const stage_record& st = rec_.stages[stage];
  const rank_record& rk = st.ranks[rank];
  task_spec t;
  t.task_id = rk.task_id;
  t.job_id = rec_.id;
  t.stage = st.name;
  t.rank = rk.rank;
  t.attempt = rk.attempt;
  t.command = spec.command;
  t.gpus = a.gpus;
  auto& env = t.env;
  for (const auto& [k, v] : spec.env) env.emplace_back(k, v);
  env.emplace_back("GANTRY_JOB_ID", rec_.id);
  env.emplace_back("GANTRY_JOB_NAME", rec_.spec.name);
  env.emplace_back("GANTRY_STAGE", st.name);
  env.emplace_back("GANTRY_RANK", std::to_string(rk.rank));
  env.emplace_back("GANTRY_WORLD_SIZE", std::to_string(spec.replicas));
  env.emplace_back("GANTRY_ATTEMPT", std::to_string(rk.attempt));
  env.emplace_back("GANTRY_TASK_ID", rk.task_id);
  env.emplace_back("GANTRY_NODE", a.node);
  if (spec.is_gang()) {
    int32_t local_rank = 0, local_world = 0;
    for (const auto& other : st.ranks) {
      if (other.node != rk.node) continue;
      if (other.rank < rk.rank) ++local_rank;
      ++local_world;
    }
    env.emplace_back("RANK", std::to_string(rk.rank));
    env.emplace_back("WORLD_SIZE", std::to_string(spec.replicas));
    env.emplace_back("LOCAL_RANK", std::to_string(local_rank));
    env.emplace_back("LOCAL_WORLD_SIZE", std::to_string(local_world));
    env.emplace_back("MASTER_ADDR", master_addr);
    env.emplace_back("MASTER_PORT", std::to_string(master_port));
    // The worker puts its coordinator's address in front ("HOST:PORT/JOB/STAGE/ATTEMPT").
    env.emplace_back("GANTRY_RENDEZVOUS", rec_.id + "/" + st.name + "/" + std::to_string(rk.attempt));
  }
  // The worker turns this into FI_PROVIDER and NCCL's matching transport (worker/fabric_env.hpp).
  if (!spec.fabric.empty()) env.emplace_back("GANTRY_FABRIC", spec.fabric);
  if (spec.checkpoint) {
    t.checkpoint_dir = spec.checkpoint->dir;
    env.emplace_back("GANTRY_CHECKPOINT_DIR", spec.checkpoint->dir);
    if (st.checkpoint_step >= 0)
      env.emplace_back("GANTRY_RESTORE_STEP", std::to_string(st.checkpoint_step));
  }
  if (a.gpus.empty()) {
    // A task given no GPU must not see (and take) the ones given to others on its node.
    env.emplace_back("CUDA_VISIBLE_DEVICES", "");
  } else {
    // GPU indices are NVML's, in PCI bus order; make CUDA count the same way.
    env.emplace_back("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    for (auto& kv : sched::gpu_environment(a)) env.push_back(std::move(kv));
  }
  return t;
}

}  // namespace gantry
