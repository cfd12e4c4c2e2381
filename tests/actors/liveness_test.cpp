// The silence a worker may keep before its node is lost (actors/liveness.hpp), as plain C++.
#include <doctest/doctest.h>

#include "actors/liveness.hpp"

using namespace gantry;

namespace {

constexpr int64_t kMs = 1'000'000;

}  // namespace

TEST_CASE("silence limit: on-time heartbeats keep the plain timeout") {
  silence_limit l(150 * kMs, 750 * kMs, 6000 * kMs);
  CHECK(l.limit_ns(1000 * kMs) == 750 * kMs);
  l.observe(1000 * kMs, 0);
  l.observe(1100 * kMs, -5 * kMs);
  CHECK(l.worst_late_ns(1100 * kMs) == 0);
  CHECK(l.limit_ns(1100 * kMs) == 750 * kMs);
  l.observe(1200 * kMs, 100 * kMs);  // small lateness stays under the timeout
  CHECK(l.limit_ns(1200 * kMs) == 750 * kMs);
}

TEST_CASE("silence limit: lateness stretches it, up to the cap, and is forgotten after 30 s") {
  silence_limit l(150 * kMs, 750 * kMs, 6000 * kMs);
  int64_t t = 100'000 * kMs;
  l.observe(t, 1000 * kMs);  // a heartbeat arrived a second late
  CHECK(l.worst_late_ns(t) == 1000 * kMs);
  CHECK(l.limit_ns(t) == 150 * kMs + 4 * 1000 * kMs);
  l.observe(t + 1000 * kMs, 400 * kMs);  // a smaller one does not shrink it
  CHECK(l.limit_ns(t + 1000 * kMs) == 4150 * kMs);
  l.observe(t + 2000 * kMs, 5000 * kMs);
  CHECK(l.limit_ns(t + 2000 * kMs) == 6000 * kMs);  // capped
  // Within the window it is remembered; once 30 s have passed it is gone.
  CHECK(l.limit_ns(t + 20'000 * kMs) == 6000 * kMs);
  CHECK(l.limit_ns(t + 40'000 * kMs) == 750 * kMs);
}

TEST_CASE("silence limit: a cap below the timeout means the timeout") {
  silence_limit l(0, 1000 * kMs, 0);
  l.observe(5000 * kMs, 3000 * kMs);
  CHECK(l.limit_ns(5000 * kMs) == 1000 * kMs);
}

TEST_CASE("liveness cell: any message is life, and lateness is the worse of the gap and the lag") {
  liveness_cell c;
  c.interval_ns = 150 * kMs;
  c.beat(1000 * kMs, 0);
  CHECK(c.last_ns == 1000 * kMs);
  CHECK(c.take_late() == 0);  // the first beat has no gap to judge
  c.beat(1150 * kMs, 0);      // on time
  CHECK(c.take_late() == 0);
  c.beat(1700 * kMs, 0);              // 550 ms gap: 400 ms late
  c.beat(1850 * kMs, 250);            // on time here, but the worker says 250 ms late
  CHECK(c.take_late() == 400 * kMs);  // the worst since the last take
  CHECK(c.take_late() == 0);          // and counting starts again
  c.heard(2500 * kMs);                // an exit report
  CHECK(c.last_ns == 2500 * kMs);
  CHECK(c.last_beat_ns == 1850 * kMs);
  c.heard(2400 * kMs);  // a stamp from the past never moves it back
  CHECK(c.last_ns == 2500 * kMs);
}
