#pragma once
// Deterministic actor tests: CAF's test coordinator runs one message at a time on demand and
// has a manual clock. Stub actors stand in for the cluster, the nodes and the store: the
// cluster and node stubs record what they receive (whatever it is, so they are cast to the
// typed handles they stand in for), the store stub implements the store's interface.
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "actors/messages.hpp"

namespace gantry::test {

using inbox = std::shared_ptr<std::vector<caf::message>>;

struct release_persists {};  // to the stub store: answer every held persist now

using store_stub_actor = store_actor::extend<caf::reacts_to<release_persists>>;

// Collects what a job publishes to its watchers.
class recording_sink final : public event_sink {
 public:
  void push(std::vector<job_event> events) override {
    for (auto& e : events) received.push_back(std::move(e));
  }
  bool closed() const override { return false; }
  std::vector<job_event> received;
};

// Answers launches with increasing pids and records kills and signals (called on actor
// threads).
class fake_agent final : public task_agent {
 public:
  void launch(task_spec task, callback<int64_t> done) override {
    launched.push_back(task);
    done(static_cast<int64_t>(1000 + launched.size()));
  }
  void kill(std::string task_id, uint32_t, callback<void> done) override {
    killed.push_back(task_id);
    done({});
  }
  void read_log(std::string, uint64_t, uint32_t, callback<log_chunk> done) override {
    done(log_chunk{});
  }
  void signal(std::string task_id, int32_t sig, callback<void> done) override {
    signalled.emplace_back(std::move(task_id), sig);
    done({});
  }
  std::vector<task_spec> launched;
  std::vector<std::string> killed;
  std::vector<std::pair<std::string, int32_t>> signalled;
};

struct actor_fixture {
  actor_fixture();
  ~actor_fixture();

  // Runs every pending message (no time passes).
  void run() { sched->run(); }
  // All messages of type T that `box` received, in order.
  template <class T>
  std::vector<T> received(const inbox& box) const {
    std::vector<T> out;
    for (auto& m : *box)
      if (m.match_elements<T>()) out.push_back(m.get_as<T>(0));
    return out;
  }

  // Sends `m` as a request and runs until the reply; nullopt when the request failed.
  template <class R, class Handle, class Msg>
  std::optional<R> ask(const Handle& target, Msg m) {
    auto out = std::make_shared<std::optional<R>>();
    sys->spawn([target, m = std::move(m), out](caf::event_based_actor* self) mutable {
      self->request(target, caf::infinite, std::move(m))
          .then([out](R& r) { *out = std::move(r); }, [](caf::error&) {});
    });
    run();
    return *out;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  inbox to_cluster = std::make_shared<std::vector<caf::message>>();
  inbox to_node = std::make_shared<std::vector<caf::message>>();
  cluster_actor cluster;   // records into to_cluster
  node_actor node;         // records into to_node
  store_stub_actor store;  // holds persists while hold_persists is true, fails them while
                           // fail_persists is
  std::shared_ptr<bool> hold_persists = std::make_shared<bool>(false);
  std::shared_ptr<size_t> persisted_events = std::make_shared<size_t>(0);
  // While true, every persist fails at once (a full disk) and is not counted.
  std::shared_ptr<bool> fail_persists = std::make_shared<bool>(false);
};

}  // namespace gantry::test

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::test::release_persists)
