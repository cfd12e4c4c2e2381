#include "worker/inventory/fabric.hpp"

#include <dlfcn.h>
#include <rdma/fabric.h>
#include <rdma/fi_errno.h>

#include <set>

namespace gantry::inventory {
namespace {

// libfabric is loaded only here, at run time: linking it would make every gantry process
// (even `gantry jobs`) pay for its dependencies' constructors at start-up (libinfinipath
// alone sleeps ~200 ms).
struct libfabric {
  decltype(&fi_getinfo) getinfo = nullptr;
  decltype(&fi_freeinfo) freeinfo = nullptr;
  decltype(&fi_version) version = nullptr;
  decltype(&fi_strerror) strerror = nullptr;
  std::string error;
};

const libfabric& load_libfabric() {
  static const libfabric lib = [] {
    libfabric l;
    void* h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      l.error = std::string("libfabric.so.1 not loadable: ") + (e ? e : "?");
      return l;
    }
    l.getinfo = reinterpret_cast<decltype(&fi_getinfo)>(dlsym(h, "fi_getinfo"));
    l.freeinfo = reinterpret_cast<decltype(&fi_freeinfo)>(dlsym(h, "fi_freeinfo"));
    l.version = reinterpret_cast<decltype(&fi_version)>(dlsym(h, "fi_version"));
    l.strerror = reinterpret_cast<decltype(&fi_strerror)>(dlsym(h, "fi_strerror"));
    if (!l.getinfo || !l.freeinfo || !l.version || !l.strerror)
      l.error = "libfabric.so.1 lacks fi_getinfo/fi_freeinfo/fi_version/fi_strerror";
    return l;
  }();
  return lib;
}

}  // namespace

std::string core_provider_name(std::string_view prov_name) {
  return std::string(prov_name.substr(0, prov_name.find(';')));
}

std::vector<std::string> probe_fabric_providers(std::string& diagnostic) {
  const libfabric& lib = load_libfabric();
  if (!lib.error.empty()) {
    diagnostic = lib.error + "; no fabrics";
    return {};
  }
  fi_info* info = nullptr;
  int rc = lib.getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, nullptr, &info);
  if (rc != 0) {
    diagnostic = std::string("fi_getinfo failed: ") + lib.strerror(-rc) + "; no fabrics";
    if (info) lib.freeinfo(info);
    return {};
  }
  std::set<std::string> names;
  for (const fi_info* p = info; p; p = p->next) {
    if (!p->fabric_attr || !p->fabric_attr->prov_name) continue;
    std::string chain = p->fabric_attr->prov_name;
    std::string core = core_provider_name(chain);
    if (!core.empty()) names.insert(std::move(core));
    if (!chain.empty()) names.insert(std::move(chain));
  }
  lib.freeinfo(info);
  std::vector<std::string> out(names.begin(), names.end());
  diagnostic = "libfabric " + std::to_string(FI_MAJOR(lib.version())) + "." +
               std::to_string(FI_MINOR(lib.version())) + ": " + std::to_string(out.size()) +
               " providers";
  return out;
}

}  // namespace gantry::inventory
