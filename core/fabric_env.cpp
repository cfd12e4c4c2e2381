#include "core/fabric_env.hpp"

namespace gantry {

std::vector<std::pair<std::string, std::string>> fabric_environment(const std::string& provider) {
  if (provider.empty()) return {};
  std::vector<std::pair<std::string, std::string>> env{{"FI_PROVIDER", provider}};
  if (provider == "verbs") {
    env.insert(env.end(), {{"NCCL_NET", "IB"}, {"NCCL_IB_DISABLE", "0"}});
  } else if (provider == "efa") {
    env.insert(env.end(), {{"NCCL_NET", "AWS Libfabric"}, {"FI_EFA_USE_DEVICE_RDMA", "1"}});
  } else if (provider == "tcp" || provider == "sockets" || provider == "udp") {
    env.insert(env.end(), {{"NCCL_NET", "Socket"}, {"NCCL_IB_DISABLE", "1"}});
  } else if (provider == "shm") {
    env.insert(env.end(), {{"NCCL_IB_DISABLE", "1"}});
  }
  return env;
}

}  // namespace gantry
