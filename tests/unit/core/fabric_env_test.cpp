#include <doctest/doctest.h>

#include <map>

#include "core/fabric_env.hpp"

using gantry::fabric_environment;

namespace {
std::map<std::string, std::string> as_map(const std::string& provider) {
  auto env = fabric_environment(provider);
  return {env.begin(), env.end()};
}
}  // namespace

TEST_CASE("a required fabric points libfabric and NCCL at it") {
  CHECK(fabric_environment("").empty());
  auto verbs = as_map("verbs");
  CHECK(verbs["FI_PROVIDER"] == "verbs");
  CHECK(verbs["NCCL_NET"] == "IB");
  CHECK(verbs["NCCL_IB_DISABLE"] == "0");
  auto efa = as_map("efa");
  CHECK(efa["NCCL_NET"] == "AWS Libfabric");
  CHECK(efa["FI_EFA_USE_DEVICE_RDMA"] == "1");
  auto tcp = as_map("tcp");
  CHECK(tcp["NCCL_NET"] == "Socket");
  CHECK(tcp["NCCL_IB_DISABLE"] == "1");
  CHECK(as_map("shm").count("NCCL_NET") == 0);
  CHECK(as_map("psm3") == std::map<std::string, std::string>{{"FI_PROVIDER", "psm3"}});
}

TEST_CASE("a layered provider chain is passed whole, NCCL following its core provider") {
  auto rxm = as_map("verbs;ofi_rxm");
  CHECK(rxm["FI_PROVIDER"] == "verbs;ofi_rxm");
  CHECK(rxm["NCCL_NET"] == "IB");
  CHECK(rxm["NCCL_IB_DISABLE"] == "0");
  auto tcp = as_map("tcp;ofi_rxm");
  CHECK(tcp["FI_PROVIDER"] == "tcp;ofi_rxm");
  CHECK(tcp["NCCL_NET"] == "Socket");
}
