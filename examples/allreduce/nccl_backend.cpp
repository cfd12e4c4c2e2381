#include "examples/allreduce/nccl_backend.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstring>

#include "examples/allreduce/bounded_wait.hpp"

namespace gantry::example {
namespace {

std::string cuda_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

std::string nccl_text(ncclResult_t r, ncclComm_t comm) {
  std::string text = ncclGetErrorString(r);
  const char* last = ncclGetLastError(comm);
  if (last && *last) text += std::string(" (") + last + ")";
  return text;
}

// Polls a non-blocking communicator's state: done once no operation is in progress,
// failed on an asynchronous error (a peer died, the network broke).
step_status comm_state(ncclComm_t comm) {
  ncclResult_t state = ncclSuccess;
  if (auto r = ncclCommGetAsyncError(comm, &state); r != ncclSuccess)
    return {step_state::failed, "ncclCommGetAsyncError: " + nccl_text(r, comm)};
  if (state == ncclInProgress) return {};
  if (state != ncclSuccess) return {step_state::failed, nccl_text(state, comm)};
  return {step_state::done, ""};
}

// One rank's communicator, non-blocking (ncclConfig_t::blocking = 0), so nothing here
// waits on a peer without a deadline (examples/allreduce/bounded_wait.hpp).
class nccl_allreduce final : public allreduce_backend {
 public:
  nccl_allreduce(ncclComm_t comm, cudaStream_t stream, uint32_t timeout_ms)
      : comm_(comm), stream_(stream), timeout_ms_(timeout_ms) {}
  ~nccl_allreduce() override {
    if (comm_ && !failed_) {
      // A clean end: flush, wait (bounded) for the flush, then destroy.
      auto r = ncclCommFinalize(comm_);
      if (r != ncclSuccess && r != ncclInProgress) failed_ = true;
      if (!failed_ &&
          !wait_for_step([&] { return comm_state(comm_); }, timeout_ms_, "ncclCommFinalize"))
        failed_ = true;
      if (!failed_) {
        ncclCommDestroy(comm_);
        comm_ = nullptr;
      }
    }
    abort();  // after an error: abort first, free the buffers after
    if (buffer_) cudaFree(buffer_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  nccl_allreduce(const nccl_allreduce&) = delete;
  nccl_allreduce& operator=(const nccl_allreduce&) = delete;

  outcome<double> allreduce_sum(std::span<float> data) override {
    if (!comm_) return failure("nccl: the communicator was aborted");
    if (data.empty()) return 0.0;
    if (data.size() > capacity_) {
      if (buffer_) cudaFree(buffer_);
      buffer_ = nullptr;
      capacity_ = 0;
      if (auto e = cudaMalloc(reinterpret_cast<void**>(&buffer_), data.size_bytes());
          e != cudaSuccess)
        return fail_with("cudaMalloc of " + std::to_string(data.size_bytes()) +
                         " bytes: " + cuda_text(e));
      capacity_ = data.size();
    }
    auto e =
        cudaMemcpyAsync(buffer_, data.data(), data.size_bytes(), cudaMemcpyHostToDevice, stream_);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess) return fail_with("copy to the GPU: " + cuda_text(e));
    auto start = std::chrono::steady_clock::now();
    // On a non-blocking communicator the call may return ncclInProgress while it enqueues.
    auto r = ncclAllReduce(buffer_, buffer_, data.size(), ncclFloat, ncclSum, comm_, stream_);
    if (r != ncclSuccess && r != ncclInProgress)
      return fail_with("ncclAllReduce: " + nccl_text(r, comm_));
    // Done when the stream has run it; a peer that hangs or dies shows as no result by the
    // deadline, or as the communicator's asynchronous error.
    auto done = wait_for_step(
        [&]() -> step_status {
          step_status comm = comm_state(comm_);
          if (comm.state == step_state::failed) return comm;
          if (comm.state == step_state::pending) return {};  // still enqueuing
          cudaError_t q = cudaStreamQuery(stream_);
          if (q == cudaSuccess) return {step_state::done, ""};
          if (q != cudaErrorNotReady) return {step_state::failed, cuda_text(q)};
          return {};
        },
        timeout_ms_, "ncclAllReduce");
    if (!done) return fail_with(done.error().message);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    e = cudaMemcpyAsync(data.data(), buffer_, data.size_bytes(), cudaMemcpyDeviceToHost, stream_);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess) return fail_with("copy from the GPU: " + cuda_text(e));
    return seconds;
  }

  void abort() override {
    if (comm_) ncclCommAbort(comm_);  // never waits on peers
    comm_ = nullptr;
    failed_ = true;
  }

  const char* name() const override { return "nccl"; }

 private:
  std::unexpected<run_error> fail_with(const std::string& what) {
    abort();  // the communicator may be wedged: abort it now, before anything is freed
    return failure("nccl: " + what);
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  uint32_t timeout_ms_;
  float* buffer_ = nullptr;
  size_t capacity_ = 0;
  bool failed_ = false;
};

}  // namespace

outcome<int> cuda_device_count() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return failure(cudaGetErrorString(e));
  if (count < 1) return failure("no CUDA device visible");
  return count;
}

outcome<std::string> nccl_new_id_hex() {
  ncclUniqueId id;
  if (auto r = ncclGetUniqueId(&id); r != ncclSuccess)
    return failure("nccl: ncclGetUniqueId: " + nccl_text(r, nullptr));
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < sizeof id.internal; ++i) {
    auto b = static_cast<unsigned char>(id.internal[i]);
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

outcome<std::unique_ptr<allreduce_backend>> nccl_join(int rank, int world, int device,
                                                      const std::string& id_hex,
                                                      uint32_t timeout_ms) {
  ncclUniqueId id;
  if (id_hex.size() != 2 * sizeof id.internal)
    return failure("nccl: the id from rank 0 has " + std::to_string(id_hex.size()) +
                   " hex digits, expected " + std::to_string(2 * sizeof id.internal));
  auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < sizeof id.internal; ++i) {
    int hi = nibble(id_hex[2 * i]), lo = nibble(id_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return failure("nccl: the id from rank 0 is not lowercase hex");
    id.internal[i] = static_cast<char>(hi * 16 + lo);
  }
  if (auto e = cudaSetDevice(device); e != cudaSuccess)
    return failure("cuda: cudaSetDevice(" + std::to_string(device) + "): " + cuda_text(e));
  cudaStream_t stream = nullptr;
  if (auto e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking); e != cudaSuccess)
    return failure("cuda: cudaStreamCreate: " + cuda_text(e));
  // Non-blocking: ncclCommInitRankConfig returns at once (ncclInProgress) and the join is
  // polled, so a peer that never joins costs timeout_ms, not forever.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const std::string what =
      "nccl: ncclCommInitRank(rank " + std::to_string(rank) + " of " + std::to_string(world) + ")";
  auto r = ncclCommInitRankConfig(&comm, world, id, rank, &config);
  outcome<void> joined;
  if (r != ncclSuccess && r != ncclInProgress)
    joined = failure(what + ": " + nccl_text(r, comm));
  else
    joined = wait_for_step([&] { return comm_state(comm); }, timeout_ms,
                           what + " (waiting for every rank to join)");
  if (!joined) {
    if (comm) ncclCommAbort(comm);
    cudaStreamDestroy(stream);
    return std::unexpected(joined.error());
  }
  return std::make_unique<nccl_allreduce>(comm, stream, timeout_ms);
}

}  // namespace gantry::example
