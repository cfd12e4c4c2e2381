// Admission across queues: guarantees, limits, borrowing by weighted DRF, priority then FIFO
// within a queue, the gang reservation, queue definitions and their status.
#include <doctest/doctest.h>

#include "queue_helpers.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

TEST_CASE("the default queue always exists, unknown queues and busy queues are refused") {
  queue_cluster c(1, 4);
  REQUIRE(c.book.find_queue("default") != nullptr);
  CHECK(c.book.remove("default").error().code == errc::failed_precondition);
  CHECK(c.book.remove("nope").error().code == errc::not_found);
  CHECK(c.book.submit(c.job("j1", "nope", 1)).error().code == errc::not_found);
  CHECK(c.book.define(make_queue("default", "gpu=1")).error().code == errc::invalid_argument);
  c.define(make_queue("default", "", "", 3));  // its weight may change
  CHECK(c.book.find_queue("default")->weight == 3);

  c.define(make_queue("vision", "gpu=2"));
  c.submit("j1", "vision", 1);
  CHECK(c.book.remove("vision").error().message.find("1 pending") != std::string::npos);
  c.round();
  CHECK(c.book.remove("vision").error().message.find("1 running") != std::string::npos);
  c.end("j1");
  CHECK(c.book.remove("vision"));
  CHECK(c.book.find_queue("vision") == nullptr);
}

TEST_CASE("within a queue: priority, then submission order") {
  queue_cluster c(1, 1);
  c.submit("low-1", "default", 1, 1, 0);
  c.submit("high", "default", 1, 1, 5);
  c.submit("low-2", "default", 1, 1, 0);
  auto r = c.round();
  REQUIRE(r.placed.size() == 1);
  CHECK(r.placed[0].placed.request_id == "high");
  CHECK(r.pending.size() == 2);
  c.end("high");
  r = c.round();
  REQUIRE(r.placed.size() == 1);
  CHECK(r.placed[0].placed.request_id == "low-1");
  CHECK(r.stops.empty());  // equal priorities never preempt
}

TEST_CASE("a queue borrows idle capacity up to its limit") {
  queue_cluster c(2, 4);
  c.define(make_queue("a", "gpu=2", "gpu=4"));
  for (int i = 0; i < 6; ++i) c.submit("a" + std::to_string(i), "a", 1);
  auto r = c.round();
  REQUIRE(r.placed.size() == 4);
  CHECK_FALSE(r.placed[0].borrowed);
  CHECK_FALSE(r.placed[1].borrowed);
  CHECK(r.placed[2].borrowed);
  CHECK(r.placed[3].borrowed);
  REQUIRE(pending_of(r, "a4") != nullptr);
  CHECK(pending_of(r, "a4")->reason == "queue a is at its limit (4 gpu; in use 4 gpu)");
  const queue_status& s = c.status_of("a");
  CHECK(s.usage.gpu_milli == 4000);
  CHECK(s.borrowed.gpu_milli == 2000);
  CHECK(s.pending_requests == 2);
  CHECK(s.pending_jobs == 2);
  CHECK(s.pending_demand.gpu_milli == 2000);
  CHECK(s.running == 4);
  CHECK(s.limit.gpu_milli == 4000);
  CHECK(s.limit.cpu_milli == kNoLimit);
  CHECK(c.view.find("n1")->gpus[3].free_milli == kGpuMilliWhole);  // idle, but beyond the limit
}

TEST_CASE("a request above its queue's limit says so and does not hold the queue back") {
  queue_cluster c(2, 4);
  c.define(make_queue("a", "", "gpu=4"));
  c.submit("big", "a", 6);
  c.submit("small", "a", 1);
  auto r = c.round();
  REQUIRE(pending_of(r, "big") != nullptr);
  CHECK(pending_of(r, "big")->reason == "needs 6 gpu, more than queue a's limit (4 gpu)");
  CHECK(c.is_running("small"));
}

TEST_CASE("a request blocked by its queue's limit keeps later ones of the queue from its room") {
  queue_cluster c(2, 4);
  c.define(make_queue("a", "", "gpu=4"));
  c.submit("r1", "a", 1);
  c.submit("r2", "a", 1);
  c.round();
  c.submit("three", "a", 3);  // 2 + 3 > 4: waits for room
  c.submit("one", "a", 1);    // 2 + 1 fits, but would take the room "three" waits for
  auto r = c.round();
  CHECK(r.placed.empty());
  REQUIRE(pending_of(r, "one") != nullptr);
  CHECK(pending_of(r, "one")->reason.find("at its limit") != std::string::npos);
  c.end("r1");
  r = c.round();
  REQUIRE(r.placed.size() == 1);
  CHECK(r.placed[0].placed.request_id == "three");
  CHECK(c.status_of("a").usage.gpu_milli == 4000);
}

TEST_CASE("requests within their queue's guarantee are admitted before borrowers") {
  queue_cluster c(1, 4);
  c.define(make_queue("g", "gpu=2"));
  for (int i = 0; i < 4; ++i) c.submit("b" + std::to_string(i), "default", 1);  // older
  for (int i = 0; i < 4; ++i) c.submit("g" + std::to_string(i), "g", 1);
  auto r = c.round();
  REQUIRE(r.placed.size() == 4);
  CHECK(r.placed[0].queue == "g");
  CHECK(r.placed[1].queue == "g");
  // Then borrowing by DRF: both borrow nothing yet, so the older request goes first
  // (default's), then g (share 0 against default's 1/4), then default again.
  CHECK(r.placed[2].queue == "default");
  CHECK(r.placed[3].queue == "g");
  CHECK(r.placed[3].borrowed);
}

TEST_CASE("borrowed capacity is shared by weighted DRF") {
  queue_cluster c(1, 6);
  c.define(make_queue("a", "", "", 1));
  c.define(make_queue("b", "", "", 2));
  for (int i = 0; i < 6; ++i) c.submit("a" + std::to_string(i), "a", 1);
  for (int i = 0; i < 6; ++i) c.submit("b" + std::to_string(i), "b", 1);
  auto r = c.round();
  REQUIRE(r.placed.size() == 6);
  CHECK(c.status_of("a").usage.gpu_milli == 2000);
  CHECK(c.status_of("b").usage.gpu_milli == 4000);
  // Freed capacity goes to the queue furthest below its weighted share.
  c.end("b0");
  c.end("b1");
  r = c.round();
  CHECK(c.status_of("a").usage.gpu_milli == 2000);
  CHECK(c.status_of("b").usage.gpu_milli == 4000);
}

TEST_CASE("the head-of-line reservation still keeps later requests off its nodes") {
  queue_cluster c(2, 2);
  c.submit("fill-a", "default", 1);
  c.submit("fill-b", "default", 1);
  c.submit("fill-c", "default", 1);
  c.round();
  REQUIRE(c.gpus_used_on("n0") == 2);
  REQUIRE(c.gpus_used_on("n1") == 1);
  c.submit("whole", "default", 2);  // blocked: reserves n1, the node closest to hosting it
  c.submit("small", "default", 1);  // would fit n1's free GPU, but that is reserved
  auto r = c.round();
  REQUIRE(pending_of(r, "small") != nullptr);
  CHECK(pending_of(r, "small")->reason.find("reserved for whole") != std::string::npos);
  CHECK(c.gpus_used_on("n1") == 1);
  c.end("fill-c");
  r = c.round();
  CHECK(c.is_running("whole"));
  CHECK_FALSE(c.is_running("small"));
  c.end("fill-a");
  c.round();
  CHECK(c.is_running("small"));
}

TEST_CASE("an elastic or fixed request is charged at what it holds, status is per queue") {
  queue_cluster c(1, 8);
  c.define(make_queue("vision", "gpu=4,cpu=8", "gpu=6", 2));
  c.submit("v1", "vision", 2);
  c.submit("v2", "vision", 3);
  c.round();
  const queue_status& s = c.status_of("vision");
  CHECK(s.guarantee == queue_resources{8000, 0, 4000});
  CHECK(s.weight == 2);
  CHECK(s.usage.gpu_milli == 5000);
  CHECK(s.usage.cpu_milli == 2000);
  CHECK(s.borrowed == queue_resources{0, 0, 1000});
  const auto all = c.book.status();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "default");
  CHECK(all[1].name == "vision");
}

TEST_CASE("withdrawn requests leave, work placed outside the book is still given back") {
  queue_cluster c(1, 2);
  c.submit("a", "default", 2);
  c.submit("b", "default", 1);
  c.book.withdraw("b");
  c.book.withdraw("b");  // no-op
  CHECK(c.book.pending() == 1);
  c.round();
  CHECK(c.book.pending() == 0);
  CHECK(c.book.running() == 1);
  task_assignment stray;
  stray.node = "n0";
  stray.cpu_milli = 500;
  c.view.apply(placement{"stray", {stray}});
  c.book.release(c.view, "stray", stray);
  CHECK(c.view.find("n0")->free_cpu_milli == 64000 - 1000);  // a's CPU alone
}
