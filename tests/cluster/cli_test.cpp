// The command line as a user meets it: typos, bad addresses and files, jobs named by name,
// `jobs --state/--limit`, the jobs table (AGE, REASON), `wait JOB`, coordinator defaults.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "actors/config.hpp"
#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

// Runs `gantry ARGS` (no --coordinator added) to completion.
cli_result run_gantry(const temp_dir& dir, std::vector<std::string> args, int timeout_ms = 30000) {
  static int n = 0;
  std::string err = dir.path() + "/run-" + std::to_string(++n) + ".err";
  if (args.empty() || args[0].find('/') == std::string::npos)
    args.insert(args.begin(), bin("gantry"));
  process p(args, err);
  cli_result r;
  r.out = p.read_all(timeout_ms);
  r.exit_code = p.wait(timeout_ms);
  r.err = read_file(err);
  return r;
}

std::vector<std::string> ids(const json& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j["id"]);
  return out;
}

// The jobs table's row for `id`, split into its columns (two or more spaces apart).
std::vector<std::string> table_row(const std::string& table, const std::string& id) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(id + " ", 0) != 0) continue;
    std::vector<std::string> cols;
    size_t at = 0;
    while (at < line.size()) {
      size_t gap = line.find("  ", at);
      cols.push_back(line.substr(at, gap - at));
      if (gap == std::string::npos) break;
      at = line.find_first_not_of(' ', gap);
    }
    return cols;
  }
  return {};
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("typos, malformed addresses and unreadable manifests are named plainly") {
  temp_dir dir{"gantry-test"};
  auto typo = run_gantry(dir, {"sumbit", "x.yaml"});
  CHECK(typo.exit_code == 2);
  CHECK_MESSAGE(
      typo.err.find("unknown command 'sumbit'; did you mean 'submit'?") != std::string::npos,
      typo.err);
  auto nested = run_gantry(dir, {"rendezvous", "pt", "k", "v"});
  CHECK(nested.exit_code == 2);
  CHECK(nested.err.find("did you mean 'put'?") != std::string::npos);
  auto far = run_gantry(dir, {"frobnicate"});
  CHECK(far.exit_code == 2);
  CHECK(far.err.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(far.err.find("did you mean") == std::string::npos);

  auto bad = run_gantry(dir, {"jobs", "--coordinator", "foo"});
  CHECK(bad.exit_code == 2);
  CHECK_MESSAGE(bad.err ==
                    "gantry: --coordinator: expected HOST:PORT such as 127.0.0.1:7070, "
                    "got \"foo\" (no port)\n",
                bad.err);
  auto bad_env = run_gantry(dir, {"/usr/bin/env", "GANTRY_COORDINATOR=host:99999", bin("gantry"),
                                  "describe", "j-000001"});
  CHECK(bad_env.exit_code == 2);
  CHECK(bad_env.err.find("$GANTRY_COORDINATOR: expected HOST:PORT") != std::string::npos);
  auto bad_worker = run_gantry(
      dir, {"worker", "--coordinator", "http://h:7070", "--data-dir", dir.path() + "/w"});
  CHECK(bad_worker.exit_code == 2);
  CHECK(bad_worker.err.find("expected HOST:PORT") != std::string::npos);
  auto bad_listen =
      run_gantry(dir, {"coordinator", "--listen", "7070", "--data-dir", dir.path() + "/c"});
  CHECK(bad_listen.exit_code == 2);
  CHECK(bad_listen.err.find("--listen: expected HOST:PORT") != std::string::npos);

  auto unresolved = run_gantry(dir, {"jobs", "--coordinator", "no-such-host.invalid:7070"});
  CHECK(unresolved.exit_code == 3);
  CHECK_MESSAGE(unresolved.err.rfind("gantry: cannot resolve the coordinator's host in "
                                     "no-such-host.invalid:7070: ",
                                     0) == 0,
                unresolved.err);
  CHECK(std::count(unresolved.err.begin(), unresolved.err.end(), '\n') == 1);  // one line
  auto refused = run_gantry(dir, {"jobs", "--coordinator", "127.0.0.1:1"});
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("cannot reach the coordinator at 127.0.0.1:1") != std::string::npos);

  auto directory = run_gantry(dir, {"submit", dir.path()});
  CHECK(directory.exit_code == 2);
  CHECK(directory.err == "gantry submit: " + dir.path() + " is a directory, not a manifest file\n");
  auto missing = run_gantry(dir, {"submit", dir.path() + "/nope.yaml"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err ==
        "gantry submit: cannot read " + dir.path() + "/nope.yaml: No such file or directory\n");
}

TEST_CASE("coordinator flags default to coordinator_config, and --help shows the values") {
  temp_dir dir{"gantry-test"};
  auto help = run_gantry(dir, {"coordinator", "--help"});
  REQUIRE(help.exit_code == 0);
  gantry::coordinator_config defaults;
  for (auto [flag, value] : std::vector<std::pair<std::string, uint32_t>>{
           {"--heartbeat-interval-ms", defaults.heartbeat_interval_ms},
           {"--heartbeat-timeout-ms", defaults.heartbeat_timeout_ms},
           {"--reconnect-grace-ms", defaults.reconnect_grace_ms},
           {"--kill-grace-ms", defaults.kill_grace_ms},
           {"--restart-backoff-ms", defaults.restart_backoff_ms},
           {"--drain-grace-ms", defaults.drain_grace_ms}}) {
    auto at = help.out.find(flag);
    REQUIRE_MESSAGE(at != std::string::npos, flag);
    std::string entry = help.out.substr(at, help.out.find("\n  -", at + 1) - at);
    std::string shown = "=" + std::to_string(value);  // "--kill-grace-ms UINT=3000"
    auto at_value = entry.find(shown);
    CHECK_MESSAGE((at_value != std::string::npos &&
                   std::isspace(static_cast<unsigned char>(entry[at_value + shown.size()]))),
                  entry);
  }
}

TEST_CASE("jobs by name, jobs --state/--limit, wait JOB, and the jobs table's AGE and REASON") {
  cluster c;
  INFO(c.logs());
  c.start({"w1"}, {"--cpus", "2", "--memory", "2GiB"});
  std::string first = c.submit("again1.yaml", R"(
name: again
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo first" ]
)");
  auto waited = c.cli({"wait", "again"});
  CHECK(waited.exit_code == 0);
  CHECK(waited.out == first + " succeeded\n");
  CHECK(waited.err.empty());  // one job has the name: nothing to say
  std::string second = c.submit("again2.yaml", R"(
name: again
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo second; exit 4" ]
)");
  auto failed = c.cli({"wait", "again", "--json"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.json()["id"] == second);
  CHECK(failed.json()["state"] == "failed");
  // The note gives the newest job's state when the name was resolved: wait may resolve it
  // before the job has failed (pending or running under load).
  auto note = failed.err.find("2 jobs are named again; using the newest, " + second + " (");
  CHECK(note != std::string::npos);
  CHECK(failed.err.find("; older: " + first + ")", note) != std::string::npos);
  CHECK(c.cli({"describe", "again", "--json"}).json()["id"] == second);
  CHECK(c.cli({"describe", first, "--json"}).json()["id"] == first);
  CHECK(c.cli({"logs", "again"}).out == "second\n");
  CHECK(c.cli({"watch", "again"}).exit_code == 1);
  auto unknown = c.cli({"describe", "nosuchjob"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("no job has the id or name \"nosuchjob\"") != std::string::npos);

  CHECK(ids(c.cli({"jobs", "--state", "succeeded", "--json"}).json()) ==
        std::vector<std::string>{first});
  CHECK(ids(c.cli({"jobs", "--state", "failed", "--json"}).json()) ==
        std::vector<std::string>{second});
  CHECK(ids(c.cli({"jobs", "--limit", "1", "--json"}).json()) == std::vector<std::string>{second});
  CHECK(ids(c.cli({"jobs", "--limit", "5", "--json"}).json()) ==
        std::vector<std::string>{first, second});
  CHECK(c.cli({"jobs", "--state", "running", "--json"}).json().empty());
  auto bad_state = c.cli({"jobs", "--state", "done"});
  CHECK(bad_state.exit_code == 2);
  CHECK(bad_state.err.find("--state") != std::string::npos);
  CHECK(c.cli({"jobs", "--limit", "0"}).exit_code == 2);

  // A job that holds the machine, and one that waits for it: the table says why.
  std::string hog = c.submit("hog.yaml", R"(
name: hog
stages:
  - name: s
    resources: { cpu: 2, memory: 16MiB }
    command: [ "sh", "-c", "while [ ! -e $GANTRY_OUTPUT_DIR/release ]; do sleep 0.05; done" ]
)");
  REQUIRE(event_stream(c, hog).until_running(1, 20000));
  std::string waiter = c.submit("waiter.yaml", R"(
name: waiter
stages:
  - name: later
    resources: { cpu: 1, memory: 16MiB }
    command: [ "true" ]
)");
  std::string reason;
  REQUIRE(event_stream(c, waiter).until(20000, [&](const json& e) {
    if (e["kind"] == "stage" && e["state"] == "pending") reason = e["message"];
    return !reason.empty();
  }));
  MESSAGE("reason: " << reason);
  auto pending = table_row(c.cli({"jobs"}).out, waiter);
  REQUIRE(pending.size() == 7);
  CHECK(pending[2] == "pending");
  CHECK(pending[6].rfind("later: 0/1 nodes", 0) == 0);
  json waiting = c.cli({"jobs", "--json"}).json()[3];
  CHECK(waiting["pending_reason"] == pending[6]);
  CHECK(waiting["reason"] == "");
  CHECK(ids(c.cli({"jobs", "--state", "pending", "--json"}).json()) ==
        std::vector<std::string>{waiter});
  CHECK(ids(c.cli({"jobs", "--state", "running", "--json"}).json()) ==
        std::vector<std::string>{hog});

  auto timed_out = c.cli({"wait", "hog", "--timeout-ms", "300"});
  CHECK(timed_out.exit_code == 1);
  CHECK(timed_out.err.find("job " + hog + " has not ended after 300 ms") != std::string::npos);
  auto cancel = c.cli({"cancel", "hog"});
  CHECK(cancel.exit_code == 0);
  CHECK(cancel.out.find("cancelling " + hog) == 0);
  CHECK(c.cli({"wait", "hog"}).exit_code == 1);
  CHECK(c.cli({"wait", "waiter", "--timeout-ms", "20000"}).exit_code == 0);
  auto after = table_row(c.cli({"jobs"}).out, waiter);
  REQUIRE(after.size() >= 6);
  CHECK(after[2] == "succeeded");
  CHECK(after.size() == 6);  // no reason left once it ran

  // AGE counts whole seconds and stops at the job's end: once two have passed since the first
  // job ended (by now they usually have), its AGE is still its run time.
  json listed = c.cli({"jobs", "--json"}).json();
  REQUIRE(listed.size() == 4);
  REQUIRE(listed[0]["id"] == first);
  int64_t submitted = listed[0]["submitted_ms"], finished = listed[0]["finished_ms"];
  REQUIRE(finished >= submitted);
  std::this_thread::sleep_for(std::chrono::milliseconds(
      std::max<int64_t>(0, finished + 2100 - wall_ms())));  // the clock is the subject here
  auto row = table_row(c.cli({"jobs"}).out, first);
  REQUIRE(row.size() >= 6);
  CHECK(row[2] == "succeeded");
  CHECK(row[5] == std::to_string((finished - submitted) / 1000) + "s");
}
