#pragma once
// A small cluster and a queue book for the queue tests, with helpers that play the
// coordinator's part: submit requests, run rounds, end work and carry out stop orders.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "scheduler/queues/queue_book.hpp"

namespace gantry::sched::test {

inline queue_spec make_queue(const std::string& name, const std::string& guarantee = "",
                             const std::string& limit = "", double weight = 1) {
  queue_spec q;
  q.name = name;
  if (!guarantee.empty()) q.guarantee = parse_queue_resources(guarantee).value();
  if (!limit.empty()) q.limit = parse_queue_resources(limit, kNoLimit).value();
  q.weight = weight;
  return q;
}

struct queue_cluster {
  cluster_view view;
  queue_book book;
  int64_t now = 0;
  uint64_t seq = 0;
  // What each placed request holds now (what the test gives back when it ends).
  std::map<std::string, std::vector<task_assignment>> running;
  std::vector<stop_order> stops;  // every stop order of every round

  // `nodes` nodes n0, n1, ... of `gpus` GPUs and 64 cores each; FirstFit unless told.
  explicit queue_cluster(int nodes, int gpus, queue_book_config cfg = {},
                         policy_kind policy = policy_kind::first_fit)
      : book(policy, 1, cfg) {
    for (int i = 0; i < nodes; ++i)
      view.upsert_node(make_node("n" + std::to_string(i), 64000, gpus));
  }

  void define(const queue_spec& q) { REQUIRE(book.define(q)); }

  // A request of `count` tasks with `gpus` whole GPUs each (a gang when count > 1).
  queued_request job(const std::string& id, const std::string& queue, int32_t gpus,
                     int32_t count = 1, int32_t priority = 0) {
    queued_request r;
    r.request = gpu_task(id, gpus, kGpuMilliWhole, count);
    r.request.priority = priority;
    r.request.submit_seq = ++seq;
    r.job = id;
    r.queue = queue;
    for (int32_t i = 0; i < count; ++i) r.ranks.push_back(i);
    return r;
  }
  void submit(queued_request r) { REQUIRE(book.submit(std::move(r))); }
  void submit(const std::string& id, const std::string& queue, int32_t gpus, int32_t count = 1,
              int32_t priority = 0) {
    submit(job(id, queue, gpus, count, priority));
  }

  book_round round() {
    book_round r = book.schedule(view, now);
    for (const auto& a : r.placed) {
      CHECK_FALSE(running.contains(a.placed.request_id));
      running[a.placed.request_id] = a.placed.tasks;
    }
    stops.insert(stops.end(), r.stops.begin(), r.stops.end());
    return r;
  }

  // The request's tasks end (exit, or stop after a stop order): all of them are given back.
  void end(const std::string& id) {
    auto it = running.find(id);
    REQUIRE(it != running.end());
    for (const auto& a : it->second) book.release(view, id, a);
    running.erase(it);
  }
  int32_t gpus_used_on(const std::string& node) const {
    int32_t used = 0;
    for (const auto& g : view.find(node)->gpus) used += g.free_milli == 0 ? 1 : 0;
    return used;
  }
  bool is_running(const std::string& id) const { return running.contains(id); }
  const queue_status& status_of(const std::string& queue) {
    statuses_ = book.status();
    auto it = std::find_if(statuses_.begin(), statuses_.end(),
                           [&](const queue_status& s) { return s.name == queue; });
    REQUIRE(it != statuses_.end());
    return *it;
  }

 private:
  std::vector<queue_status> statuses_;
};

inline const unschedulable* pending_of(const book_round& r, const std::string& id) {
  for (const auto& u : r.pending)
    if (u.request_id == id) return &u;
  return nullptr;
}

inline std::vector<std::string> stopped_ids(const book_round& r) {
  std::vector<std::string> ids;
  for (const auto& o : r.stops) ids.push_back(o.request_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace gantry::sched::test
