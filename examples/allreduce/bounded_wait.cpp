#include "examples/allreduce/bounded_wait.hpp"

#include <chrono>
#include <thread>

namespace gantry::example {

outcome<void> wait_for_step(const std::function<step_status()>& step, uint32_t timeout_ms,
                            const std::string& what) {
  using clock_type = std::chrono::steady_clock;
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    step_status s = step();
    if (s.state == step_state::done) return {};
    if (s.state == step_state::failed) return failure(what + ": " + s.error);
    if (clock_type::now() >= deadline)
      return failure(what + ": no result within " + std::to_string(timeout_ms) + " ms");
    std::this_thread::yield();
  }
}

}  // namespace gantry::example
