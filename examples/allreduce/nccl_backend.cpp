#include "examples/allreduce/nccl_backend.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstring>

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

class nccl_allreduce final : public allreduce_backend {
 public:
  nccl_allreduce(ncclComm_t comm, cudaStream_t stream) : comm_(comm), stream_(stream) {}
  ~nccl_allreduce() override {
    if (buffer_) cudaFree(buffer_);
    if (comm_) (failed_ ? ncclCommAbort(comm_) : ncclCommDestroy(comm_));
    if (stream_) cudaStreamDestroy(stream_);
  }
  nccl_allreduce(const nccl_allreduce&) = delete;
  nccl_allreduce& operator=(const nccl_allreduce&) = delete;

  outcome<double> allreduce_sum(std::span<float> data) override {
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
    auto r = ncclAllReduce(buffer_, buffer_, data.size(), ncclFloat, ncclSum, comm_, stream_);
    if (r != ncclSuccess) return fail_with("ncclAllReduce: " + nccl_text(r, comm_));
    if (e = cudaStreamSynchronize(stream_); e != cudaSuccess)
      return fail_with("ncclAllReduce: " + cuda_text(e));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    e = cudaMemcpyAsync(data.data(), buffer_, data.size_bytes(), cudaMemcpyDeviceToHost, stream_);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess) return fail_with("copy from the GPU: " + cuda_text(e));
    return seconds;
  }

  const char* name() const override { return "nccl"; }

 private:
  std::unexpected<run_error> fail_with(const std::string& what) {
    failed_ = true;  // the communicator may be wedged: abort rather than destroy it
    return failure("nccl: " + what);
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
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
                                                      const std::string& id_hex) {
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
  ncclComm_t comm = nullptr;
  if (auto r = ncclCommInitRank(&comm, world, id, rank); r != ncclSuccess) {
    cudaStreamDestroy(stream);
    return failure("nccl: ncclCommInitRank(rank " + std::to_string(rank) + " of " +
                   std::to_string(world) + "): " + nccl_text(r, nullptr));
  }
  return std::make_unique<nccl_allreduce>(comm, stream);
}

}  // namespace gantry::example
