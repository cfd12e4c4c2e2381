#pragma once
// Whether a job could ever run on a cluster: each stage against every known node as if the
// node were empty and schedulable. The coordinator refuses at submit what no node could ever
// host (docs/cli.md, `gantry submit --allow-unschedulable`).
#include <vector>

#include "core/manifest.hpp"
#include "core/resources.hpp"
#include "core/spec.hpp"

namespace gantry::sched {

// One error per stage of `job` that no placement on `nodes` could ever satisfy: its path names
// the field at fault ("stages[1].resources.gpu_model"; "stages[1].replicas" when each rank of
// a gang fits somewhere but not all of them at once) and its message the stage and each node's
// reason, in the scheduler's words. Empty when every stage could fit, and when `nodes` is
// empty (nothing is known yet). `colocate_with` is not judged: it depends on where the other
// stage runs.
std::vector<manifest_error> never_schedulable(const job_spec& job,
                                              const std::vector<node_inventory>& nodes);

}  // namespace gantry::sched
