#pragma once
// The example's algorithm, independent of the backend: at every step each rank fills its
// buffer with f(rank, step, i), all-reduces it, checks every element against the sum it
// must have, folds the result into a checksum, and checkpoints every K steps.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>

#include "examples/allreduce/backend.hpp"
#include "examples/allreduce/checkpoint.hpp"

namespace gantry::example {

// f(rank, step, i): a small integer (0..1020) so that float sums over up to 16,000 ranks
// are exact in any order, and the same on the CPU ring and on NCCL.
inline float element_value(int rank, int64_t step, uint64_t i) {
  return static_cast<float>(
      (static_cast<int64_t>(rank) * 131 + step * 31 + static_cast<int64_t>(i % 1021) * 7) % 1021);
}

// The value every element i must hold after the all-reduce of `step` over `world` ranks.
double expected_sum(int world, int64_t step, uint64_t i);

void fill(std::span<float> data, int rank, int64_t step);

struct mismatch {
  uint64_t index = 0;
  double got = 0;
  double want = 0;
};
// The first element that is not the sum over ranks, or nullopt when all are right.
std::optional<mismatch> verify(std::span<const float> data, int world, int64_t step);

// Folds one step's result into the running checksum (order-sensitive, so a skipped or
// repeated step changes it).
uint64_t fold_checksum(uint64_t checksum, std::span<const float> data);

struct run_config {
  int rank = 0;
  int world = 1;
  int64_t steps = 0;
  uint64_t size = 4096;  // floats per rank
  int64_t checkpoint_every = 10;
  int step_ms = 0;             // sleep per step
  std::string checkpoint_dir;  // "" = no checkpoints
  int64_t restore_step = -1;   // GANTRY_RESTORE_STEP, -1 when unset
  std::string job;             // GANTRY_JOB_ID
  run_identity identity() const { return {job, world, size}; }
};

// Where a run starts: the restored state (step 0 when fresh) and the step restored from.
struct start_point {
  run_state state;
  int64_t restored_from = -1;
};

// Reads the checkpoint of config.restore_step (one written by another job or configuration
// is ignored with a note on `log`: the run starts fresh), then removes this rank's files of every
// other step. Call it before joining the other ranks: no rank can write a checkpoint before every
// rank has joined, so a fresh run never sees stale commits of its own ranks.
outcome<start_point> prepare_run(const run_config& config, std::ostream& log);

struct run_report {
  run_state state;
  int64_t restored_from = -1;
  int64_t steps_run = 0;
  double allreduce_seconds = 0;  // summed over the steps run
};

// Runs steps start.state.step+1 .. config.steps. Errors: the backend's, a checkpoint
// write failure, or a wrong sum (exit code kExitMismatch).
outcome<run_report> run_steps(const run_config& config, const start_point& start,
                              allreduce_backend& backend, std::ostream& log);

}  // namespace gantry::example
