#pragma once
// The key-value interface under the coordinator's state (LevelDB-style), with a RocksDB
// implementation for production and an in-memory one for tests.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gantry::storage {

// One keyspace per kind of record; keys of different columns never collide.
enum class column { nodes, jobs, events, meta, tokens, queues };
inline constexpr column kAllColumns[] = {column::nodes, column::jobs,   column::events,
                                         column::meta,  column::tokens, column::queues};

// "nodes", "jobs", "events", "meta", "tokens", "queues": also the RocksDB column family names.
const char* to_string(column cf);

struct write_op {
  column cf;
  std::string key;
  std::optional<std::string> value;  // nullopt = delete
};

class kv_store {
 public:
  virtual ~kv_store() = default;

  // Applies all ops atomically, in order (a later op on the same key wins): after a crash
  // either all of them are visible or none. With sync, returns only after the write is
  // durable (fsync). REQUIRES: sync for anything acknowledged to a user.
  virtual result<void> write(const std::vector<write_op>& ops, bool sync) = 0;

  // Returns the value of key, nullopt when absent.
  virtual result<std::optional<std::string>> get(column cf, std::string_view key) = 0;

  // Calls fn(key, value) for every key starting with prefix, in bytewise key order; fn
  // returns false to stop early. The views are valid only during the call.
  // REQUIRES: fn does not call back into this store.
  virtual result<void> scan(column cf, std::string_view prefix,
                            const std::function<bool(std::string_view, std::string_view)>& fn) = 0;

  // Reclaims the space of deleted keys in [begin, end] (both inclusive; empty = unbounded)
  // now, rather than whenever background compaction gets there. May take long: call it off
  // the write path. Safe to call concurrently with the other methods.
  virtual result<void> compact(column cf, std::string_view begin, std::string_view end) = 0;

  // Bytes of the store's data files (RocksDB: SST files of every column; in memory: the keys
  // and values held). The write-ahead log is not counted.
  virtual result<uint64_t> data_bytes() = 0;
};

// Free space a RocksDB store keeps by default: a memtable flush writes up to 64 MiB.
inline constexpr uint64_t kDefaultMinFreeBytes = 64 << 20;

// Opens (creating dir and the column families as needed) a RocksDB store in dir. Fails with
// errc::io_error naming dir and carrying RocksDB's status text; when another process (or
// store) holds dir, the message asks "is another coordinator running?".
// Full disk: a write while the file system holding dir has less than min_free_bytes free
// fails without reaching RocksDB, with an errc::io_error that starts "the coordinator's
// storage is full: DIR"; an existing store opened then is opened read-only (reads work) and
// reopened for writing by the first write that finds room again.
result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir,
                                               uint64_t min_free_bytes = kDefaultMinFreeBytes);

// An empty store in memory, with the same semantics (sync is a no-op). Thread-safe.
std::unique_ptr<kv_store> make_memory_store();

}  // namespace gantry::storage
