// Bounded history with real processes (issue 12): --retain-max-jobs and --retain-finished
// forget finished jobs from the coordinator, its store, and across restarts;
// --retain-task-files removes finished tasks' files from workers.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <set>
#include <thread>

#include "protocol/client.hpp"
#include "storage/kv_store.hpp"
#include "storage/state_store.hpp"
#include "tests/cluster/harness.hpp"

using namespace gantry;
using namespace gantry::test;
using nlohmann::json;

namespace {

const char* kTrueJob = R"(name: true
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)";

// Submits n `true` jobs from 4 clients and waits until every one ended; returns their ids in
// submission order per client. A job that retention already forgot has ended too.
std::vector<std::string> run_jobs(cluster& c, int n) {
  constexpr int kClients = 4;
  std::vector<std::vector<std::string>> ids(kClients);
  std::vector<std::thread> threads;
  for (int k = 0; k < kClients; ++k)
    threads.emplace_back([&, k] {
      auto cl = client::connect(c.address(), c.local().admin_credentials()).value();
      for (int i = k; i < n; i += kClients) {
        auto r = cl->submit(kTrueJob, "true.yaml");
        if (r && !r->job_id.empty()) ids[k].push_back(r->job_id);
      }
      for (const auto& id : ids[k]) {
        auto r = cl->watch(
            id, 1, [](const job_event&) {}, 60000);
        if (!r && r.error().code != errc::not_found) ids[k].push_back("watch failed: " + id);
      }
    });
  for (auto& t : threads) t.join();
  std::vector<std::string> all;
  for (auto& v : ids) all.insert(all.end(), v.begin(), v.end());
  return all;
}

size_t finished_listed(cluster& c) {
  auto jobs = c.cli({"jobs", "--json"});
  REQUIRE_MESSAGE(jobs.exit_code == 0, jobs.err);
  size_t n = 0;
  for (const auto& j : jobs.json()) n += j["state"] != "pending" && j["state"] != "running";
  return n;
}

// What the stopped coordinator's store holds: jobs, events (all of listed jobs) and the
// bytes of its data once compacted (its live data).
struct store_view {
  size_t jobs = 0, events = 0, orphan_events = 0;
  uint64_t live_bytes = 0;
};

store_view inspect_store(const std::string& dir) {
  auto kv = storage::open_rocksdb(dir).value();
  storage::state_store store(*kv);
  store_view v;
  std::set<std::string> ids;
  auto jobs = store.load_jobs().value();  // (a range-for over a temporary's part would dangle)
  for (const auto& j : jobs) ids.insert(j.id);
  v.jobs = ids.size();
  REQUIRE(kv->scan(storage::column::events, "", [&](std::string_view k, std::string_view) {
              ++v.events;
              v.orphan_events += !ids.contains(std::string(k.substr(0, k.find('/'))));
              return true;
            }).has_value());
  REQUIRE(kv->compact(storage::column::jobs, "", "").has_value());
  REQUIRE(kv->compact(storage::column::events, "", "").has_value());
  v.live_bytes = kv->data_bytes().value();
  return v;
}

void stop_coordinator(cluster& c) {
  c.coordinator().signal(SIGTERM);
  REQUIRE(c.coordinator().wait(20000) == 0);
}

}  // namespace

TEST_CASE("retain-max-jobs keeps that many finished jobs, and a flat store, across restarts") {
#ifdef GANTRY_SANITIZE
  constexpr size_t kKeep = 50, kFirst = 150, kSecond = 100;  // the sanitizers: ~30 ms per job
#else
  constexpr size_t kKeep = 200, kFirst = 600, kSecond = 400;
#endif
  cluster c;
  INFO(c.logs());
  std::vector<std::string> coordinator_flags{"--retain-max-jobs", std::to_string(kKeep)};
  c.start({"w"}, {"--cpus", "8", "--memory", "8GiB"}, coordinator_flags);
  auto first = run_jobs(c, kFirst);
  REQUIRE(first.size() == kFirst);
  CHECK(finished_listed(c) == kKeep);
  auto gone = c.cli({"describe", first.front()});
  CHECK(gone.exit_code != 0);
  CHECK(gone.err.find("unknown job " + first.front() + " (finished jobs are kept 7d / " +
                      std::to_string(kKeep) +
                      " jobs, see --retain-finished and --retain-max-jobs)") != std::string::npos);
  stop_coordinator(c);
  store_view after_first = inspect_store(c.dir() + "/coordinator/state");

  c.start_coordinator(coordinator_flags);
  REQUIRE(c.wait_node("w", "ready"));
  auto second = run_jobs(c, kSecond);
  REQUIRE(second.size() == kSecond);
  auto kept = c.cli({"jobs", "--json"});
  REQUIRE(kept.exit_code == 0);
  std::set<std::string> kept_ids;
  for (const auto& j : kept.json()) kept_ids.insert(j["id"].get<std::string>());
  CHECK(kept_ids.size() == kKeep);
  stop_coordinator(c);
  store_view after_second = inspect_store(c.dir() + "/coordinator/state");
  MESSAGE("store after " << kFirst << " jobs: " << after_first.jobs << " jobs, "
                         << after_first.events << " events, " << after_first.live_bytes
                         << " live bytes; after " << kFirst + kSecond << ": " << after_second.jobs
                         << " jobs, " << after_second.events << " events, "
                         << after_second.live_bytes << " live bytes");
  // The last forgets may not have reached the store before SIGTERM: the next start sweeps
  // them. Either way the store stays near the limit instead of growing with every job.
  CHECK(after_first.jobs <= kKeep + 50);
  CHECK(after_second.jobs <= kKeep + 50);
  CHECK(after_first.orphan_events == 0);
  CHECK(after_second.orphan_events == 0);
  CHECK(after_second.live_bytes < after_first.live_bytes * 5 / 4);

  // A restart serves the retained jobs and refuses the forgotten ones.
  c.start_coordinator(coordinator_flags);
  CHECK(finished_listed(c) == kKeep);
  const std::string& newest = *kept_ids.rbegin();
  auto d = c.cli({"describe", newest, "--json"});
  CHECK_MESSAGE(d.exit_code == 0, d.err);
  if (d.exit_code == 0) CHECK(d.json()["state"] == "succeeded");
  CHECK(c.cli({"describe", second.front()}).err.find("unknown job") != std::string::npos);
  CHECK(c.cli({"logs", first.back(), "--stage", "s"}).err.find("unknown job") != std::string::npos);
}

TEST_CASE("a restart forgets what finished longer than retain-finished ago, never a running job") {
  cluster c;
  INFO(c.logs());
  c.start({"w"});
  std::string done = c.submit("done.yaml", kTrueJob);
  REQUIRE(c.cli({"watch", done}).exit_code == 0);
  std::string running = c.submit("sleep.yaml", R"(name: sleeper
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sleep", "60" ]
)");
  event_stream ev(c, running);
  REQUIRE(ev.until_running(1, 20000));
  stop_coordinator(c);
  c.start_coordinator({"--retain-finished", "1ms"});
  auto d = c.cli({"describe", done});
  CHECK(d.exit_code != 0);
  CHECK(d.err.find("unknown job " + done + " (finished jobs are kept 1ms / 100000 jobs") !=
        std::string::npos);
  auto r = c.cli({"describe", running, "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.json()["state"] == "running");
  CHECK(c.cli({"describe", "j-999999"}).err.find("no job j-999999") != std::string::npos);
  CHECK(c.cli({"cancel", running}).exit_code == 0);
}

TEST_CASE(
    "a worker restarted with a short retain-task-files removes old task files, and logs says so") {
  cluster c;
  INFO(c.logs());
  c.start({"w"});
  std::string job = c.submit("echo.yaml", R"(name: echo
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo kept" ]
)");
  REQUIRE(c.cli({"watch", job}).exit_code == 0);
  CHECK(c.cli({"logs", job, "--stage", "s"}).out.find("kept") != std::string::npos);
  std::string task_dir = c.dir() + "/w/tasks/" + job + ".s.0.0";
  REQUIRE(std::filesystem::exists(task_dir));
  c.worker("w").signal(SIGTERM);
  REQUIRE(c.worker("w").wait(20000) == 0);
  c.start_worker("w", {"--retain-task-files", "1ms"});  // removes what ended before its start
  REQUIRE(c.wait_node("w", "ready"));
  auto gone = c.cli({"logs", job, "--stage", "s"});
  CHECK(gone.out.find("kept") == std::string::npos);  // each rank's failure goes to stderr
  CHECK(gone.err.find("has no log on this worker (a finished task's files are removed 1ms after "
                      "it ended, see --retain-task-files)") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(task_dir));
}
