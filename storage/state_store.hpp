#pragma once
// Typed access to the coordinator's durable state (jobs, events, nodes, meta) over a
// kv_store; used by the store actor, its one owner (not thread-safe itself). Records are
// stored as JSON (storage/codec.hpp); docs/storage.md has the layout and the figures.
//   jobs:   <job id>                        -> job_record
//   events: <job id>/<seq, 20 digits>       -> job_event   (one job's events in seq order)
//   nodes:  <node name>                     -> node_record
//   meta:   <key>                           -> string      ("schema_version" = "1")
//   tokens: <token id>                      -> a token record's JSON (security/token_record.hpp:
//                                              never a token, only its hash), kept opaque here
//   queues: <queue name>                    -> a queue definition's JSON
//   (actors/queue_records.hpp),
//                                              kept opaque here
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/records.hpp"
#include "core/result.hpp"
#include "storage/kv_store.hpp"

namespace gantry::storage {

inline constexpr int kSchemaVersion = 1;
inline constexpr const char* kSchemaVersionKey = "schema_version";

// "j-000042/00000000000000000007". REQUIRES: job_id contains no '/'.
std::string event_key(std::string_view job_id, uint64_t seq);

class state_store {
 public:
  // A set of changes committed together. Encoding happens when an op is added.
  class batch {
   public:
    void put_job(const job_record& job);
    // REQUIRES: event.job_id is not empty and contains no '/'.
    void put_event(const job_event& event);
    void put_node(const node_record& node);  // keyed by node.inventory.name
    void erase_node(const std::string& name);
    void put_meta(std::string key, std::string value);
    void put_token(std::string id, std::string record_json);
    void erase_token(std::string id);
    void put_queue(std::string name, std::string definition_json);
    void erase_queue(std::string name);
    // Appends other's ops after this batch's (later ops win on the same key).
    void merge(batch&& other);
    bool empty() const { return ops_.empty(); }
    size_t size() const { return ops_.size(); }

   private:
    friend class state_store;
    std::vector<write_op> ops_;
  };

  // kv must outlive this object.
  explicit state_store(kv_store& kv);

  // One atomic, synced write. An empty batch writes nothing.
  result<void> commit(const batch& b);
  // Group commit: all batches in one atomic, synced write, applied in order.
  result<void> commit(const std::vector<const batch*>& group);

  // Every job, in submission order (job_record::submit_seq). A record that does not decode
  // fails the whole load with an error naming its key.
  result<std::vector<job_record>> load_jobs();
  result<std::optional<job_record>> get_job(const std::string& id);
  // Every node, in name order.
  result<std::vector<node_record>> load_nodes();
  // The job's events with seq >= from_seq, ascending.
  result<std::vector<job_event>> load_events(const std::string& job_id, uint64_t from_seq);
  result<std::optional<std::string>> get_meta(const std::string& key);
  // Every stored token record's JSON, in id order, as (id, JSON) pairs.
  result<std::vector<std::pair<std::string, std::string>>> load_tokens();
  // Every stored queue definition's JSON, in name order, as (name, JSON) pairs.
  result<std::vector<std::pair<std::string, std::string>>> load_queues();

  // Adds to b the deletion of each job's record and of every one of its events (found by a
  // scan now: events added later are not deleted).
  result<void> add_forget(batch& b, const std::vector<std::string>& ids);
  // Reclaims the space of forgotten jobs whose ids lie in [first_id, last_id] (kv_store::compact
  // on both columns). Slow; safe to call from another thread than the other methods.
  result<void> reclaim(const std::string& first_id, const std::string& last_id);

  // Writes the schema version into a store that has none; accepts kSchemaVersion; any other
  // version gives errc::version_mismatch naming both.
  result<void> check_schema();

 private:
  kv_store& kv_;
};

}  // namespace gantry::storage
