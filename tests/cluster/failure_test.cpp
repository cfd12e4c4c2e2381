// Failures and recovery with real processes (issues 4 and 5).
#include <doctest/doctest.h>

#include <signal.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

std::map<int, json> ranks_by_index(cluster& c, const std::string& job) {
  std::map<int, json> out;
  auto d = c.cli({"describe", job, "--json"});
  REQUIRE_MESSAGE(d.exit_code == 0, d.err);
  json doc = d.json();  // (a range-for over a part of a temporary would dangle)
  for (const auto& r : doc["stages"][0]["ranks"]) out[r["rank"].get<int>()] = r;
  return out;
}

}  // namespace

TEST_CASE("a collective stage gives every rank one consistent torchrun environment") {
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {"--cpus", "2", "--memory", "2GiB"});
  std::string job = c.submit("env.yaml", R"(
name: env
stages:
  - name: ranks
    collective: nccl
    replicas: 4
    fabric: tcp
    resources: { cpu: 1, memory: 32MiB }
    command: [ "sh", "-c", "echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT $GANTRY_ATTEMPT $GANTRY_RENDEZVOUS $GANTRY_NODE $FI_PROVIDER $NCCL_NET > $GANTRY_OUTPUT_DIR/env-$RANK" ]
)");
  CHECK(c.cli({"watch", job}).exit_code == 0);
  std::set<std::string> masters, rendezvous;
  std::map<std::string, std::set<int>> local_ranks;
  for (int r = 0; r < 4; ++r) {
    std::istringstream in(read_file(c.shared_dir() + "/" + job + "/env-" + std::to_string(r)));
    int rank, world, local, local_world, attempt;
    std::string addr, port, rdv, node, provider, nccl_net;
    in >> rank >> world >> local >> local_world >> addr >> port >> attempt >> rdv >> node >>
        provider >> nccl_net;
    CHECK(provider == "tcp");  // `fabric: tcp`: libfabric and NCCL are pointed at it
    CHECK(nccl_net == "Socket");
    CHECK(rank == r);
    CHECK(world == 4);
    CHECK(local_world == 2);  // two ranks on each of the two workers
    CHECK(attempt == 0);
    CHECK(std::stoi(port) > 0);
    masters.insert(addr + ":" + port);
    rendezvous.insert(rdv);
    local_ranks[node].insert(local);
  }
  CHECK(masters.size() == 1);  // one master address and port for the whole gang
  REQUIRE(rendezvous.size() == 1);
  CHECK(*rendezvous.begin() == c.address() + "/" + job + "/ranks/0");
  for (const auto& [node, locals] : local_ranks) CHECK(locals == std::set<int>{0, 1});
}

TEST_CASE("a rank killed mid-run stops every other rank of its gang") {
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {"--cpus", "2", "--memory", "2GiB"});
  std::string job = c.submit("gang.yaml", R"(
name: gang
stages:
  - name: g
    collective: nccl
    replicas: 4
    resources: { cpu: 1, memory: 32MiB }
    command: [ "sleep", "600" ]
)");
  event_stream w(c, job);
  REQUIRE(w.until_running(4, 20000));
  auto ranks = ranks_by_index(c, job);
  ::kill(static_cast<pid_t>(ranks[2]["pid"].get<int64_t>()), SIGKILL);
  int64_t killed = now_ms();
  for (int r : {0, 1, 3}) {
    CHECK(wait_pid_gone(static_cast<pid_t>(ranks[r]["pid"].get<int64_t>()), 5000));
  }
  MESSAGE("the other 3 ranks were gone " << now_ms() - killed << " ms after rank 2 was killed");
  CHECK(w.p.wait(10000) == 1);
  auto d = c.cli({"describe", job, "--json"}).json();
  CHECK(d["state"] == "failed");
  CHECK(d["reason"].get<std::string>().find("rank 2") != std::string::npos);
}

TEST_CASE("max_restarts exhausted: the job fails and says why") {
  cluster c;
  INFO(c.logs());
  c.start({"a"}, {}, {"--restart-backoff-ms", "10"});
  std::string job = c.submit("flaky.yaml", R"(
name: flaky
max_restarts: 2
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo attempt $GANTRY_ATTEMPT >> $GANTRY_OUTPUT_DIR/attempts; exit 3" ]
)");
  CHECK(c.cli({"watch", job}).exit_code == 1);
  auto d = c.cli({"describe", job, "--json"}).json();
  CHECK(d["state"] == "failed");
  CHECK(d["restarts"] == 2);
  CHECK(d["reason"].get<std::string>().find("max_restarts (2) exhausted") != std::string::npos);
  CHECK(read_file(c.shared_dir() + "/" + job + "/attempts") == "attempt 0\nattempt 1\nattempt 2\n");
}

TEST_CASE("the coordinator killed mid-run: the job finishes and no task starts twice") {
  cluster c;
  INFO(c.logs());
  c.start({"a"}, {"--cpus", "2"});
  // Each rank records its start, then runs until the test releases it.
  std::string job = c.submit("twice.yaml", R"(
name: twice
stages:
  - name: s
    replicas: 2
    resources: { cpu: 0.5, memory: 16MiB }
    command: [ "sh", "-c", "echo $GANTRY_TASK_ID >> $GANTRY_OUTPUT_DIR/launches; while [ ! -e $GANTRY_OUTPUT_DIR/release ]; do sleep 0.1; done" ]
)");
  {
    event_stream w(c, job);
    REQUIRE(w.until_running(2, 20000));
  }
  c.coordinator().signal(SIGKILL);
  REQUIRE(c.coordinator().wait(10000) >= 0);
  c.start_coordinator();
  REQUIRE(c.wait_node("a", "ready"));
  std::ofstream(c.shared_dir() + "/" + job + "/release") << "go";
  CHECK(c.cli({"watch", job}).exit_code == 0);
  std::istringstream launches(read_file(c.shared_dir() + "/" + job + "/launches"));
  std::multiset<std::string> started;
  for (std::string line; std::getline(launches, line);) started.insert(line);
  // Once each (in either order), never relaunched.
  CHECK(started == std::multiset<std::string>{job + ".s.0.0", job + ".s.1.0"});
  auto d = c.cli({"describe", job, "--json"}).json();
  CHECK(d["restarts"] == 0);
}

TEST_CASE("300 submits with the coordinator killed at random points lose no acknowledged job") {
#ifdef GANTRY_SANITIZE
  constexpr size_t kSubmits = 100;  // ~1 s each under the sanitizers; the kill points are as many
#else
  constexpr size_t kSubmits = 300;
#endif
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("GANTRY_TEST_SEED")) seed = std::stoull(s);
  MESSAGE("seed " << seed << " (GANTRY_TEST_SEED=" << seed << " repeats this run)");
  std::mt19937_64 rng(seed);
  cluster c;
  INFO(c.logs());
  c.start_coordinator();
  std::string manifest = c.write_manifest("tiny.yaml", R"(
name: tiny
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)");
  std::vector<std::string> acked;  // guarded by mu
  std::mutex mu;
  std::condition_variable progressed;
  bool done = false;
  std::string address = c.address();
  std::thread submitter([&] {
    for (int attempts = 0; attempts < 2000; ++attempts) {
      std::vector<std::string> args{bin("gantry"), "submit", manifest, "--coordinator", address};
      for (const auto& f : c.local().client_flags()) args.push_back(f);
      process p(args, c.dir() + "/submit.err");
      std::string out = p.read_all(30000);
      bool ok = p.wait(30000) == 0;  // refused while the coordinator is down: not acknowledged
      std::lock_guard lock(mu);
      if (ok) acked.push_back(out.substr(0, out.find('\n')));
      if (acked.size() == kSubmits) break;
      progressed.notify_all();
    }
    std::lock_guard lock(mu);
    done = true;
    progressed.notify_all();
  });
  int kills = 0;
  for (;;) {
    // Let a seeded number of submits through, then kill the coordinator wherever it is.
    {
      std::unique_lock lock(mu);
      size_t target = acked.size() + 10 + rng() % 50;
      progressed.wait(lock, [&] { return done || acked.size() >= target; });
      if (done) break;
    }
    c.coordinator().signal(SIGKILL);
    c.coordinator().wait(10000);
    ++kills;
    c.start_coordinator();
  }
  submitter.join();
  MESSAGE(kills << " kills during " << acked.size() << " acknowledged submits");
  REQUIRE(acked.size() == kSubmits);
  std::set<std::string> listed;
  for (const auto& j : c.cli({"jobs", "--json"}).json()) listed.insert(j["id"].get<std::string>());
  size_t missing = 0;
  for (const auto& id : acked) missing += listed.count(id) == 0;
  CHECK(missing == 0);
  CHECK(std::set<std::string>(acked.begin(), acked.end()).size() == kSubmits);  // ids are never reused
}

TEST_CASE("drain asks tasks to checkpoint, then moves them without counting a restart") {
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {"--cpus", "1"}, {"--drain-grace-ms", "300"});
  std::string job = c.submit("mover.yaml", R"(
name: mover
stages:
  - name: s
    resources: { cpu: 1, memory: 16MiB }
    checkpoint: { dir: /tmp, signal: SIGUSR1 }
    command: [ "sh", "-c", "trap 'echo $GANTRY_ATTEMPT >> $GANTRY_OUTPUT_DIR/usr1' USR1; echo $GANTRY_ATTEMPT $GANTRY_NODE >> $GANTRY_OUTPUT_DIR/starts; while [ ! -e $GANTRY_OUTPUT_DIR/release ]; do sleep 0.1; done" ]
)");
  event_stream w(c, job);
  std::string first_node;
  REQUIRE(w.until(20000, [&](const json& e) {
    if (e["kind"] == "rank" && e["state"] == "running") first_node = e["node"];
    return !first_node.empty();
  }));
  std::string other = first_node == "a" ? "b" : "a";
  CHECK(c.cli({"drain", first_node}).exit_code == 0);
  // It runs again on the other node, as attempt 1.
  REQUIRE(w.until(20000, [&](const json& e) {
    return e["kind"] == "rank" && e["state"] == "running" && e["attempt"] == 1;
  }));
  CHECK(c.wait_node(first_node, "cordoned"));  // drained: empty, and no new placements
  std::ofstream(c.shared_dir() + "/" + job + "/release") << "go";
  CHECK(w.p.wait(20000) == 0);
  CHECK(read_file(c.shared_dir() + "/" + job + "/usr1") == "0\n");  // asked to checkpoint first
  CHECK(read_file(c.shared_dir() + "/" + job + "/starts") ==
        "0 " + first_node + "\n1 " + other + "\n");
  CHECK(c.cli({"describe", job, "--json"}).json()["restarts"] == 0);
  CHECK(c.cli({"uncordon", first_node}).exit_code == 0);
  CHECK(c.wait_node(first_node, "ready"));
}

TEST_CASE("a watcher rides through a coordinator restart and misses no event") {
  cluster c;
  INFO(c.logs());
  c.start({"a"}, {"--cpus", "2"});
  std::string job = c.submit("wait.yaml", R"(
name: wait
stages:
  - name: s
    replicas: 2
    resources: { cpu: 0.5, memory: 16MiB }
    command: [ "sh", "-c", "while [ ! -e $GANTRY_OUTPUT_DIR/release ]; do sleep 0.1; done" ]
)");
  event_stream w(c, job);
  std::vector<uint64_t> seqs;
  int running = 0;
  REQUIRE(w.until(20000, [&](const json& e) {
    seqs.push_back(e["seq"]);
    return e["kind"] == "rank" && e["state"] == "running" && ++running == 2;
  }));
  c.coordinator().signal(SIGKILL);
  REQUIRE(c.coordinator().wait(10000) >= 0);
  c.start_coordinator();
  std::ofstream(c.shared_dir() + "/" + job + "/release") << "go";
  std::string last_state;
  w.until(60000, [&](const json& e) {
    seqs.push_back(e["seq"]);
    last_state = e["kind"] == "job" ? e["state"].get<std::string>() : "";
    return last_state == "succeeded";
  });
  CHECK(last_state == "succeeded");
  CHECK(w.p.wait(20000) == 0);
  // Every event exactly once, in order.
  for (size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i + 1);
  // And a watcher that asks to start later gets exactly the rest.
  auto from = c.cli({"watch", job, "--from", "4", "--json"});
  CHECK(from.exit_code == 0);
  std::istringstream lines(from.out);
  uint64_t expect = 4;
  for (std::string line; std::getline(lines, line);) CHECK(json::parse(line)["seq"] == expect++);
  CHECK(expect == seqs.size() + 1);
}
