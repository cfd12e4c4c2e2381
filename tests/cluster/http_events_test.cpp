// GET /api/v1/jobs/{id}/events (issue 12 item 1): Server-Sent Events with the JSON of
// `gantry watch --json`, in order, resumable from Last-Event-ID, ending when the job ends;
// refused like the other /api routes; a client that goes away releases its subscription.
#include <doctest/doctest.h>

#include <csignal>
#include <optional>
#include <sstream>

#include "tests/cluster/harness.hpp"
#include "tests/cluster/http_helpers.hpp"

using namespace gantry::test;

namespace {

struct sse_event {
  std::string id, event, data;
};

// curl streaming one event stream, read event by event.
class sse_client {
 public:
  sse_client(const std::string& dir, const std::string& url, const std::string& ca,
             const std::string& token, const std::string& header = "")
      : p(args(url, ca, token, header), dir + "/sse-curl.err") {}

  // The next event (comments skipped); nullopt when the stream ended or timeout_ms passed.
  // Every block the server sends, comment or event, ends with one blank line, so an empty
  // read outside a block is the end of the output (or no output yet).
  std::optional<sse_event> next(int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    sse_event e;
    bool in_block = false, fields = false;
    while (now_ms() < deadline) {
      std::string line = p.read_line(static_cast<int>(deadline - now_ms()));
      if (line.empty()) {
        if (fields) return e;
        if (in_block) {  // the blank line after a comment
          in_block = false;
          continue;
        }
        if (p.wait(0) >= 0) return std::nullopt;  // curl ended: so did the stream
        continue;
      }
      in_block = true;
      if (line.starts_with(":")) {
        comments.push_back(line);
        continue;
      }
      fields = true;
      auto colon = line.find(": ");
      std::string field = line.substr(0, colon), value = line.substr(colon + 2);
      if (field == "id") e.id = value;
      if (field == "event") e.event = value;
      if (field == "data") e.data = value;
    }
    return std::nullopt;
  }
  // Every event up to and including `event: end` (or the stream's end, or timeout_ms).
  std::vector<sse_event> until_end(int timeout_ms) {
    std::vector<sse_event> out;
    int64_t deadline = now_ms() + timeout_ms;
    while (auto e = next(static_cast<int>(std::max<int64_t>(1, deadline - now_ms())))) {
      out.push_back(*e);
      if (e->event == "end") break;
    }
    return out;
  }

  process p;
  std::vector<std::string> comments;

 private:
  static std::vector<std::string> args(const std::string& url, const std::string& ca,
                                       const std::string& token, const std::string& header) {
    std::vector<std::string> a{"/usr/bin/curl",
                               "-sS",
                               "-N",
                               "--max-time",
                               "120",
                               "--cacert",
                               ca,
                               "-H",
                               "Authorization: Bearer " + token};
    if (!header.empty()) a.insert(a.end(), {"-H", header});
    a.push_back(url);
    return a;
  }
};

std::vector<std::string> sse_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> sse_data_of(const std::vector<sse_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e.event.empty()) out.push_back(e.data);
  return out;
}

const char* const kSseTwoStages = R"(name: two
stages:
  - name: first
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
  - name: second
    after: [ first ]
    replicas: 2
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)";

bool sse_streams_are(const std::string& metrics, int n) {
  return metrics.find("gantry_http_event_streams " + std::to_string(n) + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("HTTP job events: SSE as gantry watch, resumed, ended, refused, released on disconnect") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());
  const std::string url = c.local().http_url(), ca = c.local().ca_file();
  const std::string admin = http_admin_token(c), dir = c.dir();
  const std::string metrics_url = url + "/metrics";

  // A finished job: every event, each the line gantry watch --json prints, then the end.
  std::string done = c.submit("two", kSseTwoStages);
  auto watched = c.cli({"watch", done, "--json"});
  REQUIRE(watched.exit_code == 0);
  auto expected = sse_lines(watched.out);
  REQUIRE(expected.size() >= 6);
  const std::string events_url = url + "/api/v1/jobs/" + done + "/events";
  {
    sse_client all(dir, events_url, ca, admin);
    auto got = all.until_end(30000);
    REQUIRE(!got.empty());
    CHECK(sse_data_of(got) == expected);
    for (size_t i = 0; i + 1 < got.size(); ++i) CHECK(got[i].id == std::to_string(i + 1));
    CHECK(got.back().event == "end");
    CHECK(got.back().id.empty());
    CHECK(nlohmann::json::parse(got.back().data)["state"] == "succeeded");
    CHECK(all.p.wait(10000) == 0);  // the response ended: curl is done
    REQUIRE(!all.comments.empty());
    CHECK(all.comments.front() == ": events of job " + done);
  }
  {  // Resumed after event 2, by header and by query
    sse_client resumed(dir, events_url, ca, admin, "Last-Event-ID: 2");
    CHECK(sse_data_of(resumed.until_end(30000)) ==
          std::vector<std::string>(expected.begin() + 2, expected.end()));
    sse_client by_query(dir, events_url + "?last_event_id=4", ca, admin);
    CHECK(sse_data_of(by_query.until_end(30000)) ==
          std::vector<std::string>(expected.begin() + 4, expected.end()));
    sse_client past_end(dir, events_url + "?last_event_id=" + std::to_string(expected.size()), ca,
                        admin);
    auto only_end = past_end.until_end(30000);
    REQUIRE(only_end.size() == 1);
    CHECK(only_end[0].event == "end");
  }

  // Refused like the other /api routes.
  CHECK(http_get(events_url, ca, "").status == 401);
  auto unknown = http_get(url + "/api/v1/jobs/j-999999/events", ca, admin);
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("j-999999") != std::string::npos);
  auto r = c.cli({"token", "create", "--user", "bob", "--role", "user"});
  REQUIRE(r.exit_code == 0);
  auto bobs = http_get(events_url, ca, r.out.substr(0, r.out.find('\n')));
  CHECK(bobs.status == 404);
  CHECK(bobs.body.find(done) != std::string::npos);
  CHECK(http_get(events_url + "?last_event_id=two", ca, admin).status == 400);

  // A running job: its events as they happen; a client killed mid-stream lets go of its
  // subscription while the job still runs; the other stream ends when the job does.
  std::string id = c.submit("sleeper", kSleeper);
  const std::string live_url = url + "/api/v1/jobs/" + id + "/events";
  sse_client live(dir, live_url, ca, admin);
  sse_client gone(dir, live_url, ca, admin);
  for (auto* s : {&live, &gone}) {
    bool running = false;
    while (auto e = s->next(30000)) {
      auto j = nlohmann::json::parse(e->data);
      if (j["kind"] == "rank" && j["state"] == "running") {
        running = true;
        break;
      }
    }
    REQUIRE(running);
  }
  auto two = http_get_until(metrics_url, ca, admin, 20000,
                            [](const http_reply& m) { return sse_streams_are(m.body, 2); });
  CHECK(sse_streams_are(two.body, 2));
  gone.p.signal(SIGKILL);
  gone.p.wait(10000);

  // A client that closed its end is noticed at the stream's next write: its next event or
  // ping (15 s here, as the job is quiet).
  auto one = http_get_until(metrics_url, ca, admin, 40000,
                            [](const http_reply& m) { return sse_streams_are(m.body, 1); });
  CHECK(sse_streams_are(one.body, 1));
  CHECK(c.cli({"describe", id, "--json"}).json()["state"] == "running");

  REQUIRE(c.cli({"cancel", id}).exit_code == 0);
  auto rest = live.until_end(30000);
  REQUIRE(!rest.empty());
  CHECK(rest.back().event == "end");
  CHECK(nlohmann::json::parse(rest.back().data)["state"] == "cancelled");
  CHECK(live.p.wait(10000) == 0);
  auto none = http_get_until(metrics_url, ca, admin, 20000,
                             [](const http_reply& m) { return sse_streams_are(m.body, 0); });
  CHECK(sse_streams_are(none.body, 0));
}
