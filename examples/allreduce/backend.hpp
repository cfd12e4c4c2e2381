#pragma once
// What the all-reduce example's parts share: errors as values with the exit code they mean,
// the rendezvous the ranks exchange small values through, and the all-reduce backend.
#include <cstdint>
#include <expected>
#include <span>
#include <string>

namespace gantry::example {

// Exit codes of gantry-example-allreduce.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // rendezvous, network, file or GPU failure
inline constexpr int kExitUsage = 2;     // bad flags or environment
inline constexpr int kExitMismatch = 3;  // an all-reduce gave a wrong sum

struct run_error {
  int exit_code = kExitFailure;
  std::string message;  // one line, says what failed and where
};

template <class T>
using outcome = std::expected<T, run_error>;

inline std::unexpected<run_error> failure(std::string message, int exit_code = kExitFailure) {
  return std::unexpected<run_error>(run_error{exit_code, std::move(message)});
}

// Where the ranks of one gang attempt exchange small values (gantry's GANTRY_RENDEZVOUS, or
// an in-process map in tests). Values of one attempt never mix with another's.
class rendezvous {
 public:
  virtual ~rendezvous() = default;
  virtual outcome<void> put(const std::string& key, const std::string& value) = 0;
  // Waits up to timeout_ms for the key; an error names the key when nobody put it in time.
  virtual outcome<std::string> get(const std::string& key, uint32_t timeout_ms) = 0;
};

// One all-reduce implementation (the CPU ring over TCP, or NCCL on a GPU). All ranks of a
// gang call allreduce_sum the same number of times with the same length.
class allreduce_backend {
 public:
  virtual ~allreduce_backend() = default;
  // Replaces `data` on every rank by the element-wise sum over ranks. Returns the seconds
  // spent in the collective itself (host<->device copies excluded).
  virtual outcome<double> allreduce_sum(std::span<float> data) = 0;
  // Ends this rank's part in the collective so its peers fail at once instead of at their
  // timeout, and nothing here waits on a peer again (NCCL: ncclCommAbort). Called after an
  // error or a timeout; the backend only fails after it. Buffers are freed after the abort.
  virtual void abort() = 0;
  // "cpu" or "nccl", as the result file names it.
  virtual const char* name() const = 0;
};

}  // namespace gantry::example
