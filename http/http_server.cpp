#include "http/http_server.hpp"

#include <kj/debug.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace gantry::http {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  for (const auto& part : split_path([&] {
         std::string s = q;
         std::replace(s.begin(), s.end(), '&', '/');
         return s;
       }())) {
    auto eq = part.find('=');
    if (eq == std::string::npos)
      out[part] = "";
    else
      out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

const char* status_text(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

response error_response(unsigned status, const std::string& message) {
  return {status, "application/json", nlohmann::json{{"error", message}}.dump() + "\n"};
}

response error_response(const error& e) {
  unsigned status = 500;
  switch (e.code) {
    case errc::not_found:
      status = 404;
      break;
    case errc::permission_denied:
      status = 403;
      break;
    case errc::unauthenticated:
      status = 401;
      break;
    case errc::unavailable:
    case errc::timeout:
      status = 503;
      break;
    case errc::invalid_argument:
      status = 400;
      break;
    default:
      break;
  }
  return error_response(status, e.message);
}

void router::add(std::string pattern, access a, handler h) {
  routes_.push_back({split_path(pattern), a, std::move(h)});
}

router::match router::find(const std::string& path) const {
  auto parts = split_path(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = r.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}')
        params[seg.substr(1, seg.size() - 2)] = parts[i];
      else
        ok = seg == parts[i];
    }
    if (ok) return {r.a, &r.h, std::move(params)};
  }
  return {access::token, nullptr, {}};
}

class server::service final : public kj::HttpService {
 public:
  service(kj::Timer& timer, router routes, const server_options& options,
          kj::HttpHeaderTable::Builder& b)
      : timer_(timer),
        routes_(std::move(routes)),
        options_(options),
        authorization_(b.add("Authorization")),
        last_event_id_(b.add("Last-Event-ID")),
        content_type_(b.add("Content-Type")),
        www_authenticate_(b.add("WWW-Authenticate")) {}

  void set_table(const kj::HttpHeaderTable& table) { table_ = &table; }

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& out) override {
    if (method != kj::HttpMethod::GET)
      return send(out, error_response(405, "only GET is served here"));
    KJ_IF_MAYBE (length, body.tryGetLength()) {
      if (*length > 0) return send(out, error_response(413, "requests here carry no body"));
    } else {
      return send(out, error_response(413, "requests here carry no body"));
    }
    std::string target = url.cStr();
    http::request req;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = parse_query(target.substr(q + 1));
    auto m = routes_.find(req.path);
    if (m.h == nullptr) return send(out, error_response(404, "no endpoint " + req.path));
    req.params = std::move(m.params);
    KJ_IF_MAYBE (id, headers.get(last_event_id_)) {
      req.last_event_id = id->cStr();
    }
    const handler& h = *m.h;
    if (m.a == access::open || !options_.auth) {
      if (!options_.auth) req.who = {"admin", caller_role::admin};
      return run(out, h, std::move(req));
    }
    std::string token;
    KJ_IF_MAYBE (value, headers.get(authorization_)) {
      std::string v = value->cStr();
      if (v.starts_with("Bearer ")) token = v.substr(7);
    }
    if (token.empty())
      return send(out, unauthorized("no token: send Authorization: Bearer TOKEN with a user or "
                                    "admin token (gantry token create, or the coordinator's "
                                    "DATA/tokens/admin)"));
    return options_.auth(std::move(token))
        .then([this, &out, &h, req = std::move(req)](result<caller> who) mutable {
          if (!who) {
            if (who.error().code == errc::permission_denied)
              return send(out, error_response(403, who.error().message));
            return send(out, unauthorized(who.error().message +
                                          ": send Authorization: Bearer TOKEN with a valid user "
                                          "or admin token"));
          }
          req.who = std::move(*who);
          return run(out, h, std::move(req));
        });
  }

 private:
  response unauthorized(const std::string& message) { return error_response(401, message); }

  kj::Promise<void> run(Response& out, const handler& h, http::request req) {
    return kj::evalNow([&] { return h(std::move(req)); })
        .then([this, &out](response r) { return send(out, std::move(r)); },
              [this, &out](kj::Exception&& e) {
                log_warn(std::string("HTTP handler failed: ") + e.getDescription().cStr());
                return send(out, error_response(500, "internal error; see the server's log"));
              });
  }

  kj::Promise<void> send(Response& out, response r) {
    kj::HttpHeaders h(*table_);
    h.set(content_type_, kj::heapString(r.content_type.c_str()));
    if (r.status == 401) h.set(www_authenticate_, "Bearer");
    for (const auto& [name, value] : r.headers)
      h.add(kj::heapString(name.c_str()), kj::heapString(value.c_str()));
    if (r.stream) {
      auto stream = out.send(r.status, status_text(r.status), h);
      auto& s = *stream;
      return r.stream(s, timer_).attach(kj::mv(stream), kj::mv(r.stream));
    }
    auto body = kj::heap<std::string>(std::move(r.body));
    auto stream = out.send(r.status, status_text(r.status), h, body->size());
    auto written = stream->write(body->data(), body->size());
    return written.attach(kj::mv(stream), kj::mv(body));
  }

  kj::Timer& timer_;
  router routes_;
  const server_options& options_;
  kj::HttpHeaderId authorization_;
  kj::HttpHeaderId last_event_id_;
  kj::HttpHeaderId content_type_;
  kj::HttpHeaderId www_authenticate_;
  const kj::HttpHeaderTable* table_ = nullptr;
};

namespace {
kj::HttpServerSettings settings_for(const connection_limits& limits) {
  kj::HttpServerSettings s;
  s.headerTimeout = limits.auth_timeout_ms * kj::MILLISECONDS;
  uint32_t idle = limits.idle_timeout_ms == 0 ? 60000 : std::min(limits.idle_timeout_ms, 60000u);
  s.pipelineTimeout = idle * kj::MILLISECONDS;
  return s;
}
}  // namespace

server::server(kj::Timer& timer, router routes, server_options options)
    : timer_(timer), options_(std::move(options)) {
  kj::HttpHeaderTable::Builder b;
  service_ = kj::heap<service>(timer_, std::move(routes), options_, b);
  headers_ = b.build();
  service_->set_table(*headers_);
  http_ = kj::heap<kj::HttpServer>(timer_, *headers_, *service_, settings_for(options_.limits));
}

server::~server() = default;

kj::Promise<void> server::serve(accepted_connection accepted) {
  auto slot = kj::heap(std::move(accepted.slot));
  kj::Promise<kj::Own<kj::AsyncIoStream>> stream =
      options_.tls == nullptr
          ? kj::Promise<kj::Own<kj::AsyncIoStream>>(kj::mv(accepted.stream))
          : timer_.timeoutAfter(options_.limits.auth_timeout_ms * kj::MILLISECONDS,
                                options_.tls->wrap(kj::mv(accepted.stream)));
  return stream.then([this](kj::Own<kj::AsyncIoStream> s) { return http_->listenHttp(kj::mv(s)); })
      .attach(kj::mv(slot));
}

result<std::unique_ptr<running>> start(kj::AsyncIoContext& io, const std::string& address,
                                       router routes, server_options options) {
  auto out = std::make_unique<running>();
  if (address == "off") return out;
  auto l = listener::open(io, address, options.limits);
  if (!l) return fail(l.error());
  out->accepting = std::move(*l);
  out->address =
      address.substr(0, address.rfind(':')) + ":" + std::to_string(out->accepting->port());
  out->serving =
      std::make_unique<server>(io.provider->getTimer(), std::move(routes), std::move(options));
  auto* s = out->serving.get();
  out->loop = out->accepting->run([s](accepted_connection c) { return s->serve(kj::mv(c)); })
                  .eagerlyEvaluate(nullptr);
  return out;
}

}  // namespace gantry::http
