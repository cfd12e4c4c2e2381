#include "examples/allreduce/steps.hpp"

#include <chrono>
#include <ostream>
#include <thread>
#include <vector>

namespace gantry::example {
namespace {

constexpr uint64_t kPeriod = 1021;  // element_value depends on i only through i % kPeriod

}  // namespace

double expected_sum(int world, int64_t step, uint64_t i) {
  double sum = 0;
  for (int r = 0; r < world; ++r) sum += element_value(r, step, i);
  return sum;
}

void fill(std::span<float> data, int rank, int64_t step) {
  for (uint64_t i = 0; i < data.size(); ++i) data[i] = element_value(rank, step, i);
}

std::optional<mismatch> verify(std::span<const float> data, int world, int64_t step) {
  std::vector<double> want(std::min<uint64_t>(kPeriod, data.size()));
  for (uint64_t i = 0; i < want.size(); ++i) want[i] = expected_sum(world, step, i);
  for (uint64_t i = 0; i < data.size(); ++i)
    if (static_cast<double>(data[i]) != want[i % kPeriod])
      return mismatch{i, data[i], want[i % kPeriod]};
  return std::nullopt;
}

uint64_t fold_checksum(uint64_t checksum, std::span<const float> data) {
  uint64_t sum = 0;
  for (float v : data) sum += static_cast<uint64_t>(static_cast<int64_t>(v));
  return checksum * 1000003u + sum;
}

outcome<start_point> prepare_run(const run_config& config, std::ostream& log) {
  start_point start;
  const std::string& dir = config.checkpoint_dir;
  if (config.restore_step >= 0) {
    if (dir.empty())
      return failure("GANTRY_RESTORE_STEP is set but GANTRY_CHECKPOINT_DIR is not", kExitUsage);
    std::string not_ours;
    auto state =
        read_checkpoint(dir, config.restore_step, config.rank, config.identity(), &not_ours);
    if (!state) return std::unexpected(state.error());
    if (!not_ours.empty()) {
      log << "checkpoint step " << config.restore_step << " of rank " << config.rank
          << " was written by " << not_ours << ", not this run: starting from step 1" << std::endl;
    } else if (state->step > config.steps) {
      return failure("checkpoint step " + std::to_string(state->step) + " is past --steps " +
                         std::to_string(config.steps),
                     kExitUsage);
    } else {
      start.state = *state;
      start.restored_from = config.restore_step;
      log << "restored from step " << config.restore_step << std::endl;
    }
  }
  if (!dir.empty()) remove_other_steps(dir, config.rank, start.restored_from);
  return start;
}

outcome<run_report> run_steps(const run_config& config, const start_point& start,
                              allreduce_backend& backend, std::ostream& log) {
  run_report report;
  report.state = start.state;
  report.restored_from = start.restored_from;
  std::vector<float> data(config.size);
  for (int64_t step = start.state.step + 1; step <= config.steps; ++step) {
    fill(data, config.rank, step);
    auto seconds = backend.allreduce_sum(data);
    if (!seconds) return std::unexpected(seconds.error());
    report.allreduce_seconds += *seconds;
    if (auto bad = verify(data, config.world, step))
      return failure("wrong sum at step " + std::to_string(step) + ", element " +
                         std::to_string(bad->index) + ": got " + std::to_string(bad->got) +
                         ", expected " + std::to_string(bad->want) + " (sum over " +
                         std::to_string(config.world) + " ranks)",
                     kExitMismatch);
    report.state = {step, fold_checksum(report.state.checksum, data)};
    ++report.steps_run;
    if (config.step_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(config.step_ms));
    if (!config.checkpoint_dir.empty() && config.checkpoint_every > 0 &&
        step % config.checkpoint_every == 0) {
      auto saved =
          write_checkpoint(config.checkpoint_dir, config.rank, report.state, config.identity());
      if (!saved) return std::unexpected(saved.error());
      log << "step " << step << "/" << config.steps << ": checkpoint committed" << std::endl;
    }
  }
  return report;
}

}  // namespace gantry::example
