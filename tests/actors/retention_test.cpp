// The pure half of bounded history: which finished jobs a sweep forgets.
#include <doctest/doctest.h>

#include "actors/retention.hpp"

using namespace gantry;

namespace {

using ids = std::vector<std::string>;

}  // namespace

TEST_CASE("retention forgets the oldest-finished jobs beyond max_jobs") {
  finished_jobs f;
  f.add("j-3", 300);
  f.add("j-1", 100);
  f.add("j-2", 200);
  f.add("j-4", 400);
  retention_policy p{0, 2};
  CHECK(f.expired(p, 1'000'000, 100) == ids{"j-1", "j-2"});
  CHECK(f.expired(p, 1'000'000, 1) == ids{"j-1"});  // bounded chunks
  f.erase("j-1");
  CHECK(f.expired(p, 1'000'000, 100) == ids{"j-2"});
  f.erase("j-2");
  CHECK(f.size() == 2);
  CHECK(f.expired(p, 1'000'000, 100).empty());
}

TEST_CASE("retention forgets jobs finished longer ago than finished_ms") {
  finished_jobs f;
  f.add("j-1", 1000);
  f.add("j-2", 2000);
  f.add("j-3", 3000);
  retention_policy p{1500, 0};
  CHECK(f.expired(p, 3000, 100) == ids{"j-1"});
  CHECK(f.expired(p, 3501, 100) == ids{"j-1", "j-2"});
  CHECK(f.expired(p, 3500, 100) == ids{"j-1"});  // finished exactly finished_ms ago: kept
}

TEST_CASE("retention takes whichever limit forgets more, and off keeps everything") {
  finished_jobs f;
  for (int i = 1; i <= 5; ++i) f.add("j-" + std::to_string(i), i * 100);
  CHECK(f.expired({250, 4}, 600, 100) == ids{"j-1", "j-2", "j-3"});  // age wins
  CHECK(f.expired({50, 2}, 600, 100) == ids{"j-1", "j-2", "j-3", "j-4", "j-5"});
  CHECK(f.expired({1000, 2}, 600, 100) == ids{"j-1", "j-2", "j-3"});  // count wins
  CHECK(f.expired({0, 0}, 1'000'000'000, 100).empty());
}

TEST_CASE("a job recorded twice moves to its new finish time") {
  finished_jobs f;
  f.add("j-1", 100);
  f.add("j-2", 200);
  f.add("j-1", 300);
  CHECK(f.size() == 2);
  CHECK(f.expired({0, 1}, 0, 100) == ids{"j-2"});
  CHECK(f.contains("j-1"));
  f.erase("j-9");  // unknown: nothing happens
  CHECK(f.size() == 2);
}

TEST_CASE("the retention policy reads as the flags' values") {
  CHECK(describe({7 * 86'400'000LL, 100000}) == "7d / 100000 jobs");
  CHECK(describe({0, 200}) == "200 jobs");
  CHECK(describe({3'600'000, 0}) == "1h");
  CHECK(describe({0, 0}) == "kept forever");
}
