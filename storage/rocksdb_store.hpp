#pragma once
// RocksDB-specific entry points beyond storage/kv_store.hpp, for tests that inject faults.
#include <memory>
#include <string>

#include "storage/kv_store.hpp"

namespace rocksdb {
class Env;
}

namespace gantry::storage {

// Like open_rocksdb(dir, min_free_bytes), with every file operation going through env (not
// owned; it must outlive the store). nullptr = the default environment.
result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir, rocksdb::Env* env,
                                               uint64_t min_free_bytes = kDefaultMinFreeBytes);

}  // namespace gantry::storage
