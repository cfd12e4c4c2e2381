// Queues on a real cluster: defined with `gantry queue`, jobs admitted through them, a queue
// at its limit keeping a job pending with the book's reason, the same figures over HTTP
// (/api/v1/queues, /metrics), the definitions and each queue's usage surviving a coordinator
// restart, and only admins changing queues.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "tests/cluster/harness.hpp"
#include "tests/cluster/http_helpers.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

std::string gpu_sleeper(const std::string& queue) {
  return "name: " + queue + "-sleeper\nqueue: " + queue + R"(
stages:
  - name: main
    device: gpu
    resources: { cpu: 0.1, memory: 16MiB, gpu: 1 }
    command: [ "sleep", "600" ]
)";
}

const json* find_queue(const json& list, const std::string& name) {
  for (const auto& q : list)
    if (q["name"] == name) return &q;
  return nullptr;
}

// The stage reason the job's events give first (read with a deadline).
std::string first_pending_reason(cluster& c, const std::string& job) {
  std::string reason;
  event_stream(c, job).until(20000, [&](const json& e) {
    if (e["kind"] == "stage" && e["state"] == "pending" && !e["message"].get<std::string>().empty())
      reason = e["message"];
    return !reason.empty();
  });
  return reason;
}

}  // namespace

TEST_CASE("queues: a limit holds a job pending, usage and definitions survive a restart") {
  cluster c;
  INFO(c.logs());
  c.start({"w1"}, {"--cpus", "4", "--memory", "4GiB", "--simulate-gpus", "4xH100:80GiB"});
  auto made = c.cli({"queue", "create", "vision", "--guarantee", "gpu=2,cpu=1", "--weight", "2"});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  CHECK(made.out == "queue vision created\n");
  REQUIRE(c.cli({"queue", "create", "nlp", "--limit", "gpu=1"}).exit_code == 0);

  // A user token reaches the RPC and is refused there; nothing changes.
  auto token = c.cli({"token", "create", "--user", "mallory"});
  REQUIRE(token.exit_code == 0);
  std::string user_token = c.dir() + "/mallory.token";
  std::ofstream(user_token) << token.out;
  std::filesystem::permissions(
      user_token, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
  for (std::vector<std::string> attack :
       {std::vector<std::string>{"queue", "create", "mine", "--guarantee", "gpu=4"},
        {"queue", "update", "nlp", "--limit", "none"},
        {"queue", "delete", "vision"}}) {
    attack.insert(attack.end(), {"--token-file", user_token, "--ca", c.local().ca_file()});
    auto r = c.cli_without_credentials(attack);
    CHECK_MESSAGE(r.exit_code == 4, attack[1] << ": " << r.err);
    CHECK_MESSAGE(r.err.find("admin") != std::string::npos, r.err);
  }

  std::string nlp1 = c.submit("nlp1.yaml", gpu_sleeper("nlp"));
  REQUIRE(event_stream(c, nlp1).until_running(1, 20000));
  std::string nlp2 = c.submit("nlp2.yaml", gpu_sleeper("nlp"));
  std::string reason = first_pending_reason(c, nlp2);
  CHECK(reason == "queue nlp is at its limit (1 gpu; in use 1 gpu)");
  auto described = c.cli({"describe", nlp2, "--json"}).json();
  CHECK(described["queue"] == "nlp");
  CHECK(described["state"] == "pending");
  CHECK(described["stages"][0]["reason"] == reason);
  // Another queue is not held back by nlp's limit.
  std::string vision = c.submit("vision.yaml", gpu_sleeper("vision"));
  REQUIRE(event_stream(c, vision).until_running(1, 20000));

  auto unknown = c.cli({"submit", c.write_manifest("typo.yaml", gpu_sleeper("visoin"))});
  CHECK(unknown.exit_code != 0);
  CHECK_MESSAGE(unknown.err.find("no queue \"visoin\"") != std::string::npos, unknown.err);
  CHECK_MESSAGE(unknown.err.find("gantry queue list") != std::string::npos, unknown.err);

  auto jobs = c.cli({"jobs", "--json"}).json();
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0]["queue"] == "nlp");
  CHECK(jobs[2]["queue"] == "vision");
  auto refused = c.cli({"queue", "delete", "nlp"});
  CHECK(refused.exit_code != 0);
  CHECK_MESSAGE(refused.err.find("holds 2 unfinished jobs") != std::string::npos, refused.err);

  auto check_queues = [&](const char* when) {
    INFO(when);
    auto list = c.cli({"queue", "list", "--json"});
    REQUIRE_MESSAGE(list.exit_code == 0, list.err);
    json queues = list.json();
    CHECK(queues.size() == 3);
    const json* v = find_queue(queues, "vision");
    const json* n = find_queue(queues, "nlp");
    REQUIRE(v != nullptr);
    REQUIRE(n != nullptr);
    CHECK((*v)["guarantee"]["gpu"] == 2.0);
    CHECK((*v)["guarantee"]["cpu"] == 1.0);
    CHECK((*v)["limit"]["gpu"].is_null());
    CHECK((*v)["weight"] == 2.0);
    CHECK((*v)["usage"]["gpu"] == 1.0);
    CHECK((*v)["borrowed"]["gpu"] == 0.0);
    CHECK((*n)["limit"]["gpu"] == 1.0);
    CHECK((*n)["usage"]["gpu"] == 1.0);
    CHECK((*n)["borrowed"]["gpu"] == 1.0);  // no guarantee: all it uses is borrowed
  };
  auto nlp_pending = [&] {  // after a restart, once nlp2's job asked for placement again
    for (int64_t deadline = now_ms() + 20000; now_ms() < deadline;) {
      json queues = c.cli({"queue", "list", "--json"}).json();
      const json* n = find_queue(queues, "nlp");
      if (n != nullptr && (*n)["pending"] == 1) return true;
    }
    return false;
  };
  check_queues("before the restart");
  CHECK(nlp_pending());

  // The HTTP API serves the same document, and /metrics the same figures.
  std::string url = c.local().http_url(), ca = c.local().ca_file();
  const std::string admin = http_admin_token(c);
  auto api = http_get(url + "/api/v1/queues", ca, admin);
  REQUIRE(api.status == 200);
  CHECK(json::parse(api.body) == c.cli({"queue", "list", "--json"}).json());
  // A job's summary reaches the cluster actor just after its event: wait for it.
  const std::string vision_running = "gantry_jobs{queue=\"vision\",state=\"running\"} 1\n";
  auto metrics = http_get_until(url + "/metrics", ca, admin, 20000, [&](const http_reply& r) {
    return r.body.find(vision_running) != std::string::npos;
  });
  REQUIRE(metrics.status == 200);
  for (const char* line : {"gantry_jobs{queue=\"nlp\",state=\"pending\"} 1\n",
                           "gantry_jobs{queue=\"default\",state=\"running\"} 0\n",
                           "gantry_queue_usage{queue=\"nlp\",resource=\"gpu\"} 1\n",
                           "gantry_queue_usage{queue=\"vision\",resource=\"cpu\"} 0.1\n",
                           "gantry_queue_guarantee{queue=\"vision\",resource=\"gpu\"} 2\n",
                           "gantry_queue_borrowed{queue=\"nlp\",resource=\"gpu\"} 1\n",
                           "gantry_queue_borrowed{queue=\"vision\",resource=\"gpu\"} 0\n",
                           "gantry_queue_pending_jobs{queue=\"nlp\"} 1\n",
                           "gantry_preemptions_total{queue=\"vision\"} 0\n"})
    CHECK_MESSAGE(metrics.body.find(line) != std::string::npos, line);

  c.coordinator().signal(SIGKILL);
  REQUIRE(c.coordinator().wait(10000) >= 0);
  c.start_coordinator();
  // The running tasks are charged to their queues again before anything is served, and nlp2
  // waits again.
  check_queues("after the restart");
  CHECK(nlp_pending());
  REQUIRE(c.wait_node("w1", "ready"));
  CHECK(c.cli({"describe", nlp1, "--json"}).json()["state"] == "running");
  CHECK(c.cli({"describe", nlp2, "--json"}).json()["state"] == "pending");
  auto table = c.cli({"queue", "list"});
  REQUIRE(table.exit_code == 0);
  CHECK_MESSAGE(table.out.find("vision   gpu=2,cpu=1") != std::string::npos, table.out);
}
