#pragma once
// HTTP requests for the cluster tests' /metrics, /healthz and /api checks: curl as a child
// (scripts/setup.sh installs it), with the cluster's CA and a bearer token.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/cluster/harness.hpp"

namespace gantry::test {

struct http_reply {
  int status = 0;  // 0: no answer (connection refused, TLS failure, timeout)
  std::string body;
};

// The admin token's text (the coordinator's DATA/tokens/admin), for Authorization headers.
inline std::string http_admin_token(cluster& c) {
  std::string t = read_file(c.local().admin_token_file());
  return t.substr(0, t.find('\n'));
}

// GET `url`, trusting `ca_file` ("" for plain HTTP), with `token` as the bearer ("" for none).
inline http_reply http_get(const std::string& url, const std::string& ca_file,
                           const std::string& token, const std::string& method = "GET") {
  std::vector<std::string> args{"/usr/bin/curl", "-sS", "--max-time",    "20", "-X",
                                method,          "-w",  "\n%{http_code}"};
  if (!ca_file.empty()) args.insert(args.end(), {"--cacert", ca_file});
  if (!token.empty()) args.insert(args.end(), {"-H", "Authorization: Bearer " + token});
  args.push_back(url);
  harness::process p(args, harness::spawn_options{.log_path = "/dev/null"});
  std::string out = p.read_all(30000);
  p.wait(5000);
  http_reply r;
  auto nl = out.rfind('\n');
  if (nl == std::string::npos) return r;
  r.status = std::atoi(out.c_str() + nl + 1);
  r.body = out.substr(0, nl);
  return r;
}

// GETs `url` until `done(reply)` holds, up to timeout_ms; returns the last reply.
template <class Pred>
http_reply http_get_until(const std::string& url, const std::string& ca_file,
                          const std::string& token, int timeout_ms, Pred done) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    http_reply r = http_get(url, ca_file, token);
    if (done(r) || now_ms() >= deadline) return r;
    usleep(50000);  // the state moves on its own; ask again shortly
  }
}

// The first line of `log_path` that contains `what`, waiting up to timeout_ms for it ("" if
// it never came): a process may act first and log after.
inline std::string wait_log_line(const std::string& log_path, const std::string& what,
                                 int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    std::string text = read_file(log_path);
    if (auto at = text.find(what); at != std::string::npos) {
      auto start = text.rfind('\n', at);
      start = start == std::string::npos ? 0 : start + 1;
      return text.substr(start, text.find('\n', at) - start);
    }
    if (now_ms() >= deadline) return "";
    usleep(20000);  // the log is a file: nothing to wait on but its growth
  }
}

// The worker NAME's HTTP address ("http://127.0.0.1:PORT") from its start line in its log.
inline std::string worker_http_url(cluster& c, const std::string& name) {
  std::string line = wait_log_line(c.local().log_path(name), "serving HTTP on ", 20000);
  return line.empty() ? "" : line.substr(line.rfind(' ') + 1);
}

inline bool have_program(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"})
    if (access((std::string(dir) + name).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace gantry::test
