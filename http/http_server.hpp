#pragma once
// HTTP (HTTPS with a tls_server) on a KJ loop, through kj-http: a route table of GET
// endpoints, each open or behind `Authorization: Bearer TOKEN`. Connections come from a
// protocol/listener.hpp listener (its connection counts and limits); each must finish its TLS
// handshake within limits.auth_timeout_ms, then send a whole request head within as long,
// and may wait limits.idle_timeout_ms (at most 60 s) between requests. Requests carry no body
// (413) and use GET (405); kj-http closes a connection whose request head exceeds 128 KiB.
// Errors are JSON: {"error": "..."}. A response may stream its body (chunked) until its
// stream function's promise resolves: a stream holds its connection, so the connection limits
// bound the streams too; the client going away cancels the stream's promise.
#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/timer.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/identity.hpp"
#include "core/result.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/listener.hpp"
#include "security/tls.hpp"

namespace gantry::http {

struct request {
  std::string path;                           // without the query
  std::map<std::string, std::string> query;   // ?a=b&c=d, not percent-decoded
  std::map<std::string, std::string> params;  // the route's {name} parts
  caller who;                                 // the token's user (open routes: empty)
  std::string last_event_id;                  // the Last-Event-ID header ("" when absent)
};

// Writes a streamed body to `out` (`timer` for deadlines and keep-alives); the promise
// resolving ends the response, its failure closes the connection.
using body_stream = std::function<kj::Promise<void>(kj::AsyncOutputStream& out, kj::Timer& timer)>;

struct response {
  response(unsigned s = 200, std::string type = "application/json", std::string b = "")
      : status(s), content_type(std::move(type)), body(std::move(b)) {}
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more headers: name, value
  body_stream stream;  // set: the body is streamed (chunked) by it, `body` is unused
};

// {"error": message} with `status`.
response error_response(unsigned status, const std::string& message);
// A result's error as a response: not_found 404, permission_denied 403, unauthenticated 401,
// unavailable 503, invalid_argument 400, anything else 500.
response error_response(const error& e);

using handler = std::function<kj::Promise<response>(request)>;
enum class access { open, token };

// Routes by path: literal segments and {name} segments ("/api/v1/jobs/{id}").
class router {
 public:
  void add(std::string pattern, access a, handler h);
  struct match {
    access a;
    const handler* h;
    std::map<std::string, std::string> params;
  };
  // The first route whose pattern matches `path`; when none does, h is null.
  match find(const std::string& path) const;

 private:
  struct route {
    std::vector<std::string> segments;
    access a;
    handler h;
  };
  std::vector<route> routes_;
};

// Checks a bearer token: the caller it stands for, or why not (errc::unauthenticated,
// errc::permission_denied), in words that name the fix.
using authenticator = std::function<kj::Promise<result<caller>>(std::string token)>;

struct server_options {
  security::tls_server* tls = nullptr;  // null: plain HTTP
  connection_limits limits;
  authenticator auth;  // null: no tokens checked, every caller is admin (--insecure)
};

class server {
 public:
  // REQUIRES: constructed on the KJ thread of `timer`; timer and options.tls outlive this.
  server(kj::Timer& timer, router routes, server_options options);
  ~server();

  // Serves one admitted connection (listener::run's callback) until it closes.
  kj::Promise<void> serve(accepted_connection accepted);

 private:
  class service;
  kj::Timer& timer_;
  server_options options_;
  kj::Own<service> service_;
  kj::Own<kj::HttpHeaderTable> headers_;
  kj::Own<kj::HttpServer> http_;
};

// What start() set up: dropping it stops serving.
struct running {
  std::unique_ptr<listener> accepting;
  std::unique_ptr<server> serving;
  kj::Promise<void> loop = nullptr;
  std::string address;  // HOST:PORT as bound
};
// Listens on `address` (HOST:PORT; "off": nothing, address stays "") on io's loop and serves
// `routes` there. Errors name the address. REQUIRES: called before the loop serves anything
// (it waits on io's wait scope to resolve the host).
result<std::unique_ptr<running>> start(kj::AsyncIoContext& io, const std::string& address,
                                       router routes, server_options options);

}  // namespace gantry::http
