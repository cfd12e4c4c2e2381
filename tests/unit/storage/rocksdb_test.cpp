// RocksDB only: durability across reopen and SIGKILL, locking, full disk, foreign families.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "samples.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/state_store.hpp"

using namespace gantry;
using namespace gantry::storage;
using namespace gantry::testing;

namespace {

// Batch i of the crash test: a job, three events of one long-lived job, and a counter.
state_store::batch crash_batch(uint64_t i) {
  state_store::batch b;
  b.put_job(sample_job(i));
  for (uint64_t k = 1; k <= 3; ++k) b.put_event(sample_event("j-crash", 3 * i + k));
  b.put_meta("last_batch", std::to_string(i));
  return b;
}

// Present entirely, or absent entirely; never torn.
enum class presence { whole, absent, torn };
presence find_batch(state_store& store, uint64_t i) {
  auto job = store.get_job(job_id(i)).value();
  auto events = store.load_events("j-crash", 3 * i + 1).value();
  int parts = job.has_value();
  if (job) REQUIRE(*job == sample_job(i));
  for (uint64_t k = 1; k <= 3; ++k)
    if (events.size() >= k && events[k - 1].seq == 3 * i + k) {
      REQUIRE(events[k - 1] == sample_event("j-crash", 3 * i + k));
      ++parts;
    }
  return parts == 4 ? presence::whole : parts == 0 ? presence::absent : presence::torn;
}

// Reads one byte, waiting at most timeout_ms. Returns false on timeout or EOF.
bool read_ack(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  char c;
  return read(fd, &c, 1) == 1;
}

}  // namespace

TEST_CASE("rocksdb: a reopened store returns what was written") {
  temp_dir dir;
  {
    auto kv = open_rocksdb(dir.sub("a/b/db"));  // creates parents
    REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
    state_store store(**kv);
    REQUIRE(store.check_schema());
    for (uint64_t i = 0; i < 20; ++i) REQUIRE(store.commit(crash_batch(i)));
    state_store::batch b;
    b.put_node(sample_node("gpu-a"));
    REQUIRE(store.commit(b));
  }
  auto kv = open_rocksdb(dir.sub("a/b/db"));
  REQUIRE(kv.has_value());
  state_store store(**kv);
  REQUIRE(store.check_schema());
  CHECK(store.load_jobs().value().size() == 20);
  for (uint64_t i = 0; i < 20; ++i) CHECK(find_batch(store, i) == presence::whole);
  CHECK(store.load_nodes().value() == std::vector<node_record>{sample_node("gpu-a")});
}

TEST_CASE("rocksdb: every acknowledged batch survives a SIGKILL mid-stream") {
  temp_dir dir;
  const std::string db = dir.sub("db");
  int acks[2];
  REQUIRE(pipe(acks) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child writes until it is killed; it never returns into doctest.
    close(acks[0]);
    auto kv = open_rocksdb(db);
    if (!kv) _exit(2);
    state_store store(**kv);
    for (uint64_t i = 0;; ++i) {
      if (!store.commit(crash_batch(i))) _exit(3);
      char c = 1;
      if (write(acks[1], &c, 1) != 1) _exit(4);
    }
  }
  close(acks[1]);
  // Kill somewhere between batch 100 and 300 (ack order is the only sync we use).
  const uint64_t kill_after = 100 + static_cast<uint64_t>(getpid()) % 200;
  MESSAGE("killing the writer after ack " << kill_after);
  uint64_t acked = 0;
  bool child_ok = true;
  while (acked < kill_after && (child_ok = read_ack(acks[0], 30'000))) {
    ++acked;
    if (acked == 1) {
      auto second = open_rocksdb(db);  // the child holds the lock now
      REQUIRE_FALSE(second.has_value());
      CHECK(second.error().message.find(db) != std::string::npos);
      CHECK(second.error().message.find("is another coordinator running?") != std::string::npos);
    }
  }
  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE_MESSAGE(child_ok, "the writer stopped acknowledging; exit status " << status);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  while (read_ack(acks[0], 0)) ++acked;  // acks sent before the kill landed count too
  close(acks[0]);

  auto kv = open_rocksdb(db);
  REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
  state_store store(**kv);
  for (uint64_t i = 0; i < acked; ++i) {
    CAPTURE(i);
    REQUIRE(find_batch(store, i) == presence::whole);
  }
  // Past the last ack, at most the batch in flight may have landed, and whole.
  const auto next = find_batch(store, acked);
  CHECK(next != presence::torn);
  CHECK(find_batch(store, acked + 1) == presence::absent);
  const auto last = store.get_meta("last_batch").value();
  REQUIRE(last.has_value());
  CHECK(std::stoull(*last) == (next == presence::whole ? acked : acked - 1));
  MESSAGE(acked << " batches acknowledged, all intact after SIGKILL");
}

TEST_CASE("rocksdb: a second open in the same process is refused clearly") {
  temp_dir dir;
  auto first = open_rocksdb(dir.path);
  REQUIRE(first.has_value());
  auto second = open_rocksdb(dir.path);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::io_error);
  CHECK(second.error().message.find("is another coordinator running?") != std::string::npos);
  first->reset();
  CHECK(open_rocksdb(dir.path).has_value());  // the lock goes with the store
}

TEST_CASE("rocksdb: a path that cannot be a store gives an error naming it") {
  temp_dir dir;
  std::ofstream(dir.sub("file")) << "x";
  auto r = open_rocksdb(dir.sub("file"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::io_error);
  CHECK(r.error().message.find(dir.sub("file")) != std::string::npos);
}

TEST_CASE("rocksdb: column families added by a newer version are kept, not refused") {
  temp_dir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.path, &raw).ok());
    rocksdb::ColumnFamilyHandle* h = nullptr;
    REQUIRE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "future", &h).ok());
    REQUIRE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto kv = open_rocksdb(dir.path);
  REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
  REQUIRE((*kv)->write({{column::jobs, "k", "v"}}, true));
  CHECK((*kv)->get(column::jobs, "k").value() == "v");
}

TEST_CASE("rocksdb: a store made before the queues column opens, and gets it") {
  temp_dir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families{{rocksdb::kDefaultColumnFamilyName, {}}};
    for (const char* name : {"nodes", "jobs", "events", "meta", "tokens"})
      families.push_back({name, {}});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.path, families, &handles, &raw).ok());
    REQUIRE(raw->Put(rocksdb::WriteOptions(), handles[2], "j-000001", "{}").ok());
    for (auto* h : handles) REQUIRE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto kv = open_rocksdb(dir.path);
  REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
  CHECK((*kv)->get(column::jobs, "j-000001").value() == "{}");
  REQUIRE((*kv)->write({{column::queues, "vision", "{}"}}, true));
  CHECK((*kv)->get(column::queues, "vision").value() == "{}");
}

namespace {

// A file system whose disk can be made full: writes and syncs then fail with ENOSPC.
class full_disk_fs : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "full_disk_fs"; }
  std::atomic<bool> full{false};

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (full) return rocksdb::IOStatus::NoSpace(f);
    auto s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<file>(std::move(*r), this);
    return s;
  }

 private:
  struct file : rocksdb::FSWritableFileOwnerWrapper {
    file(std::unique_ptr<rocksdb::FSWritableFile> f, full_disk_fs* fs)
        : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* g) override {
      return fs_->full ? rocksdb::IOStatus::NoSpace("append") : target()->Append(d, o, g);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* g) override {
      return fs_->full ? rocksdb::IOStatus::NoSpace("append") : target()->Append(d, o, v, g);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      return fs_->full ? rocksdb::IOStatus::NoSpace("sync") : target()->Sync(o, g);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      return fs_->full ? rocksdb::IOStatus::NoSpace("fsync") : target()->Fsync(o, g);
    }
    full_disk_fs* fs_;
  };
};

}  // namespace

TEST_CASE("rocksdb: a full disk fails writes with a clear error, and recovers with room") {
  temp_dir dir;
  auto fs = std::make_shared<full_disk_fs>(rocksdb::FileSystem::Default());
  auto env = rocksdb::NewCompositeEnv(fs);
  {
    auto kv = open_rocksdb(dir.path, env.get());
    REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
    state_store store(**kv);
    REQUIRE(store.commit(crash_batch(0)));

    fs->full = true;
    auto r = store.commit(crash_batch(1));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::io_error);
    CHECK(r.error().message.find("No space left on device") != std::string::npos);
    CHECK(r.error().message.find(dir.path) != std::string::npos);
    MESSAGE("full disk: " << r.error().message);
    CHECK_FALSE(store.commit(crash_batch(2)).has_value());  // still full: still an error
    CHECK(find_batch(store, 0) == presence::whole);         // reads go on

    fs->full = false;
  }
  // Room again: a coordinator restart reopens the store; what was synced is intact and
  // writes work.
  auto kv = open_rocksdb(dir.path);
  REQUIRE_MESSAGE(kv.has_value(), kv.error().message);
  state_store store(**kv);
  REQUIRE(store.commit(crash_batch(3)));
  CHECK(find_batch(store, 0) == presence::whole);
  CHECK(find_batch(store, 3) == presence::whole);
  CHECK(find_batch(store, 1) != presence::torn);
  CHECK(find_batch(store, 2) != presence::torn);
}
