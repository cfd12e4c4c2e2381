// The web dashboard (issue 12 item 1): its files open, with a strict CSP, its data behind
// tokens; and in headless Chromium (Debian's chromium): the nodes with their GPU cells and a
// fraction, the jobs table, a job's page with its events as they happen and its state moving
// to succeeded and its log's tail, the token form, and a screenshot (a PNG of the asked size,
// not blank). Also /api/v1/jobs/{id}/logs, which the job page reads.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <set>

#include "tests/cluster/harness.hpp"
#include "tests/cluster/http_helpers.hpp"

using namespace gantry::test;

namespace {

// curl -D: the response head and body of GET `url`.
std::string dash_get_with_head(const std::string& dir, const std::string& url,
                               const std::string& ca) {
  process p({"/usr/bin/curl", "-sS", "--max-time", "20", "-D", "-", "--cacert", ca, url},
            dir + "/dash-curl.err");
  std::string out = p.read_all(30000);
  p.wait(5000);
  return out;
}

// Headless Chromium on `url`: its DOM after the page ran `budget_ms` of virtual time, or a
// screenshot into `png` (then "" is returned).
std::string dash_chromium(const std::string& dir, const std::string& url, int budget_ms,
                          const std::string& png = "") {
  std::vector<std::string> a{"/usr/bin/chromium", "--headless",
                             "--no-sandbox",  // tests run as root
                             "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                             "--user-data-dir=" + dir + "/chromium-profile",
                             // the cluster's CA is not the system's: this test's only way in
                             "--ignore-certificate-errors",
                             "--virtual-time-budget=" + std::to_string(budget_ms)};
  if (png.empty())
    a.push_back("--dump-dom");
  else
    a.insert(a.end(), {"--window-size=1280,800", "--screenshot=" + png});
  a.push_back(url);
  process p(a, dir + "/chromium.err");
  std::string dom = p.read_all(90000);
  p.wait(10000);
  return dom;
}

uint32_t dash_be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

struct dash_png {
  uint32_t width = 0, height = 0;
  size_t distinct_bytes = 0;  // in the inflated image data: a blank page has a handful
  std::string problem;        // "" when the file is a PNG whose image data inflates
};

dash_png dash_read_png(const std::string& bytes) {
  dash_png out;
  if (!bytes.starts_with("\x89PNG\r\n\x1a\n")) return {.problem = "no PNG signature"};
  std::string idat;
  int bpp = 0;
  for (size_t at = 8; at + 8 <= bytes.size();) {
    uint32_t len = dash_be32(bytes, at);
    std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + len > bytes.size()) return {.problem = "truncated chunk " + type};
    if (type == "IHDR") {
      out.width = dash_be32(bytes, at + 8);
      out.height = dash_be32(bytes, at + 12);
      int color = uint8_t(bytes[at + 17]);
      bpp = color == 6 ? 4 : color == 2 ? 3 : 0;
    } else if (type == "IDAT") {
      idat += bytes.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (bpp == 0) return {.problem = "not 8-bit RGB or RGBA"};
  std::string raw(size_t(out.height) * (1 + size_t(out.width) * bpp), '\0');
  uLongf raw_len = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size())
    return {.problem = "image data does not inflate to width x height"};
  std::set<char> seen(raw.begin(), raw.end());
  out.distinct_bytes = seen.size();
  return out;
}

}  // namespace

TEST_CASE(
    "Dashboard: open files with a strict CSP, then nodes, jobs and a job in headless chromium") {
  cluster c;
  c.start({"w1"}, {"--simulate-gpus", "2xH100:80GiB"});
  INFO(c.logs());
  const std::string url = c.local().http_url(), ca = c.local().ca_file(), dir = c.dir();
  const std::string token = http_admin_token(c);

  // The page and its files need no token and hold no data; data calls still need one.
  std::string page = dash_get_with_head(dir, url + "/", ca);
  CHECK(page.starts_with("HTTP/1.1 200"));
  CHECK(page.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
  CHECK(page.find("Content-Security-Policy: default-src 'self'; script-src 'self';") !=
        std::string::npos);
  CHECK(page.find("<script src=\"/app.js\" defer></script>") != std::string::npos);
  CHECK(page.find("<script>") == std::string::npos);  // no inline script
  std::string js = dash_get_with_head(dir, url + "/app.js", ca);
  CHECK(js.find("Content-Type: text/javascript; charset=utf-8") != std::string::npos);
  CHECK(js.find("Cache-Control: no-cache") != std::string::npos);
  CHECK(http_get(url + "/api/v1/nodes", ca, "").status == 401);

  // The tail of a rank's log, as the job page reads it.
  std::string echo = c.submit("echo", R"(name: echo
stages:
  - name: main
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo first line; echo last line" ]
)");
  REQUIRE(c.cli({"wait", echo}).exit_code == 0);
  const std::string logs = url + "/api/v1/jobs/" + echo + "/logs";
  auto tail = http_get(logs + "?stage=main&rank=0&tail=10", ca, token);
  REQUIRE(tail.status == 200);
  auto chunk = nlohmann::json::parse(tail.body);
  CHECK(chunk["data"] == "last line\n");
  CHECK(chunk["finished"] == true);
  CHECK(chunk["next_offset"] == 21);
  CHECK(nlohmann::json::parse(http_get(logs + "?stage=main", ca, token).body)["data"] ==
        "first line\nlast line\n");
  CHECK(http_get(logs, ca, token).status == 400);
  CHECK(http_get(logs + "?stage=main", ca, "").status == 401);
  CHECK(http_get(url + "/api/v1/jobs/j-999999/logs?stage=main", ca, token).status == 404);

#ifdef GANTRY_SANITIZE
  // The browser reaches the same routes as above and in http_api_test and http_events_test,
  // which run here; what it adds is the page's own behaviour, checked in the normal build.
  MESSAGE("skipped the browser in the sanitizer build (the normal build runs it)");
  return;
#endif
  if (!have_program("chromium")) {
    MESSAGE("skipped the browser: chromium is not installed (scripts/setup.sh installs it)");
    return;
  }
  std::string shared = c.submit("quarter", R"(name: quarter
stages:
  - name: main
    device: gpu
    resources: { cpu: 0.1, memory: 16MiB, gpu: 0.25 }
    command: [ "sleep", "600" ]
)");
  event_stream running(c, shared);
  REQUIRE(running.until_running(1, 30000));

  // The nodes page: w1, its two GPU cells, GPU 0 (or 1) a quarter allocated.
  std::string nodes = dash_chromium(dir, url + "/#token=" + token, 5000);
  CHECK(nodes.find("data-node=\"w1\"") != std::string::npos);
  CHECK(nodes.find("data-gpu=\"0\"") != std::string::npos);
  CHECK(nodes.find("data-gpu=\"1\"") != std::string::npos);
  CHECK(nodes.find("<b class=\"fraction\">0.25</b>") != std::string::npos);
  CHECK(nodes.find("id=\"login\" hidden") != std::string::npos);

  // A job's page while it runs: its events arrive over SSE and it turns succeeded, no reload.
  std::string quick = c.submit("quick", R"(name: quick
stages:
  - name: main
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo quick says hello; sleep 2" ]
)");
  // Virtual time: an open event stream holds it, and once the job ended the page's 2 s polls
  // each take one fetch; 15 s of it leave room for a slow start under load.
  std::string job = dash_chromium(dir, url + "/#token=" + token + "&to=/jobs/" + quick, 15000);
  CHECK(job.find("Job " + quick) != std::string::npos);
  CHECK(job.find("<ol id=\"events\" class=\"events\"><li data-seq=\"1\">") != std::string::npos);
  CHECK(job.find("job succeeded") != std::string::npos);
  CHECK(job.find("<p id=\"job-state\">succeeded</p>") != std::string::npos);
  CHECK(job.find("<pre>quick says hello\n</pre>") != std::string::npos);

  // The jobs table lists both.
  std::string jobs = dash_chromium(dir, url + "/#token=" + token + "&to=/jobs", 3000);
  CHECK(jobs.find("href=\"#/jobs/" + shared + "\"") != std::string::npos);
  CHECK(jobs.find("href=\"#/jobs/" + quick + "\"") != std::string::npos);

  // The queues page: the coordinator's queues, or a note where it has no /api/v1/queues.
  bool have_queues = http_get(url + "/api/v1/queues", ca, token).status != 404;
  std::string queues = dash_chromium(dir, url + "/#token=" + token + "&to=/queues", 3000);
  CHECK(queues.find("<h2>Queues</h2>") != std::string::npos);
  CHECK((queues.find("queues are not available on this coordinator") == std::string::npos) ==
        have_queues);

  // A wrong token brings the form back with the coordinator's message.
  std::string refused = dash_chromium(dir, url + "/#token=gty_wrong", 3000);
  CHECK(refused.find("<form id=\"login\">") != std::string::npos);
  CHECK(refused.find("Authorization: Bearer TOKEN with a valid") != std::string::npos);

  // A screenshot of the nodes page, kept in the build directory (build/dashboard.png).
  std::string png = std::string(GANTRY_BIN_DIR) + "/../dashboard.png";
  std::filesystem::remove(png);
  dash_chromium(dir, url + "/#token=" + token, 5000, png);
  auto shot = dash_read_png(read_file(png));
  CHECK(shot.problem == "");
  CHECK(shot.width == 1280);
  CHECK(shot.height == 800);
  CHECK(shot.distinct_bytes > 16);
  c.cli({"cancel", shared});
}
