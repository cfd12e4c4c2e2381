#pragma once
// The example's side of gantry's checkpoint protocol (ARCHITECTURE.md, "Checkpoint
// protocol"): rank R writes step S to DIR/step-S/rank-R.state, then commits it by creating
// DIR/step-S/rank-R.done; both are written to a temp file and renamed into place.
#include <cstdint>
#include <string>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

// What one rank carries from step to step: the last step done and the running checksum.
struct run_state {
  int64_t step = 0;
  uint64_t checksum = 0;
  friend bool operator==(const run_state&, const run_state&) = default;
};

// Which run a checkpoint belongs to; a restore checks it so that a checkpoint directory
// reused by another job or configuration is never read as this run's state.
struct run_identity {
  std::string job;  // GANTRY_JOB_ID, or "" when run by hand
  int world = 1;
  uint64_t size = 0;  // floats per rank
};

std::string step_dir(const std::string& dir, int64_t step);
std::string state_path(const std::string& dir, int64_t step, int rank);
std::string done_path(const std::string& dir, int64_t step, int rank);

// Writes (and fsyncs) rank-R.state of state.step; no marker yet.
outcome<void> write_state(const std::string& dir, int rank, const run_state& state,
                          const run_identity& who);
// Creates rank-R.done for `step`. REQUIRES: write_state of that step returned.
outcome<void> commit_step(const std::string& dir, int rank, int64_t step);
// write_state, then commit_step.
outcome<void> write_checkpoint(const std::string& dir, int rank, const run_state& state,
                               const run_identity& who);

// Reads the committed state of `step`: errors when the marker is missing or the file is
// malformed. A state written by another job, world size or size is not this run's: then
// `not_ours` is set to its writer (the state still returned), or, when null, it is an error.
outcome<run_state> read_checkpoint(const std::string& dir, int64_t step, int rank,
                                   const run_identity& who, std::string* not_ours);

// Removes this rank's files of every step except `keep` (-1: keep none), and step
// directories left empty. Protocol: a program may delete steps older than the newest
// consistent one; newer ones are another attempt's unfinished or stale commits.
void remove_other_steps(const std::string& dir, int rank, int64_t keep);

}  // namespace gantry::example
