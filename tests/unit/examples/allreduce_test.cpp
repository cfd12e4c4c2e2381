// gantry-example-allreduce's library: the CPU ring all-reduce among threads over loopback,
// the checkpoint protocol's files, and the values and their verification.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "examples/allreduce/bounded_wait.hpp"
#include "examples/allreduce/memory_rendezvous.hpp"
#include "examples/allreduce/steps.hpp"
#include "examples/allreduce/tcp_ring.hpp"

using namespace gantry::example;
namespace fs = std::filesystem;

namespace {

// Runs `body(rank, ring)` on `world` threads joined into one ring; returns each rank's error.
template <class Body>
std::vector<std::string> on_ring(int world, Body body) {
  memory_rendezvous rdv;
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      auto ring = tcp_ring::join(r, world, rdv, {"127.0.0.1", 20000});
      if (!ring) {
        errors[r] = ring.error().message;
        return;
      }
      errors[r] = body(r, **ring);
    });
  for (auto& t : threads) t.join();
  return errors;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/allreduce-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("chunks cover the buffer, differ by at most one, and may be empty") {
  for (size_t n : {0, 1, 3, 7, 4096})
    for (int w = 1; w <= 5; ++w) {
      size_t next = 0;
      for (int c = 0; c < w; ++c) {
        auto [b, e] = chunk_bounds(n, w, c);
        CHECK(b == next);
        CHECK(e - b <= n / w + 1);
        CHECK(e - b >= n / w);
        next = e;
      }
      CHECK(next == n);
    }
}

TEST_CASE("the ring all-reduce gives exact sums among 1 to 5 ranks") {
  // 4096 and 1000 divide unevenly among 3 and 5 ranks; 3 is smaller than 4 and 5 ranks;
  // 300000 floats (1.2 MB) are far over a socket buffer, so sends must not block receives.
  for (int world = 1; world <= 5; ++world) {
    for (uint64_t size :
         {uint64_t{1}, uint64_t{3}, uint64_t{1000}, uint64_t{4096}, uint64_t{300000}}) {
      CAPTURE(world);
      CAPTURE(size);
      auto errors = on_ring(world, [&](int rank, tcp_ring& ring) -> std::string {
        std::vector<float> data(size);
        for (int64_t step = 1; step <= 3; ++step) {
          fill(data, rank, step);
          auto t = ring.allreduce_sum(data);
          if (!t) return t.error().message;
          if (auto bad = verify(data, world, step))
            return "rank " + std::to_string(rank) + " element " + std::to_string(bad->index) +
                   " got " + std::to_string(bad->got) + " want " + std::to_string(bad->want);
        }
        return "";
      });
      for (const auto& e : errors) CHECK(e == "");
    }
  }
}

TEST_CASE("a rank that leaves the ring fails its neighbours with a clear error") {
  auto errors = on_ring(3, [&](int rank, tcp_ring& ring) -> std::string {
    if (rank == 2) return "";  // leaves: its sockets close when the ring is destroyed
    std::vector<float> data(100000);
    fill(data, rank, 1);
    auto t = ring.allreduce_sum(data);
    return t ? "no error" : t.error().message;
  });
  CHECK(errors[0].find("ring:") != std::string::npos);
  CHECK(errors[1].find("ring:") != std::string::npos);
}

TEST_CASE("joining fails with a clear error when the successor never shows up") {
  memory_rendezvous rdv;
  auto ring = tcp_ring::join(0, 2, rdv, {"127.0.0.1", 300});
  REQUIRE(!ring);
  CHECK(ring.error().message.find("ring/1") != std::string::npos);
}

TEST_CASE("a bounded wait ends at done, at a failure, or at its timeout naming the wait") {
  int polls = 0;
  CHECK(wait_for_step(
            [&] {
              return ++polls < 3 ? step_status{} : step_status{step_state::done, ""};
            },
            5000, "three polls")
            .has_value());
  CHECK(polls == 3);
  auto failed = wait_for_step(
      [] {
        return step_status{step_state::failed, "peer died"};
      },
      5000, "ncclAllReduce");
  REQUIRE(!failed);
  CHECK(failed.error().message == "ncclAllReduce: peer died");
  auto started = std::chrono::steady_clock::now();
  auto never = wait_for_step([] { return step_status{}; }, 200, "ncclCommInitRank");
  REQUIRE(!never);
  CHECK(never.error().message == "ncclCommInitRank: no result within 200 ms");
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(200));
}

TEST_CASE("joining times out, naming the rank, when a peer publishes its address but never joins") {
  // "Rank 1" listens (so connecting to it succeeds) and never connects to rank 0.
  int port = 0;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port = ntohs(addr.sin_port);
  memory_rendezvous rdv;
  REQUIRE(rdv.put("ring/1", "127.0.0.1:" + std::to_string(port)).has_value());
  auto started = std::chrono::steady_clock::now();
  auto ring = tcp_ring::join(0, 2, rdv, {"127.0.0.1", 300});
  REQUIRE(!ring);
  // What is left of the 300 ms once rank 1's address was read and connected to.
  CHECK(ring.error().message.starts_with("ring: waiting for rank 1 to connect: no result within "));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  ::close(listener);
}

TEST_CASE("an all-reduce with a peer that joined but never takes part times out") {
  memory_rendezvous rdv;
  std::promise<void> finished;
  std::string error;
  std::thread idle([&] {
    auto ring = tcp_ring::join(1, 2, rdv, {"127.0.0.1", 3000});
    if (ring) finished.get_future().wait();  // holds its connections open, sends nothing
  });
  auto ring = tcp_ring::join(0, 2, rdv, {"127.0.0.1", 3000});
  if (ring) {
    std::vector<float> data(1000);
    fill(data, 0, 1);
    auto t = (*ring)->allreduce_sum(data);
    error = t ? "no error" : t.error().message;
  } else {
    error = "join: " + ring.error().message;
  }
  finished.set_value();
  idle.join();
  CHECK(error == "ring: rank 0 exchanging with ranks 1 and 1: no result within 3000 ms");
}

TEST_CASE("a rank that aborts fails its peer at once, not at the peer's timeout") {
  memory_rendezvous rdv;
  std::string error;
  std::thread aborting([&] {
    auto ring = tcp_ring::join(1, 2, rdv, {"127.0.0.1", 60000});
    if (ring) (*ring)->abort();  // as after its own error
  });
  auto ring = tcp_ring::join(0, 2, rdv, {"127.0.0.1", 60000});
  auto started = std::chrono::steady_clock::now();
  if (ring) {
    std::vector<float> data(1000);
    fill(data, 0, 1);
    auto t = (*ring)->allreduce_sum(data);
    error = t ? "no error" : t.error().message;
  }
  aborting.join();
  CHECK(error.find("ring: rank 0 exchanging with ranks 1 and 1: ") == 0);
  CHECK(error.find("no result within") == std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
}

TEST_CASE("verification catches a wrong sum, and f is exact and rank-dependent") {
  std::vector<float> data(2048);
  fill(data, 0, 7);
  std::vector<float> other(2048);
  fill(other, 1, 7);
  CHECK(data != other);
  for (size_t i = 0; i < data.size(); ++i) data[i] += other[i];
  CHECK(!verify(data, 2, 7));
  CHECK(verify(data, 2, 8));  // the wrong step's sums
  CHECK(verify(data, 3, 7));  // the wrong world's sums
  data[1500] += 1;
  auto bad = verify(data, 2, 7);
  REQUIRE(bad);
  CHECK(bad->index == 1500);
  CHECK(bad->got == bad->want + 1);
  CHECK(expected_sum(16000, 123456, 999) == doctest::Approx(expected_sum(16000, 123456, 999)));
  CHECK(fold_checksum(fold_checksum(0, data), other) !=
        fold_checksum(fold_checksum(0, other), data));
}

TEST_CASE("a run whose all-reduce returns a wrong sum exits with the mismatch code") {
  // A backend that forgets one rank's contribution to one element.
  struct lossy final : allreduce_backend {
    outcome<double> allreduce_sum(std::span<float> data) override {
      for (float& v : data) v *= 2;  // as if two equal ranks summed
      data[7] -= 1;
      return 0.0;
    }
    void abort() override {}
    const char* name() const override { return "lossy"; }
  } backend;
  run_config c;
  c.world = 2;
  c.steps = 3;
  c.size = 64;
  std::ostringstream log;
  // Rank 1's values differ from rank 0's, so doubling is already wrong at element 0.
  auto r = run_steps(c, {}, backend, log);
  REQUIRE(!r);
  CHECK(r.error().exit_code == kExitMismatch);
  CHECK(r.error().message.find("wrong sum at step 1, element 0") != std::string::npos);
}

TEST_CASE("a checkpoint is committed only after its state is complete, and restores") {
  temp_dir dir;
  std::string d = dir.path.string();
  run_identity who{"j-1", 2, 64};
  run_state state{20, 987654321};
  REQUIRE(write_state(d, 1, state, who));
  CHECK(fs::exists(state_path(d, 20, 1)));
  CHECK(!fs::exists(done_path(d, 20, 1)));
  auto uncommitted = read_checkpoint(d, 20, 1, who, nullptr);
  REQUIRE(!uncommitted);
  CHECK(uncommitted.error().message.find("never committed") != std::string::npos);

  REQUIRE(commit_step(d, 1, 20));
  CHECK(fs::exists(done_path(d, 20, 1)));
  std::string other;
  auto back = read_checkpoint(d, 20, 1, who, &other);
  REQUIRE(back);
  CHECK(*back == state);
  CHECK(other.empty());
  for (const auto& e : fs::recursive_directory_iterator(d)) CHECK(e.path().extension() != ".tmp");

  SUBCASE("another job's or configuration's checkpoint is reported, not taken as ours") {
    REQUIRE(read_checkpoint(d, 20, 1, {"j-2", 2, 64}, &other));
    CHECK(other == "job j-1");
    REQUIRE(read_checkpoint(d, 20, 1, {"j-1", 4, 64}, &other));
    CHECK(other == "a run with world 2 and size 64");
    CHECK(!read_checkpoint(d, 20, 1, {"j-1", 2, 65}, nullptr));
  }
  SUBCASE("a truncated state file is an error") {
    std::ofstream(state_path(d, 20, 1)) << "gantry-example-allreduce state v1\njob j-1\n";
    CHECK(!read_checkpoint(d, 20, 1, who, &other));
  }
}

TEST_CASE("an interrupted run restored from its checkpoint ends exactly like a whole run") {
  temp_dir dir;
  memory_rendezvous unused;
  auto ring = tcp_ring::join(0, 1, unused, {});
  REQUIRE(ring);
  run_config c;
  c.steps = 25;
  c.size = 300;
  c.checkpoint_every = 10;
  c.job = "j-9";
  std::ostringstream log;
  auto whole = run_steps(c, {}, **ring, log);
  REQUIRE(whole);
  CHECK(whole->steps_run == 25);

  c.checkpoint_dir = dir.path.string();
  c.steps = 15;  // "killed" after step 15: step 10 is the last commit
  REQUIRE(run_steps(c, *prepare_run(c, log), **ring, log));
  CHECK(fs::exists(done_path(c.checkpoint_dir, 10, 0)));
  c.steps = 25;
  c.restore_step = 10;
  auto start = prepare_run(c, log);
  REQUIRE(start);
  CHECK(start->restored_from == 10);
  CHECK(log.str().find("restored from step 10") != std::string::npos);
  auto resumed = run_steps(c, *start, **ring, log);
  REQUIRE(resumed);
  CHECK(resumed->steps_run == 15);
  CHECK(resumed->state == whole->state);

  SUBCASE("a fresh start removes this rank's stale commits") {
    c.restore_step = -1;
    REQUIRE(prepare_run(c, log));
    CHECK(!fs::exists(step_dir(c.checkpoint_dir, 10)));
    CHECK(!fs::exists(step_dir(c.checkpoint_dir, 20)));
  }
  SUBCASE("a restore keeps only the restored step") {
    c.restore_step = 20;
    auto again = prepare_run(c, log);
    REQUIRE(again);
    CHECK(again->state.step == 20);
    CHECK(!fs::exists(step_dir(c.checkpoint_dir, 10)));
    CHECK(fs::exists(done_path(c.checkpoint_dir, 20, 0)));
  }
  SUBCASE("a checkpoint of another job starts the run afresh") {
    c.job = "j-10";
    c.restore_step = 20;
    auto fresh = prepare_run(c, log);
    REQUIRE(fresh);
    CHECK(fresh->restored_from == -1);
    CHECK(fresh->state.step == 0);
    CHECK(log.str().find("was written by job j-9, not this run") != std::string::npos);
    CHECK(!fs::exists(step_dir(c.checkpoint_dir, 20)));  // and the stale files are gone
  }
  SUBCASE("a checkpoint of another size starts the run afresh") {
    c.size = 301;
    c.restore_step = 20;
    auto fresh = prepare_run(c, log);
    REQUIRE(fresh);
    CHECK(fresh->restored_from == -1);
  }
}
