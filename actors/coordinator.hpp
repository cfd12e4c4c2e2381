#pragma once
// The coordinator's logic, wired: opens the store, recovers state from it, spawns the store
// and cluster actors, and exposes the coordinator API for the RPC adapter. main() (cli/)
// owns the actor system and the RPC thread; tests use this directly.
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/config.hpp"
#include "core/coordinator_api.hpp"
#include "storage/kv_store.hpp"

namespace gantry {

// What the coordinator checks credentials against (security/credential_files.hpp loads
// them). insecure: no checks at all (every connection is admin; `--insecure`).
struct coordinator_credentials_in {
  bool insecure = false;
  std::string admin_token;  // DATA/tokens/admin's text; empty: none
  std::string join_token;   // DATA/tokens/join's text; empty: none
};

class coordinator {
 public:
  // Opens (or creates) the RocksDB store in data_dir and recovers from it.
  static result<std::unique_ptr<coordinator>> open(caf::actor_system& sys,
                                                   const std::string& data_dir,
                                                   coordinator_config config,
                                                   coordinator_credentials_in creds = {});
  // Same over any kv_store (tests use the in-memory one). The store must outlive this.
  static result<std::unique_ptr<coordinator>> open(caf::actor_system& sys,
                                                   std::unique_ptr<storage::kv_store> kv,
                                                   coordinator_config config,
                                                   coordinator_credentials_in creds = {});
  ~coordinator();

  coordinator_backend& api();
  cluster_actor cluster() const;
  // Stops the actors; pending requests fail. Idempotent.
  void stop();

  struct impl;

 private:
  explicit coordinator(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace gantry
