#include "worker/inventory/fabric.hpp"

#include <rdma/fabric.h>
#include <rdma/fi_errno.h>

#include <set>

namespace gantry::inventory {

std::string core_provider_name(std::string_view prov_name) {
  return std::string(prov_name.substr(0, prov_name.find(';')));
}

std::vector<std::string> probe_fabric_providers(std::string& diagnostic) {
  fi_info* info = nullptr;
  int rc = fi_getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, nullptr, &info);
  if (rc != 0) {
    diagnostic = std::string("fi_getinfo failed: ") + fi_strerror(-rc) + "; no fabrics";
    if (info) fi_freeinfo(info);
    return {};
  }
  std::set<std::string> names;
  for (const fi_info* p = info; p; p = p->next) {
    if (!p->fabric_attr || !p->fabric_attr->prov_name) continue;
    std::string name = core_provider_name(p->fabric_attr->prov_name);
    if (!name.empty()) names.insert(std::move(name));
  }
  fi_freeinfo(info);
  std::vector<std::string> out(names.begin(), names.end());
  diagnostic = "libfabric " + std::to_string(FI_MAJOR(fi_version())) + "." +
               std::to_string(FI_MINOR(fi_version())) + ": " + std::to_string(out.size()) +
               " providers";
  return out;
}

}  // namespace gantry::inventory
