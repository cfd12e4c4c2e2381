#pragma once
// Fragmentation Gradient Descent (FGD, Weng et al., USENIX ATC'23): a node's fragmentation
// for a target workload is the free GPU share that the workload's task types could not
// use there, weighted by how common each type is. FGD places a task where (and on the GPU
// where) this grows least.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler/fit.hpp"
#include "scheduler/workload.hpp"

namespace gantry::sched {

class fgd_model {
 public:
  // Replaces the target workload; weights are renormalised to sum to 1. A workload that
  // differs from the current one by less than 0.01 in every weight is ignored, so that a
  // learner's small drifts do not invalidate every cached score.
  void set(const std::vector<workload_type>& types);
  bool empty() const { return types_.empty(); }
  uint64_t epoch() const { return epoch_; }  // changes with every set()

  // Expected free GPU milli on `n` that a task drawn from the workload could not use:
  // for each type, all of the node's free share if the type cannot run there at all (no
  // GPU asked, wrong model, too few GPUs with enough share, too little CPU or memory),
  // else the free share of the GPUs with less free than the type needs.
  double frag(const node_state& n) const;
  // The same for `n` with `cpu`/`mem` less free and `milli` as its per-GPU free share.
  double frag(const node_state& n, int64_t cpu_free, int64_t mem_free, const int32_t* milli) const;

 private:
  struct type {
    int64_t cpu = 0;
    int64_t mem = 0;
    int32_t gpus = 0;
    int32_t milli = 0;
    bool any_model = true;
    model_mask models;
    double weight = 0;
  };
  std::vector<type> types_;
  uint64_t epoch_ = 0;
};

// Learns the target workload from the requests the scheduler sees (coordinator use):
// a histogram of task types with old observations decaying by half every `horizon` tasks.
class workload_learner {
 public:
  void observe(const placement_request& req);
  // True when enough changed since the last take() for FGD's scores to be refreshed.
  bool stale() const;
  std::vector<workload_type> take();

 private:
  std::map<std::string, workload_type> types_;
  double total_ = 0;
  double since_take_ = 0;
  static constexpr double kHorizon = 4096;
};

// FGD's node score from a node's fragmentation before and after placing a task:
// sigmoid((before - after) / 1000) * 100, truncated to an integer as the paper does.
int32_t fgd_score(double before, double after);

}  // namespace gantry::sched
