#pragma once
// The environment a task gets when its stage requires a fabric (`fabric: verbs`): libfabric
// and NCCL are pointed at that provider, so a program (or NCCL inside it) uses the network
// the scheduler placed it for. See docs/inventory.md ("Fabrics").
#include <string>
#include <utility>
#include <vector>

namespace gantry {

// FI_PROVIDER for every provider, as written (libfabric takes a layered chain such as
// "verbs;ofi_rxm" and then offers only that stack); for NCCL, the transport that matches its
// core provider (the name before the first ';'):
//   verbs -> InfiniBand/RoCE (NCCL_NET=IB, NCCL_IB_DISABLE=0)
//   efa   -> the aws-ofi-nccl plugin over libfabric (NCCL_NET="AWS Libfabric",
//            FI_EFA_USE_DEVICE_RDMA=1)
//   tcp, sockets, udp -> NCCL's own sockets (NCCL_NET=Socket, NCCL_IB_DISABLE=1)
//   shm   -> one machine: NCCL's shared memory and P2P (NCCL_IB_DISABLE=1)
// Other providers get FI_PROVIDER only. Empty `provider`: nothing.
std::vector<std::pair<std::string, std::string>> fabric_environment(const std::string& provider);

}  // namespace gantry
