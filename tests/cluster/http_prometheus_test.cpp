// A real Prometheus (Debian's prometheus) scrapes a coordinator over HTTPS with a bearer
// token file and the cluster's CA, and a worker over plain HTTP, every second; its query API
// then shows the ready node and the running job.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "tests/cluster/harness.hpp"
#include "tests/cluster/http_helpers.hpp"

using namespace gantry::test;

namespace {

// A port nothing listens on now (Prometheus cannot report one it picked itself).
int prometheus_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string prometheus_host_port(const std::string& url) {
  return url.substr(url.find("://") + 3);
}

// The value of the first series of `query`'s answer whose labels include label=value, or "".
std::string prometheus_value(const std::string& api, const std::string& metric,
                             const std::string& label, const std::string& value) {
  auto r = http_get(api + "/api/v1/query?query=" + metric, "", "");
  if (r.status != 200) return "";
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || j["status"] != "success") return "";
  for (const auto& s : j["data"]["result"])
    if (label.empty() || s["metric"].value(label, "") == value)
      return s["value"][1].get<std::string>();
  return "";
}

}  // namespace

TEST_CASE("Prometheus scrapes the coordinator and a worker and finds the node and the job") {
  if (!have_program("prometheus")) {
    MESSAGE("skipped: prometheus is not installed (scripts/setup.sh installs it)");
    return;
  }
  cluster c;
  c.start({"w1"}, {"--http-listen", "127.0.0.1:0"});
  std::string worker_url = worker_http_url(c, "w1");
  REQUIRE_MESSAGE(!worker_url.empty(), c.logs());
  std::string id = c.submit("sleeper", kSleeper);

  int port = prometheus_free_port();
  std::string dir = c.dir() + "/prometheus";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n"
      << "  - job_name: gantry-coordinator\n    scheme: https\n"
      << "    authorization:\n      credentials_file: " << c.local().admin_token_file() << "\n"
      << "    tls_config:\n      ca_file: " << c.local().ca_file() << "\n"
      << "    static_configs:\n      - targets: ['" << prometheus_host_port(c.local().http_url())
      << "']\n"
      << "  - job_name: gantry-worker\n"
      << "    static_configs:\n      - targets: ['" << prometheus_host_port(worker_url) << "']\n";
  gantry::harness::process prom(
      {"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
       "--storage.tsdb.path=" + dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      gantry::harness::spawn_options{.log_path = dir + "/prometheus.log"});
  std::string api = "http://127.0.0.1:" + std::to_string(port);

  // Scrapes run every second: each series shows up within a few.
  int64_t deadline = now_ms() + 60000;
  std::string node, job, tasks;
  while (now_ms() < deadline) {
    node = prometheus_value(api, "gantry_nodes", "state", "ready");
    job = prometheus_value(api, "gantry_jobs", "state", "running");
    tasks = prometheus_value(api, "gantry_worker_tasks", "node", "w1");
    if (node == "1" && job == "1" && tasks == "1") break;
    usleep(200000);  // Prometheus scrapes on its own clock
  }
  INFO(read_file(dir + "/prometheus.log"));
  INFO(c.logs());
  CHECK(node == "1");
  CHECK(job == "1");
  CHECK(tasks == "1");
  CHECK(prometheus_value(api, "gantry_node_gpus", "node", "w1") == "0");
  // Both targets are up: the token file and the CA worked.
  CHECK(prometheus_value(api, "up", "job", "gantry-coordinator") == "1");
  CHECK(prometheus_value(api, "up", "job", "gantry-worker") == "1");
  prom.stop(5000);
  c.cli({"cancel", id});
}
