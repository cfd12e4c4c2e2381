// The store's free-space reserve (open_rocksdb's min_free_bytes): below it writes are refused
// before RocksDB sees them, and an existing store opens read-only. The whole path (a tmpfs
// that fills and empties again) is tests/cluster/full_disk_test.cpp.
#include <doctest/doctest.h>

#include <cstdint>

#include "samples.hpp"
#include "storage/kv_store.hpp"
#include "storage/state_store.hpp"

using namespace gantry;
using namespace gantry::storage;
using namespace gantry::testing;

namespace {
// More than any disk has free: the store always finds it full.
constexpr uint64_t kNeverRoom = uint64_t{1} << 62;
}  // namespace

TEST_CASE("rocksdb: below the free-space reserve a write is refused as storage full") {
  temp_dir dir;
  {
    auto kv = open_rocksdb(dir.path);
    REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
    state_store store(**kv);
    state_store::batch b;
    b.put_job(sample_job(1));
    REQUIRE(store.commit(b));
  }
  // Reopened while "full": read-only, reads work, writes fail naming the directory.
  auto kv = open_rocksdb(dir.path, kNeverRoom);
  REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
  state_store store(**kv);
  auto job = store.get_job(job_id(1));
  REQUIRE(job.has_value());
  CHECK(*job == sample_job(1));
  state_store::batch b;
  b.put_job(sample_job(2));
  auto r = store.commit(b);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::io_error);
  CHECK(r.error().message.starts_with("the coordinator's storage is full: " + dir.path + " has "));
  CHECK(r.error().message.ends_with(" (--min-free-disk-bytes)"));
  CHECK_FALSE(store.get_job(job_id(2)).value().has_value());
}

TEST_CASE("rocksdb: a new store cannot be created on a full disk, and says so") {
  temp_dir dir;
  auto kv = open_rocksdb(dir.path + "/new", kNeverRoom);
  REQUIRE_FALSE(kv.has_value());
  CHECK(kv.error().message.starts_with("the coordinator's storage is full: " + dir.path + "/new"));
}
