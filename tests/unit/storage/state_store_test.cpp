// One suite, run against both kv_store implementations: the memory store must behave like
// the RocksDB one, or tests that use it prove nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "samples.hpp"
#include "storage/kv_store.hpp"
#include "storage/state_store.hpp"

using namespace gantry;
using namespace gantry::storage;
using namespace gantry::testing;

namespace storage_suite {

struct memory_backend {
  std::unique_ptr<kv_store> kv = make_memory_store();
};

struct rocksdb_backend {
  temp_dir dir;
  std::unique_ptr<kv_store> kv = open_rocksdb(dir.sub("db")).value();
};

}  // namespace storage_suite

TYPE_TO_STRING_AS("memory", storage_suite::memory_backend);
TYPE_TO_STRING_AS("rocksdb", storage_suite::rocksdb_backend);

namespace {

std::vector<std::pair<std::string, std::string>> scan_all(kv_store& kv, column cf,
                                                          std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  auto r = kv.scan(cf, prefix, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  REQUIRE(r.has_value());
  return out;
}

std::optional<std::string> get(kv_store& kv, column cf, std::string_view key) {
  auto r = kv.get(cf, key);
  REQUIRE(r.has_value());
  return *r;
}

}  // namespace

#define BACKENDS storage_suite::memory_backend, storage_suite::rocksdb_backend

TEST_CASE_TEMPLATE("kv: put, get and delete, each column its own keyspace", B, BACKENDS) {
  B b;
  kv_store& kv = *b.kv;
  CHECK_FALSE(get(kv, column::jobs, "k"));
  REQUIRE(kv.write({{column::jobs, "k", "v1"}, {column::nodes, "k", "node"}}, true));
  CHECK(get(kv, column::jobs, "k") == "v1");
  CHECK(get(kv, column::nodes, "k") == "node");
  CHECK_FALSE(get(kv, column::events, "k"));
  CHECK_FALSE(get(kv, column::meta, "k"));
  REQUIRE(kv.write({{column::jobs, "k", "v2"}}, false));
  CHECK(get(kv, column::jobs, "k") == "v2");
  REQUIRE(kv.write({{column::jobs, "k", std::nullopt}}, true));
  CHECK_FALSE(get(kv, column::jobs, "k"));
  CHECK(get(kv, column::nodes, "k") == "node");
  REQUIRE(kv.write({{column::jobs, "never-there", std::nullopt}}, true));  // no error
  REQUIRE(kv.write({}, true));
  const std::string binary("a\0b\xff", 4);
  REQUIRE(kv.write({{column::meta, binary, binary}, {column::meta, "", "empty key"}}, true));
  CHECK(get(kv, column::meta, binary) == binary);
  CHECK(get(kv, column::meta, "") == "empty key");
}

TEST_CASE_TEMPLATE("kv: a batch applies in order, later ops on a key win", B, BACKENDS) {
  B b;
  kv_store& kv = *b.kv;
  REQUIRE(kv.write({{column::jobs, "a", "1"}, {column::jobs, "b", "1"}}, true));
  REQUIRE(kv.write({{column::jobs, "a", "2"},
                    {column::jobs, "a", std::nullopt},
                    {column::jobs, "b", std::nullopt},
                    {column::jobs, "b", "3"},
                    {column::jobs, "c", "4"}},
                   true));
  CHECK_FALSE(get(kv, column::jobs, "a"));
  CHECK(get(kv, column::jobs, "b") == "3");
  CHECK(get(kv, column::jobs, "c") == "4");
}

TEST_CASE_TEMPLATE("kv: scan is in key order and stays inside its prefix", B, BACKENDS) {
  B b;
  kv_store& kv = *b.kv;
  std::vector<write_op> ops;
  for (const char* k : {"j-10/2", "j-1/2", "j-1/1", "j-10/1", "j-1", "j-2/1", "j-0/9", "j-1/3"})
    ops.push_back({column::events, k, std::string("v") + k});
  ops.push_back({column::events, "j-1/0", std::nullopt});
  ops.push_back({column::jobs, "j-1/9", "other column"});
  ops.push_back({column::events, std::string("j-1/\xff\xff", 6), "high"});
  ops.push_back({column::events, std::string("j-1\xff", 4), "past"});
  REQUIRE(kv.write(ops, true));

  auto j1 = scan_all(kv, column::events, "j-1/");
  REQUIRE(j1.size() == 4);
  CHECK(j1[0] == std::pair<std::string, std::string>{"j-1/1", "vj-1/1"});
  CHECK(j1[1].first == "j-1/2");
  CHECK(j1[2].first == "j-1/3");
  CHECK(j1[3].second == "high");
  auto j10 = scan_all(kv, column::events, "j-10/");
  REQUIRE(j10.size() == 2);
  CHECK(j10[0].first == "j-10/1");
  CHECK(j10[1].first == "j-10/2");
  auto all = scan_all(kv, column::events, "");
  REQUIRE(all.size() == 10);
  CHECK(std::ranges::is_sorted(all));
  CHECK(scan_all(kv, column::events, "zzz").empty());

  int seen = 0;
  REQUIRE(
      kv.scan(column::events, "", [&](std::string_view, std::string_view) { return ++seen < 3; }));
  CHECK(seen == 3);
}

TEST_CASE_TEMPLATE("state: jobs, nodes and meta put, get and load", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  CHECK(store.get_job("j-000001").value() == std::nullopt);
  CHECK(store.load_jobs().value().empty());

  // Ids sort differently from submission order; load_jobs follows submit_seq.
  state_store::batch batch;
  std::vector<job_record> jobs;
  for (uint64_t seq : {5, 1, 4, 2, 3}) {
    jobs.push_back(sample_job(seq));
    jobs.back().id = "j-" + std::to_string(100 - seq);
    batch.put_job(jobs.back());
  }
  batch.put_node(sample_node("node-b"));
  batch.put_node(sample_node("node-a"));
  batch.put_meta("next_job", "6");
  CHECK(batch.size() == 8);
  REQUIRE(store.commit(batch));

  auto loaded = store.load_jobs().value();
  REQUIRE(loaded.size() == 5);
  for (size_t i = 0; i < loaded.size(); ++i) CHECK(loaded[i].submit_seq == i + 1);
  CHECK(store.get_job(jobs[0].id).value() == jobs[0]);

  auto nodes = store.load_nodes().value();
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[0] == sample_node("node-a"));
  CHECK(store.get_meta("next_job").value() == "6");
  CHECK(store.get_meta("absent").value() == std::nullopt);

  state_store::batch update;
  jobs[0].state = job_state::succeeded;
  update.put_job(jobs[0]);
  update.erase_node("node-b");
  REQUIRE(store.commit(update));
  CHECK(store.get_job(jobs[0].id).value()->state == job_state::succeeded);
  REQUIRE(store.load_nodes().value().size() == 1);
  CHECK(store.load_jobs().value().size() == 5);
  REQUIRE(store.commit(state_store::batch{}));  // empty: nothing to do
}

TEST_CASE_TEMPLATE("state: queue definitions put, replace, erase and load by name", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  CHECK(store.load_queues().value().empty());
  state_store::batch batch;
  batch.put_queue("vision", R"({"weight":1})");
  batch.put_queue("nlp", R"({"weight":2})");
  batch.put_meta("vision", "not a queue");  // columns are apart
  REQUIRE(store.commit(batch));
  auto loaded = store.load_queues().value();
  REQUIRE(loaded.size() == 2);
  CHECK(loaded[0] == std::pair<std::string, std::string>{"nlp", R"({"weight":2})"});
  CHECK(loaded[1].first == "vision");

  state_store::batch change;
  change.put_queue("nlp", R"({"weight":3})");
  change.erase_queue("vision");
  REQUIRE(store.commit(change));
  loaded = store.load_queues().value();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].second == R"({"weight":3})");
  CHECK(store.get_meta("vision").value() == "not a queue");
}

TEST_CASE_TEMPLATE("state: load_events returns one job's events from a seq on", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  state_store::batch batch;
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    batch.put_event(sample_event("j-1", seq));
    batch.put_event(sample_event("j-10", seq));
  }
  batch.put_event(sample_event("j-2", 1));
  REQUIRE(store.commit(batch));

  auto all = store.load_events("j-1", 0).value();
  REQUIRE(all.size() == 12);  // seq 10..12 after 9, not after 1; no j-10 events
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i] == sample_event("j-1", i + 1));
  auto tail = store.load_events("j-1", 9).value();
  REQUIRE(tail.size() == 4);
  CHECK(tail.front().seq == 9);
  CHECK(tail.back().seq == 12);
  CHECK(store.load_events("j-1", 13).value().empty());
  CHECK(store.load_events("j-10", 12).value().size() == 1);
  CHECK(store.load_events("j-3", 0).value().empty());
  CHECK(event_key("j-1", 7) == "j-1/00000000000000000007");
  CHECK(event_key("j-1", UINT64_MAX) == "j-1/18446744073709551615");
}

TEST_CASE_TEMPLATE("state: group commit writes several batches as one", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  state_store::batch first, second, empty, third;
  job_record job = sample_job(1);
  first.put_job(job);
  first.put_event(sample_event(job.id, 1));
  job.state = job_state::succeeded;
  second.put_job(job);  // later batch wins on the same key
  second.put_event(sample_event(job.id, 2));
  third.put_node(sample_node("n1"));
  REQUIRE(store.commit({&first, &empty, &second, &third}));
  CHECK(store.get_job(job.id).value() == job);
  CHECK(store.load_events(job.id, 0).value().size() == 2);
  CHECK(store.load_nodes().value().size() == 1);
  REQUIRE(store.commit(std::vector<const state_store::batch*>{}));
  REQUIRE(store.commit({&empty}));

  state_store::batch merged;
  merged.put_meta("a", "1");
  state_store::batch more;
  more.put_meta("a", "2");
  more.put_meta("b", "3");
  merged.merge(std::move(more));
  CHECK(merged.size() == 3);
  CHECK(more.empty());
  REQUIRE(store.commit(merged));
  CHECK(store.get_meta("a").value() == "2");
  CHECK(store.get_meta("b").value() == "3");
}

TEST_CASE_TEMPLATE("state: schema version is written once and checked", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  CHECK(store.get_meta(kSchemaVersionKey).value() == std::nullopt);
  REQUIRE(store.check_schema());
  CHECK(store.get_meta(kSchemaVersionKey).value() == "1");
  REQUIRE(store.check_schema());

  REQUIRE(b.kv->write({{column::meta, kSchemaVersionKey, "2"}}, true));
  auto newer = store.check_schema();
  REQUIRE_FALSE(newer.has_value());
  CHECK(newer.error().code == errc::version_mismatch);
  CHECK(newer.error().message.find("version 2 is newer") != std::string::npos);
  CHECK(newer.error().message.find("version 1") != std::string::npos);

  REQUIRE(b.kv->write({{column::meta, kSchemaVersionKey, "one"}}, true));
  CHECK(store.check_schema().error().code == errc::version_mismatch);
}

TEST_CASE_TEMPLATE("state: a record that does not decode fails the load, naming it", B, BACKENDS) {
  B b;
  state_store store(*b.kv);
  state_store::batch batch;
  batch.put_job(sample_job(1));
  REQUIRE(store.commit(batch));
  REQUIRE(b.kv->write({{column::jobs, "j-000002", "{not json"},
                       {column::nodes, "n1", "[]"},
                       {column::events, event_key("j-1", 1), R"({"job_id":"j-1","kind":7})"}},
                      true));
  auto jobs = store.load_jobs();
  REQUIRE_FALSE(jobs.has_value());
  CHECK(jobs.error().message.starts_with("stored job j-000002: job_record"));
  CHECK(store.get_job("j-000002").error().code == errc::io_error);
  CHECK(store.load_nodes().error().message.starts_with("stored node n1: node_record"));
  CHECK(store.load_events("j-1", 0).error().message.find("kind") != std::string::npos);
  CHECK(store.get_job("j-000001").value().has_value());
}

TEST_CASE_TEMPLATE("state: forgetting jobs deletes their records and every event, nothing else", B,
                   BACKENDS) {
  B backend;
  state_store store(*backend.kv);
  state_store::batch b;
  for (uint64_t n = 1; n <= 4; ++n) {
    b.put_job(sample_job(n));
    for (uint64_t seq = 1; seq <= 3; ++seq) b.put_event(sample_event(job_id(n), seq));
  }
  b.put_event(sample_event(job_id(1) + "0", 1));  // shares job 1's id as a prefix
  REQUIRE(store.commit(b).has_value());
  state_store::batch forget;
  REQUIRE(store.add_forget(forget, {job_id(1), job_id(3), job_id(9)}).has_value());
  CHECK(forget.size() == 3 + 6);  // three records (one absent) and six events
  REQUIRE(store.commit(forget).has_value());
  CHECK_FALSE(store.get_job(job_id(1)).value().has_value());
  CHECK_FALSE(store.get_job(job_id(3)).value().has_value());
  CHECK(store.load_events(job_id(1), 1).value().empty());
  CHECK(store.load_events(job_id(3), 1).value().empty());
  CHECK(store.get_job(job_id(2)).value().has_value());
  CHECK(store.load_events(job_id(2), 1).value().size() == 3);
  CHECK(store.load_events(job_id(4), 1).value().size() == 3);
  CHECK(store.load_events(job_id(1) + "0", 1).value().size() == 1);
  CHECK(store.load_jobs().value().size() == 2);
}

TEST_CASE_TEMPLATE("state: reclaiming forgotten jobs gives their space back", B, BACKENDS) {
  B backend;
  state_store store(*backend.kv);
  constexpr uint64_t kJobs = 1000;
  for (uint64_t n = 1; n <= kJobs; n += 100) {
    state_store::batch b;
    for (uint64_t k = n; k < n + 100; ++k) {
      b.put_job(sample_job(k));
      for (uint64_t seq = 1; seq <= 8; ++seq) b.put_event(sample_event(job_id(k), seq));
    }
    REQUIRE(store.commit(b).has_value());
  }
  REQUIRE(store.reclaim(job_id(1), job_id(kJobs)).has_value());  // RocksDB: flushed to files
  uint64_t full = backend.kv->data_bytes().value();
  REQUIRE(full > 0);
  std::vector<std::string> old;
  for (uint64_t k = 1; k <= kJobs - 100; ++k) old.push_back(job_id(k));
  state_store::batch forget;
  REQUIRE(store.add_forget(forget, old).has_value());
  REQUIRE(store.commit(forget).has_value());
  REQUIRE(store.reclaim(old.front(), old.back()).has_value());
  uint64_t kept = backend.kv->data_bytes().value();
  MESSAGE("data bytes: " << full << " with " << kJobs << " jobs, " << kept << " with 100");
  CHECK(kept < full / 4);
  CHECK(store.load_jobs().value().size() == 100);
}
