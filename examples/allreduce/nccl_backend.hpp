#pragma once
// The NCCL all-reduce on this rank's GPU. Defined in nccl_backend.cpp, which is compiled
// only when CMake found the CUDA toolkit and NCCL (GANTRY_EXAMPLE_WITH_CUDA); it calls the
// CUDA runtime API and NCCL from plain C++, so nvcc is not needed.
#include <memory>
#include <string>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

// The number of CUDA devices this process sees (at least 1); an error carries the CUDA
// runtime's text, e.g. "CUDA driver version is insufficient for CUDA runtime version".
outcome<int> cuda_device_count();

// A fresh ncclUniqueId as lowercase hex (rank 0 makes it and publishes it).
outcome<std::string> nccl_new_id_hex();

// Creates this rank's NCCL communicator on `device`, non-blocking. Collective: every rank
// of the world calls it with the same id; it returns once all have joined, or fails (and
// aborts the communicator) when they have not within timeout_ms. The backend's
// all-reduces are bounded by the same timeout and abort the communicator on an error or a
// timeout (examples/allreduce/bounded_wait.hpp).
outcome<std::unique_ptr<allreduce_backend>> nccl_join(int rank, int world, int device,
                                                      const std::string& id_hex,
                                                      uint32_t timeout_ms);

}  // namespace gantry::example
