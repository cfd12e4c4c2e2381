#pragma once
// Fabric discovery through libfabric: which providers (tcp, shm, verbs, efa, ...) work here.
#include <string>
#include <string_view>
#include <vector>

namespace gantry::inventory {

// The core provider of a libfabric provider name: "tcp;ofi_rxm" -> "tcp", "verbs" -> "verbs".
std::string core_provider_name(std::string_view prov_name);

// Calls fi_getinfo(FI_VERSION(1, 17), no hints) and returns, sorted and distinct, every
// fabric_attr->prov_name as libfabric names it (a layered stack keeps its whole chain,
// "verbs;ofi_rxm") and the core provider of each ("verbs"), so a stage's `fabric:` may name
// either. Empty with a diagnostic when fi_getinfo fails; on
// success `diagnostic` holds one summary line. libfabric honours FI_PROVIDER (to restrict the
// providers) and FI_LOG_LEVEL; with FI_LOG_LEVEL unset it logs nothing, and we leave it so.
// Takes ~0.1 s on a plain machine.
std::vector<std::string> probe_fabric_providers(std::string& diagnostic);

}  // namespace gantry::inventory
