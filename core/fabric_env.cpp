#include "core/fabric_env.hpp"

#include <string_view>

namespace gantry {

std::vector<std::pair<std::string, std::string>> fabric_environment(const std::string& provider) {
  if (provider.empty()) return {};
  std::vector<std::pair<std::string, std::string>> env{{"FI_PROVIDER", provider}};
  // NCCL's transport follows the core provider: "verbs;ofi_rxm" runs over verbs.
  const std::string_view core = std::string_view(provider).substr(0, provider.find(';'));
  if (core == "verbs") {
    env.insert(env.end(), {{"NCCL_NET", "IB"}, {"NCCL_IB_DISABLE", "0"}});
  } else if (core == "efa") {
    env.insert(env.end(), {{"NCCL_NET", "AWS Libfabric"}, {"FI_EFA_USE_DEVICE_RDMA", "1"}});
  } else if (core == "tcp" || core == "sockets" || core == "udp") {
    env.insert(env.end(), {{"NCCL_NET", "Socket"}, {"NCCL_IB_DISABLE", "1"}});
  } else if (core == "shm") {
    env.insert(env.end(), {{"NCCL_IB_DISABLE", "1"}});
  }
  return env;
}

}  // namespace gantry
