// kv_store on RocksDB: one column family per column, every Status translated to an error.
#include "storage/rocksdb_store.hpp"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

#include "core/log.hpp"
#include "core/quantity.hpp"

namespace gantry::storage {
namespace {

bool is_lock_error(const rocksdb::Status& s) {
  // "While lock file: DIR/LOCK: Resource temporarily unavailable" (another process) or
  // "lock hold by current process, ..." (this one).
  const std::string text = s.ToString();
  return s.IsIOError() &&
         (text.find("/LOCK") != std::string::npos || text.find("lock hold") != std::string::npos);
}

// The smallest key greater than every key that starts with prefix; empty = none.
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// Bytes free to an unprivileged writer on the file system holding `dir`; nullopt when
// statvfs fails.
std::optional<uint64_t> free_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// "" when `dir` has min_free bytes free (or they cannot be counted), else why it is full.
std::string full_disk_problem(const std::string& dir, uint64_t min_free) {
  auto free = free_bytes(dir);
  if (!free || *free >= min_free) return "";
  return "the coordinator's storage is full: " + dir + " has " +
         format_bytes(static_cast<int64_t>(*free)) + " free; writes need at least " +
         format_bytes(static_cast<int64_t>(min_free)) + " (--min-free-disk-bytes)";
}

bool is_no_space(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.ToString().find("No space left") != std::string::npos;
}

// One open RocksDB instance and its column family handles.
struct open_db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> all;  // every family open, ours and unknown ones
  std::vector<rocksdb::ColumnFamilyHandle*> cf;   // indexed by column
  bool read_only = false;

  void close() {
    if (!db) return;
    for (auto* h : all) db->DestroyColumnFamilyHandle(h);
    all.clear();
    cf.clear();
    db->Close();  // a failure here loses nothing synced; the caller cannot act on it
    db.reset();
  }
};

result<open_db> open_at(const std::string& dir, rocksdb::Env* env, bool read_only);

class rocksdb_store final : public kv_store {
 public:
  rocksdb_store(std::string dir, rocksdb::Env* env, uint64_t min_free, open_db db)
      : dir_(std::move(dir)), env_(env), min_free_(min_free), db_(std::move(db)) {}

  ~rocksdb_store() override { db_.close(); }

  result<void> write(const std::vector<write_op>& ops, bool sync) override {
    if (ops.empty()) return {};
    // RocksDB is never allowed to meet a full disk: Debian's build asserts on some writes
    // after a failed one, and a later open on a full disk aborts the same way.
    if (auto full = full_disk_problem(dir_, min_free_); !full.empty())
      return fail(errc::io_error, full);
    if (db_.read_only) {
      auto writable = open_at(dir_, env_, false);
      if (!writable) return fail(writable.error());
      db_.close();
      db_ = std::move(*writable);
      log_info("state store " + dir_ + ": room again; writes resume");
    }
    auto& db = db_.db;
    try {
      rocksdb::WriteBatch wb;
      for (const auto& op : ops) {
        auto* cf = db_.cf[static_cast<size_t>(op.cf)];
        auto s = op.value ? wb.Put(cf, op.key, *op.value) : wb.Delete(cf, op.key);
        if (!s.ok()) return fail(io("write batch", s));
      }
      // After a failed write RocksDB refuses all writes until it recovers (say, once a full
      // disk has room again). Its own recovery may be under way (Resume is then Busy); either
      // way the write below reports what still fails.
      if (write_failed_) db->Resume();
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      auto s = db->Write(wo, &wb);
      write_failed_ = !s.ok();
      if (is_no_space(s))
        return fail(errc::io_error,
                    "the coordinator's storage is full: " + dir_ + ": " + s.ToString());
      if (!s.ok()) return fail(io("write", s));
      return {};
    } catch (const std::exception& e) {
      write_failed_ = true;
      return fail(errc::io_error, "state store " + dir_ + ": write: " + e.what());
    }
  }

  result<std::optional<std::string>> get(column cf, std::string_view key) override {
    try {
      std::string value;
      auto s = db_.db->Get(rocksdb::ReadOptions(), db_.cf[static_cast<size_t>(cf)], key, &value);
      if (s.IsNotFound()) return std::optional<std::string>();
      if (!s.ok()) return fail(io("get", s));
      return std::optional<std::string>(std::move(value));
    } catch (const std::exception& e) {
      return fail(errc::io_error, "state store " + dir_ + ": get: " + e.what());
    }
  }

  result<void> scan(column cf, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
    try {
      rocksdb::ReadOptions ro;
      const std::string end = prefix_end(prefix);
      rocksdb::Slice upper(end);
      if (!end.empty()) ro.iterate_upper_bound = &upper;  // skips tombstones past the prefix
      std::unique_ptr<rocksdb::Iterator> it(
          db_.db->NewIterator(ro, db_.cf[static_cast<size_t>(cf)]));
      for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
        auto k = it->key();
        std::string_view key(k.data(), k.size());
        if (!key.starts_with(prefix)) break;
        auto v = it->value();
        if (!fn(key, std::string_view(v.data(), v.size()))) break;
      }
      if (!it->status().ok()) return fail(io("scan", it->status()));
      return {};
    } catch (const std::exception& e) {
      return fail(errc::io_error, "state store " + dir_ + ": scan: " + e.what());
    }
  }

  result<void> compact(column cf, std::string_view begin, std::string_view end) override {
    try {
      rocksdb::Slice b(begin.data(), begin.size()), e(end.data(), end.size());
      rocksdb::CompactRangeOptions o;
      // Tombstones only vanish in the bottommost level: rewrite it too.
      o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      auto s = db_.db->CompactRange(o, db_.cf[static_cast<size_t>(cf)],
                                    begin.empty() ? nullptr : &b, end.empty() ? nullptr : &e);
      if (!s.ok()) return fail(io("compact", s));
      return {};
    } catch (const std::exception& ex) {
      return fail(errc::io_error, "state store " + dir_ + ": compact: " + ex.what());
    }
  }

  result<uint64_t> data_bytes() override {
    uint64_t total = 0;
    for (auto* h : db_.cf) {
      uint64_t v = 0;
      if (db_.db->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) total += v;
    }
    return total;
  }

 private:
  error io(const char* op, const rocksdb::Status& s) const {
    return error::io("state store " + dir_ + ": " + op + " failed: " + s.ToString());
  }

  std::string dir_;
  rocksdb::Env* env_;
  uint64_t min_free_;
  open_db db_;
  bool write_failed_ = false;
};

rocksdb::Options make_options(rocksdb::Env* env) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  if (env) o.env = env;
  // A WAL file lives until every family with data in it is flushed; cap their total so a
  // quiet family cannot make a restart replay gigabytes.
  o.max_total_wal_size = 64 << 20;
  o.keep_log_file_num = 5;
  o.max_log_file_size = 16 << 20;
  auto supported = rocksdb::GetSupportedCompressions();
  if (std::ranges::find(supported, rocksdb::kLZ4Compression) != supported.end())
    o.compression = rocksdb::kLZ4Compression;  // JSON shrinks ~4x; LZ4 decodes fastest
  return o;
}

result<open_db> open_at(const std::string& dir, rocksdb::Env* env, bool read_only) {
  const auto options = make_options(env);
  // Every existing family must be opened, including ones a newer gantry added.
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(options, dir, &names).ok()) names.clear();  // new dir
  auto want = [&](const std::string& n) {
    if (std::ranges::find(names, n) == names.end()) names.push_back(n);
  };
  want(rocksdb::kDefaultColumnFamilyName);
  for (column c : kAllColumns) want(to_string(c));

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions(options));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = read_only ? rocksdb::DB::OpenForReadOnly(options, dir, descs, &handles, &db)
                     : rocksdb::DB::Open(options, dir, descs, &handles, &db);
  if (!s.ok()) {
    if (is_lock_error(s))
      return fail(errc::io_error, "state store " + dir +
                                      " is locked by another process (is another coordinator "
                                      "running?): " +
                                      s.ToString());
    if (is_no_space(s))
      return fail(errc::io_error,
                  "the coordinator's storage is full: " + dir + ": " + s.ToString());
    return fail(errc::io_error, "state store " + dir + ": open failed: " + s.ToString());
  }
  open_db out;
  out.db.reset(db);
  out.read_only = read_only;
  for (column c : kAllColumns) {
    auto i = std::ranges::find(names, std::string(to_string(c))) - names.begin();
    out.cf.push_back(handles[i]);
  }
  out.all = std::move(handles);
  return out;
}

}  // namespace

result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir, uint64_t min_free_bytes) {
  return open_rocksdb(dir, nullptr, min_free_bytes);
}

result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir, rocksdb::Env* env,
                                               uint64_t min_free_bytes) {
  try {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(errc::io_error, "state store " + dir + ": cannot create: " + ec.message());
    // On a full disk an existing store opens read-only: reads are served, and the first
    // write after room returns reopens it for writing.
    std::string full = full_disk_problem(dir, min_free_bytes);
    bool exists = std::filesystem::exists(dir + "/CURRENT", ec);
    if (!full.empty() && !exists) return fail(errc::io_error, full);
    auto db = open_at(dir, env, !full.empty());
    if (!db) return fail(db.error());
    if (!full.empty()) log_warn(full + "; serving reads only until there is room");
    return std::unique_ptr<kv_store>(
        std::make_unique<rocksdb_store>(dir, env, min_free_bytes, std::move(*db)));
  } catch (const std::exception& e) {
    return fail(errc::io_error, "state store " + dir + ": open: " + e.what());
  }
}

}  // namespace gantry::storage
