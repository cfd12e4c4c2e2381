#pragma once
// The CPU all-reduce: ranks form a ring over TCP (rank r sends to r+1 and receives from r-1)
// and run the classic ring algorithm, a reduce-scatter then an all-gather of W-1 steps each
// on W chunks, so every rank sends and receives 2(W-1)/W of the data.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

struct ring_options {
  std::string advertise_host = "127.0.0.1";  // how the predecessor reaches this rank
  uint32_t timeout_ms = 120000;  // for the rendezvous, connecting, and any stalled transfer
};

// [begin, end) of chunk c when n elements are split into w chunks; chunks differ in size by
// at most one element and may be empty (n < w).
inline std::pair<size_t, size_t> chunk_bounds(size_t n, int w, int c) {
  auto at = [&](int k) { return n / w * k + std::min<size_t>(n % w, k); };
  return {at(c), at(c + 1)};
}

// The address other ranks can reach this machine at: the local address of the route
// towards `peer_host` (MASTER_ADDR, rank 0's machine), else this machine's hostname.
std::string advertise_address(const std::string& peer_host);

class tcp_ring final : public allreduce_backend {
 public:
  // Joins the ring: listens on a free port, puts "ring/<rank>" = "HOST:PORT", gets the
  // successor's address, connects to it, and accepts the predecessor (checked by a
  // handshake), all within options.timeout_ms: a peer that never joins fails the join with
  // an error naming it. World size 1 opens no socket. REQUIRES: 0 <= rank < world.
  static outcome<std::unique_ptr<tcp_ring>> join(int rank, int world, rendezvous& rdv,
                                                 const ring_options& options);
  ~tcp_ring() override;
  tcp_ring(const tcp_ring&) = delete;
  tcp_ring& operator=(const tcp_ring&) = delete;

  // Each exchange with the neighbours is a step of examples/allreduce/bounded_wait.hpp:
  // it fails when it has no result within the timeout.
  outcome<double> allreduce_sum(std::span<float> data) override;
  // Shuts both connections down: the neighbours see the ring closed at once.
  void abort() override;
  const char* name() const override { return "cpu"; }

 private:
  tcp_ring(int rank, int world, uint32_t timeout_ms);
  // Sends `send` to the successor while receiving `recv` from the predecessor, both at once
  // (poll), so that neither side blocks on a full socket buffer; a bounded step.
  outcome<void> exchange(std::span<const float> send, std::span<float> recv);

  int rank_;
  int world_;
  uint32_t timeout_ms_;
  int send_fd_ = -1;  // to rank + 1
  int recv_fd_ = -1;  // from rank - 1
  std::vector<float> scratch_;
};

}  // namespace gantry::example
