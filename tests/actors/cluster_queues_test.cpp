// Queues as the cluster actor keeps them: definitions checked, stored before they take
// effect, restored at start; submits naming an unknown queue refused; a queue that holds
// unfinished jobs kept; only admins change queues.
#include <doctest/doctest.h>

#include "actors/actor_backend.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/queue_records.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

const char* kQueueJob = R"(name: q
queue: vision
stages:
  - name: a
    resources: { cpu: 1, memory: 64MiB }
    command: ["true"]
)";

struct queues_fixture : actor_fixture {
  cluster_actor start(recovered_state rs = {}) {
    auto c = spawn_cluster_actor(*sys, store, spawn_rendezvous_actor(*sys), std::move(rs),
                                 coordinator_config{});
    run();
    spawned.push_back(c);
    return c;
  }
  ~queues_fixture() {
    for (auto& c : spawned) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    run();
  }
  result<void> set(const cluster_actor& c, queue_change change) {
    return ask<result<void>>(c, msg::set_queue{std::move(change)}).value();
  }
  std::vector<queue_info> list(const cluster_actor& c) {
    return ask<result<std::vector<queue_info>>>(c, msg::list_queues{}).value().value();
  }
  std::vector<cluster_actor> spawned;
};

queue_change create(std::string name, std::optional<std::string> guarantee,
                    std::optional<std::string> limit = std::nullopt) {
  return {std::move(name), true, std::move(guarantee), std::move(limit), std::nullopt};
}

}  // namespace

TEST_CASE("queue records: a definition survives encoding, unlimited dimensions included") {
  sched::queue_spec q;
  q.name = "vision";
  q.guarantee = {64000, int64_t{512} << 30, 8000};
  q.limit = {sched::kNoLimit, sched::kNoLimit, 16000};
  q.weight = 2.5;
  auto back = decode_queue("vision", encode_queue(q));
  REQUIRE(back);
  CHECK(*back == q);
  auto broken = decode_queue("vision", R"({"guarantee":{"gpu_milli":"8"}})");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message == "stored queue vision: guarantee.gpu_milli: not an integer");
  // What validate() refuses is refused on load too.
  CHECK_FALSE(
      decode_queue("vision", R"({"guarantee":{"gpu_milli":8000},"limit":{"gpu_milli":1}})"));
}

TEST_CASE("queue records: a change sets only what it names and is validated") {
  auto made = apply_change(std::nullopt, create("vision", "gpu=8,cpu=64", "gpu=16"));
  REQUIRE(made);
  CHECK(made->guarantee == sched::queue_resources{64000, 0, 8000});
  CHECK(made->limit == sched::queue_resources{sched::kNoLimit, sched::kNoLimit, 16000});
  CHECK(made->weight == 1);

  queue_change weight{"vision", false, std::nullopt, std::nullopt, 3.0};
  auto updated = apply_change(*made, weight);
  REQUIRE(updated);
  CHECK(updated->guarantee == made->guarantee);
  CHECK(updated->limit == made->limit);
  CHECK(updated->weight == 3);

  queue_change unlimit{"vision", false, std::nullopt, "none", std::nullopt};
  CHECK(apply_change(*made, unlimit)->limit == sched::queue_resources::unlimited());

  auto again = apply_change(*made, create("vision", std::nullopt));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::already_exists);
  auto missing = apply_change(std::nullopt, weight);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "no queue vision (gantry queue list shows them)");
  auto below = apply_change(std::nullopt, create("vision", "gpu=8", "gpu=4"));
  REQUIRE_FALSE(below);
  CHECK(below.error().message.find("below the guarantee") != std::string::npos);
  auto typo = apply_change(std::nullopt, create("vision", "gpus=8"));
  REQUIRE_FALSE(typo);
  CHECK(typo.error().message.rfind("guarantee: ", 0) == 0);
}

TEST_CASE_FIXTURE(queues_fixture,
                  "queues: default always exists and cannot be deleted or limited") {
  auto c = start();
  auto queues = list(c);
  REQUIRE(queues.size() == 1);
  CHECK(queues[0].name == "default");
  CHECK(queues[0].limit == queue_quota{kQuotaUnlimited, kQuotaUnlimited, kQuotaUnlimited});
  auto del = ask<result<void>>(c, msg::delete_queue{"default"}).value();
  REQUIRE_FALSE(del);
  CHECK(del.error().message == "the default queue cannot be deleted");
  auto limited = set(c, queue_change{"default", false, std::nullopt, "gpu=4", std::nullopt});
  CHECK_FALSE(limited);
  CHECK(set(c, queue_change{"default", false, std::nullopt, std::nullopt, 2.0}));
  CHECK(list(c)[0].weight == 2);
}

TEST_CASE_FIXTURE(queues_fixture, "queues: a change is stored before it is seen") {
  auto c = start();
  *hold_persists = true;
  auto answered = std::make_shared<std::optional<result<void>>>();
  sys->spawn([c, answered](caf::event_based_actor* self) {
    self->request(c, caf::infinite, msg::set_queue{create("vision", "gpu=8")})
        .then([answered](result<void>& r) { *answered = r; });
  });
  run();
  CHECK_FALSE(answered->has_value());
  CHECK(*persisted_events == 1);
  // Asked meanwhile, the list waits for the write too (nothing reads a change not yet stored).
  auto seen = std::make_shared<std::vector<queue_info>>();
  sys->spawn([c, seen](caf::event_based_actor* self) {
    self->request(c, caf::infinite, msg::list_queues{})
        .then([seen](result<std::vector<queue_info>>& r) { *seen = r.value(); });
  });
  run();
  CHECK(seen->empty());
  caf::anon_send(store, release_persists{});
  run();
  REQUIRE(answered->has_value());
  CHECK(answered->value());
  REQUIRE(seen->size() == 2);
  CHECK((*seen)[1].name == "vision");
  CHECK((*seen)[1].guarantee == queue_quota{0, 0, 8000});
}

TEST_CASE_FIXTURE(queues_fixture, "queues: a refused write leaves the queues as they were") {
  auto c = start();
  *fail_persists = true;
  auto r = set(c, create("vision", "gpu=8"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::io_error);
  CHECK(list(c).size() == 1);
}

TEST_CASE_FIXTURE(queues_fixture, "queues: the stored ones are there again after a restart") {
  recovered_state rs;
  rs.queues.push_back(apply_change(std::nullopt, create("vision", "gpu=8", "gpu=16")).value());
  auto c = start(std::move(rs));
  auto queues = list(c);
  REQUIRE(queues.size() == 2);
  CHECK(queues[1].name == "vision");
  CHECK(queues[1].limit.gpu_milli == 16000);
}

TEST_CASE_FIXTURE(queues_fixture,
                  "queues: a submit naming an unknown queue is refused, naming it") {
  auto c = start();
  auto refused = ask<result<submit_reply>>(c, msg::submit{kQueueJob, "alice", true}).value();
  REQUIRE(refused);
  CHECK(refused->job_id.empty());
  REQUIRE(refused->errors.size() == 1);
  CHECK(refused->errors[0].path == "queue");
  CHECK(refused->errors[0].message ==
        "no queue \"vision\" on this coordinator (gantry queue list shows them)");

  REQUIRE(set(c, create("vision", "gpu=8")));
  auto accepted = ask<result<submit_reply>>(c, msg::submit{kQueueJob, "alice", true}).value();
  REQUIRE(accepted);
  CHECK(accepted->errors.empty());
  REQUIRE_FALSE(accepted->job_id.empty());
  auto jobs = ask<result<std::vector<job_summary>>>(c, msg::list_jobs{}).value().value();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].queue == "vision");

  // The job holds the queue until it ends.
  auto del = ask<result<void>>(c, msg::delete_queue{"vision"}).value();
  REQUIRE_FALSE(del);
  CHECK(del.error().message ==
        "queue vision holds 1 unfinished job; they must finish or be cancelled first");
  ask<result<void>>(c, msg::cancel{accepted->job_id});
  run();
  CHECK(ask<result<void>>(c, msg::delete_queue{"vision"}).value());
  CHECK(list(c).size() == 1);
}

TEST_CASE_FIXTURE(queues_fixture, "queues: only an admin creates, changes or deletes one") {
  auto c = start();
  auto backend = make_actor_backend(*sys, c, spawn_rendezvous_actor(*sys), nullptr);
  std::optional<result<void>> got;
  backend->set_queue(caller{"bob", caller_role::user}, create("vision", "gpu=8"),
                     [&](result<void> r) { got = r; });
  run();
  REQUIRE(got.has_value());
  REQUIRE_FALSE(*got);
  CHECK(got->error().code == errc::permission_denied);
  got.reset();
  backend->delete_queue(caller{"bob", caller_role::user}, "default",
                        [&](result<void> r) { got = r; });
  run();
  REQUIRE(got.has_value());
  CHECK(got->error().code == errc::permission_denied);
  CHECK(*persisted_events == 0);
  CHECK(list(c).size() == 1);
}
