// The coordinator's rendezvous through `gantry rendezvous` (issue 4), as a running task uses
// it: with its GANTRY_TASK_TOKEN, GANTRY_CA and GANTRY_RENDEZVOUS (issue 9).
#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

using env_map = std::map<std::string, std::string>;

// A two-rank collective stage whose ranks print their environment and keep running.
const char* const kGang = R"(name: gang
stages:
  - name: train
    collective: nccl
    replicas: 2
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "env; exec sleep 600" ]
)";

// Rank `rank`'s environment, from its output (`gantry logs --follow`) as it prints it.
env_map task_env(cluster& c, const std::string& job, int rank) {
  std::vector<std::string> args{bin("gantry"),
                                "logs",
                                job,
                                "--stage",
                                "train",
                                "--rank",
                                std::to_string(rank),
                                "--follow",
                                "--coordinator",
                                c.address()};
  for (const auto& f : c.local().client_flags()) args.push_back(f);
  process logs(args, c.dir() + "/logs-" + std::to_string(rank) + ".err");
  env_map env;
  int64_t deadline = now_ms() + 20000;
  while (now_ms() < deadline && !(env.count("GANTRY_TASK_TOKEN") && env.count("GANTRY_CA") &&
                                  env.count("GANTRY_RENDEZVOUS"))) {
    std::string line = logs.read_line(static_cast<int>(deadline - now_ms()));
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  logs.stop(0);
  REQUIRE_MESSAGE(env.count("GANTRY_TASK_TOKEN"),
                  "rank " << rank << " printed no GANTRY_TASK_TOKEN");
  return env;
}

// `gantry rendezvous ARGS` with a task's credential variables (not its scope: --scope).
std::vector<std::string> as_task(const env_map& env, std::vector<std::string> args) {
  std::vector<std::string> out{"/usr/bin/env", "GANTRY_TASK_TOKEN=" + env.at("GANTRY_TASK_TOKEN"),
                               "GANTRY_CA=" + env.at("GANTRY_CA"), bin("gantry"), "rendezvous"};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

cli_result run(cluster& c, const std::vector<std::string>& args, int timeout_ms = 30000) {
  static int n = 0;
  std::string err = c.dir() + "/rdv-" + std::to_string(++n) + ".err";
  process p(args, err);
  cli_result r;
  r.out = p.read_all(timeout_ms);
  r.exit_code = p.wait(timeout_ms);
  r.err = read_file(err);
  return r;
}

}  // namespace

TEST_CASE("rendezvous: put/get, a get that waits for a later put, timeouts, attempt isolation") {
  cluster c;
  c.start({"w1"});
  std::string job = c.submit("gang.yaml", kGang);
  event_stream events(c, job);
  REQUIRE(events.until_running(2, 20000));
  env_map env = task_env(c, job, 0);
  INFO(c.logs());
  std::string a0 = env.at("GANTRY_RENDEZVOUS");
  CHECK(a0 == c.address() + "/" + job + "/train/0");
  std::string a1 = c.address() + "/" + job + "/train/1";

  CHECK(run(c, as_task(env, {"put", "nccl-id", "abc123", "--scope", a0})).exit_code == 0);
  auto got = run(c, as_task(env, {"get", "nccl-id", "--scope", a0}));
  CHECK(got.exit_code == 0);
  CHECK(got.out == "abc123\n");
  // The other rank reads what rank 0 put, with its own credential and its own variables.
  env_map env1 = task_env(c, job, 1);
  CHECK(env1.at("GANTRY_TASK_TOKEN") != env.at("GANTRY_TASK_TOKEN"));
  auto other_rank =
      run(c, as_task(env1, {"get", "nccl-id", "--scope", env1.at("GANTRY_RENDEZVOUS")}));
  CHECK(other_rank.out == "abc123\n");

  // A get that starts first is answered by the put that follows it.
  process waiter(as_task(env, {"get", "late", "--scope", a0, "--timeout-ms", "30000"}),
                 c.dir() + "/waiter.err");
  // The waiter is blocked in its RPC; nothing answers it but the put.
  CHECK(waiter.read_line(300) == "");
  CHECK(run(c, as_task(env, {"put", "late", "v2", "--scope", a0})).exit_code == 0);
  CHECK(waiter.read_line(20000) == "v2");
  CHECK(waiter.wait(10000) == 0);

  // Nobody puts: a clear timeout, exit 1.
  auto timeout = run(c, as_task(env, {"get", "never", "--scope", a0, "--timeout-ms", "200"}));
  CHECK(timeout.exit_code == 1);
  CHECK(timeout.err.find("\"never\" of " + job +
                         "/train attempt 0 was not put before the timeout") != std::string::npos);

  // Another attempt of the same gang is out of this attempt's credential's reach.
  auto other = run(c, as_task(env, {"get", "nccl-id", "--scope", a1, "--timeout-ms", "200"}));
  CHECK(other.exit_code == 4);
  CHECK(other.err.find("may not use the rendezvous of " + job + "/train attempt 1") !=
        std::string::npos);

  // A malformed scope is a usage error naming the expected form.
  auto bad = run(c, as_task(env, {"get", "k", "--scope", "no-scope-here"}));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("HOST:PORT/JOB/STAGE/ATTEMPT") != std::string::npos);
  CHECK(c.cli({"cancel", job}).exit_code == 0);
}
