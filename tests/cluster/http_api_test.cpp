// The coordinator's HTTP side (issue 12 item 1): /healthz and /readyz open, /metrics and
// /api/v1 behind the same tokens and roles as RPC, the JSON API with the CLI's --json keys,
// and Prometheus text that promtool accepts on the coordinator and on a worker.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/cluster/harness.hpp"
#include "tests/cluster/http_helpers.hpp"

using namespace gantry::test;

namespace {

std::set<std::string> http_keys_of(const nlohmann::json& object) {
  std::set<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.insert(it.key());
  return out;
}

// A new token of `user` with role user, made by the admin.
std::string http_user_token(cluster& c, const std::string& user) {
  auto r = c.cli({"token", "create", "--user", user, "--role", "user"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out.substr(0, r.out.find('\n'));
}

// What promtool says of `text` ("" when it passes).
std::string http_promtool_problems(const std::string& dir, const std::string& text) {
  std::string path = dir + "/scrape.txt";
  std::ofstream(path) << text;
  process p({"/bin/sh", "-c", "promtool check metrics < \"$0\" 2>&1", path}, dir + "/promtool.err");
  std::string out = p.read_all(30000);
  int code = p.wait(5000);
  return code == 0 ? "" : "exit " + std::to_string(code) + ": " + out;
}

}  // namespace

TEST_CASE("HTTP: healthz and readyz answer without a token, metrics and api refuse without one") {
  cluster c;
  c.start({"w1"});
  const std::string url = c.local().http_url();
  REQUIRE(url.starts_with("https://127.0.0.1:"));
  CHECK(c.log_of("coordinator").find("HTTP on " + url) != std::string::npos);
  const std::string ca = c.local().ca_file();

  auto health = http_get(url + "/healthz", ca, "");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  CHECK(http_get(url + "/readyz", ca, "").status == 200);

  for (const char* path : {"/metrics", "/api/v1/jobs", "/api/v1/nodes", "/api/v1/jobs/j-000001"}) {
    INFO(path);
    auto none = http_get(url + path, ca, "");
    CHECK(none.status == 401);
    CHECK(none.body.find("Authorization: Bearer") != std::string::npos);
    auto wrong = http_get(url + path, ca, "gty_not-a-real-token");
    CHECK(wrong.status == 401);
    CHECK(nlohmann::json::parse(wrong.body).contains("error"));
    auto join = http_get(url + path, ca, read_file(c.local().join_token_file()));
    CHECK(join.status == 403);
    CHECK(http_get(url + path, ca, http_admin_token(c)).status != 401);
  }
  // Only GET, no bodies, no unknown paths.
  CHECK(http_get(url + "/api/v1/jobs", ca, http_admin_token(c), "POST").status == 405);
  CHECK(http_get(url + "/api/v2/anything", ca, http_admin_token(c)).status == 404);
  // Plain HTTP to the HTTPS port gets no answer.
  std::string plain = "http://" + url.substr(std::string("https://").size());
  CHECK(http_get(plain + "/healthz", "", "").status != 200);
}

TEST_CASE("HTTP API: jobs, one job and nodes carry the CLI's json keys, an unknown job is 404") {
  cluster c;
  c.start({"w1"});
  const std::string url = c.local().http_url(), ca = c.local().ca_file();
  const std::string admin = http_admin_token(c);
  std::string id = c.submit("sleeper", kSleeper);

  auto jobs = http_get(url + "/api/v1/jobs", ca, admin);
  REQUIRE(jobs.status == 200);
  auto cli_jobs = c.cli({"jobs", "--json"});
  REQUIRE(cli_jobs.exit_code == 0);
  auto api_jobs = nlohmann::json::parse(jobs.body);
  REQUIRE(api_jobs.is_array());
  REQUIRE(api_jobs.size() == 1);
  CHECK(api_jobs[0]["id"] == id);
  CHECK(http_keys_of(api_jobs[0]) == http_keys_of(cli_jobs.json()[0]));
  auto filtered = http_get(url + "/api/v1/jobs?state=succeeded", ca, admin);
  CHECK(nlohmann::json::parse(filtered.body).empty());
  CHECK(http_get(url + "/api/v1/jobs?state=bogus", ca, admin).status == 400);

  auto one = http_get(url + "/api/v1/jobs/" + id, ca, admin);
  REQUIRE(one.status == 200);
  auto cli_one = c.cli({"describe", id, "--json"});
  REQUIRE(cli_one.exit_code == 0);
  CHECK(nlohmann::json::parse(one.body)["id"] == id);
  CHECK(http_keys_of(nlohmann::json::parse(one.body)) == http_keys_of(cli_one.json()));

  auto missing = http_get(url + "/api/v1/jobs/j-999999", ca, admin);
  CHECK(missing.status == 404);
  CHECK(missing.body.find("j-999999") != std::string::npos);

  auto nodes = http_get(url + "/api/v1/nodes", ca, admin);
  REQUIRE(nodes.status == 200);
  auto api_nodes = nlohmann::json::parse(nodes.body);
  auto cli_nodes = c.cli({"nodes", "--json"});
  REQUIRE(api_nodes.size() == 1);
  CHECK(api_nodes[0]["name"] == "w1");
  CHECK(http_keys_of(api_nodes[0]) == http_keys_of(cli_nodes.json()[0]));

  // A user sees its own jobs only, as over RPC: the admin's job is not found.
  std::string bob = http_user_token(c, "bob");
  auto bobs = http_get(url + "/api/v1/jobs", ca, bob);
  REQUIRE(bobs.status == 200);
  CHECK(nlohmann::json::parse(bobs.body).empty());
  CHECK(http_get(url + "/api/v1/jobs/" + id, ca, bob).status == 404);
  c.cli({"cancel", id});
}

TEST_CASE("HTTP metrics: promtool accepts the coordinator's and a worker's, which count the job") {
  if (!have_program("promtool")) {
    MESSAGE("skipped: promtool is not installed (scripts/setup.sh installs prometheus)");
    return;
  }
  cluster c;
  c.start({"w1"}, {"--http-listen", "127.0.0.1:0", "--simulate-gpus", "2xH100:80GiB"});
  const std::string url = c.local().http_url(), ca = c.local().ca_file();
  std::string worker_url = worker_http_url(c, "w1");
  REQUIRE_MESSAGE(worker_url.starts_with("http://127.0.0.1:"), c.logs());
  std::string id = c.submit("sleeper", kSleeper);
  event_stream events(c, id);
  REQUIRE(events.until_running(1, 30000));

  // The job's summary reaches the cluster actor just after its event: wait for it.
  const std::string running = "gantry_jobs{queue=\"default\",state=\"running\"} 1\n";
  auto m =
      http_get_until(url + "/metrics", ca, http_admin_token(c), 20000, [&](const http_reply& r) {
        return r.body.find(running) != std::string::npos &&
               r.body.find("gantry_heartbeats_total 0\n") == std::string::npos;
      });
  REQUIRE(m.status == 200);
  CHECK(http_promtool_problems(c.dir(), m.body) == "");
  CHECK(m.body.find(running) != std::string::npos);
  CHECK(m.body.find("gantry_nodes{state=\"ready\"} 1\n") != std::string::npos);
  CHECK(m.body.find("gantry_gpus 2\n") != std::string::npos);
  CHECK(m.body.find("gantry_submits_total 1\n") != std::string::npos);
  CHECK(m.body.find("gantry_submit_to_running_seconds_count 1\n") != std::string::npos);
  CHECK(m.body.find("gantry_heartbeats_total 0\n") == std::string::npos);
  CHECK(m.body.find("gantry_node_gpus{node=\"w1\",state=\"ready\"} 2\n") != std::string::npos);
  CHECK(m.body.find("gantry_store_write_seconds_count 0\n") == std::string::npos);

  auto w = http_get(worker_url + "/metrics", "", "");
  REQUIRE(w.status == 200);
  CHECK(http_promtool_problems(c.dir(), w.body) == "");
  CHECK(w.body.find("gantry_worker_tasks{node=\"w1\"} 1\n") != std::string::npos);
  CHECK(w.body.find("gantry_task_cpu_seconds_total{node=\"w1\",job=\"" + id) != std::string::npos);
  CHECK(w.body.find("simulated=\"true\"") != std::string::npos);
  CHECK(http_get(worker_url + "/healthz", "", "").status == 200);
  c.cli({"cancel", id});
}

TEST_CASE("HTTP metrics: gantry_gpu_fragmentation is FGD's measure for the workload seen") {
  cluster c;
  c.start({"w1"}, {"--simulate-gpus", "2xH100:80GiB"});
  INFO(c.logs());
  const std::string url = c.local().http_url(), ca = c.local().ca_file();
  const std::string admin = http_admin_token(c);
  auto fragmentation = [&](const std::string& value) {
    return http_get_until(url + "/metrics", ca, admin, 20000, [&](const http_reply& r) {
             return r.body.find("gantry_gpu_fragmentation " + value + "\n") != std::string::npos;
           }).body.find("gantry_gpu_fragmentation " + value + "\n") != std::string::npos;
  };
  CHECK(fragmentation("0"));
  // The workload: one-GPU tasks and half-GPU tasks, as many of each. With half of GPU 0
  // taken, a one-GPU task cannot use GPU 0's free half: 0.5 GPU for half of the workload.
  std::string whole = c.submit("whole", R"(name: whole
stages:
  - name: main
    device: gpu
    resources: { cpu: 0.1, memory: 16MiB, gpu: 1 }
    command: [ "true" ]
)");
  REQUIRE(c.cli({"wait", whole}).exit_code == 0);
  std::string half = c.submit("half", R"(name: half
stages:
  - name: main
    device: gpu
    resources: { cpu: 0.1, memory: 16MiB, gpu: 0.5 }
    command: [ "sleep", "600" ]
)");
  event_stream running(c, half);
  REQUIRE(running.until_running(1, 30000));
  CHECK(fragmentation("0.25"));
  // Every GPU free again: every task type fits everywhere.
  REQUIRE(c.cli({"cancel", half}).exit_code == 0);
  CHECK(fragmentation("0"));
}

TEST_CASE("HTTP with --insecure: plain HTTP on loopback, no token needed, elsewhere refused") {
  cluster c;
  c.start_coordinator({"--insecure"});
  const std::string url = c.local().http_url();
  REQUIRE(url.starts_with("http://127.0.0.1:"));
  auto m = http_get(url + "/metrics", "", "");
  CHECK(m.status == 200);
  CHECK(m.body.find("# TYPE gantry_jobs gauge") != std::string::npos);
  CHECK(http_get(url + "/api/v1/nodes", "", "").status == 200);

  temp_dir dir{"gantry-test"};
  process wide({bin("gantry"), "coordinator", "--insecure", "--listen", "127.0.0.1:0",
                "--http-listen", "0.0.0.0:0", "--data-dir", dir.path() + "/c"},
               dir.path() + "/wide.err");
  CHECK(wide.wait(20000) == 2);
  CHECK(read_file(dir.path() + "/wide.err").find("--insecure serves HTTP on loopback only") !=
        std::string::npos);
  process off({bin("gantry"), "coordinator", "--listen", "127.0.0.1:0", "--http-listen", "nowhere",
               "--data-dir", dir.path() + "/c2"},
              dir.path() + "/off.err");
  CHECK(off.wait(20000) == 2);
  CHECK(read_file(dir.path() + "/off.err").find("--http-listen: ") != std::string::npos);
}
