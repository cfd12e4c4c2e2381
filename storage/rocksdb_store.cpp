// kv_store on RocksDB: one column family per column, every Status translated to an error.
#include "storage/rocksdb_store.hpp"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

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

class rocksdb_store final : public kv_store {
 public:
  rocksdb_store(std::string dir, rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> all,
                std::vector<rocksdb::ColumnFamilyHandle*> ours)
      : dir_(std::move(dir)), db_(db), all_(std::move(all)), cf_(std::move(ours)) {}

  ~rocksdb_store() override {
    for (auto* h : all_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();  // a failure here loses nothing synced; the destructor cannot report it
  }

  result<void> write(const std::vector<write_op>& ops, bool sync) override {
    if (ops.empty()) return {};
    try {
      rocksdb::WriteBatch wb;
      for (const auto& op : ops) {
        auto* cf = cf_[static_cast<size_t>(op.cf)];
        auto s = op.value ? wb.Put(cf, op.key, *op.value) : wb.Delete(cf, op.key);
        if (!s.ok()) return fail(io("write batch", s));
      }
      // After a failed write RocksDB refuses all writes until it recovers (say, once a full
      // disk has room again). Its own recovery may be under way (Resume is then Busy); either
      // way the write below reports what still fails.
      if (write_failed_) db_->Resume();
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      auto s = db_->Write(wo, &wb);
      write_failed_ = !s.ok();
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
      auto s = db_->Get(rocksdb::ReadOptions(), cf_[static_cast<size_t>(cf)], key, &value);
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
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[static_cast<size_t>(cf)]));
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

 private:
  error io(const char* op, const rocksdb::Status& s) const {
    return error::io("state store " + dir_ + ": " + op + " failed: " + s.ToString());
  }

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> all_;  // every family open, ours and unknown ones
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;   // indexed by column
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

}  // namespace

result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir) {
  return open_rocksdb(dir, nullptr);
}

result<std::unique_ptr<kv_store>> open_rocksdb(const std::string& dir, rocksdb::Env* env) {
  try {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(errc::io_error, "state store " + dir + ": cannot create: " + ec.message());

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
    auto s = rocksdb::DB::Open(options, dir, descs, &handles, &db);
    if (!s.ok()) {
      if (is_lock_error(s))
        return fail(errc::io_error, "state store " + dir +
                                        " is locked by another process (is another coordinator "
                                        "running?): " +
                                        s.ToString());
      return fail(errc::io_error, "state store " + dir + ": open failed: " + s.ToString());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> ours;
    for (column c : kAllColumns) {
      auto i = std::ranges::find(names, std::string(to_string(c))) - names.begin();
      ours.push_back(handles[i]);
    }
    return std::unique_ptr<kv_store>(
        std::make_unique<rocksdb_store>(dir, db, std::move(handles), std::move(ours)));
  } catch (const std::exception& e) {
    return fail(errc::io_error, "state store " + dir + ": open: " + e.what());
  }
}

}  // namespace gantry::storage
