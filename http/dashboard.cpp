#include "http/dashboard.hpp"

#include <nlohmann/json.hpp>

#include "http/embedded_files.hpp"
#include "protocol/kj_bridge.hpp"

namespace gantry::http {
namespace {

std::string content_type_of(const std::string& path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

response file_response(const embedded_file& f) {
  response r{200, content_type_of(f.path),
             std::string(reinterpret_cast<const char*>(f.data), f.size)};
  r.headers = dashboard_headers();
  return r;
}

// Reads the rank's log from `offset` on, keeping the last `tail` bytes, until it ends or
// kMaxLogScan was read.
struct log_tail {
  caller who;
  std::string job, stage;
  int32_t rank = 0;
  uint32_t tail = 0;
  std::string data;
  uint64_t offset = 0, scanned = 0;
};

kj::Promise<response> read_tail(coordinator_backend& backend, std::shared_ptr<log_tail> t) {
  auto b = to_promise<log_chunk>();
  backend.read_logs(t->who, t->job, t->stage, t->rank, -1, t->offset, kMaxLogChunk,
                    std::move(b.fn));
  return b.promise.then([&backend, t](result<log_chunk> chunk) -> kj::Promise<response> {
    if (!chunk) return error_response(chunk.error());
    t->data += chunk->data;
    if (t->data.size() > t->tail) t->data.erase(0, t->data.size() - t->tail);
    t->scanned += chunk->data.size();
    t->offset = chunk->next_offset;
    if (!chunk->data.empty() && !chunk->finished && t->scanned < kMaxLogScan)
      return read_tail(backend, t);
    nlohmann::json j{{"data", t->data}, {"next_offset", t->offset}, {"finished", chunk->finished}};
    return response{200, "application/json",
                    j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
  });
}

}  // namespace

std::vector<std::pair<std::string, std::string>> dashboard_headers() {
  return {{"Content-Security-Policy",
           "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'"},
          {"Cache-Control", "no-cache"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"}};
}

void add_dashboard_routes(router& r) {
  for (const embedded_file* f = kEmbeddedFiles; f->path != nullptr; ++f) {
    std::string path = f->path;
    r.add(path == "/index.html" ? "/" : path, access::open,
          [f](request) { return kj::Promise<response>(file_response(*f)); });
  }
}

handler job_logs_handler(coordinator_backend& backend) {
  return [&backend](request req) -> kj::Promise<response> {
    auto t = std::make_shared<log_tail>();
    t->who = req.who;
    t->job = req.params["id"];
    t->stage = req.query["stage"];
    if (t->stage.empty()) return error_response(400, "stage=: name the stage whose log to read");
    try {
      t->rank = req.query.contains("rank") ? std::stoi(req.query["rank"]) : 0;
      t->tail =
          req.query.contains("tail") ? static_cast<uint32_t>(std::stoul(req.query["tail"])) : 4096;
    } catch (const std::exception&) {
      return error_response(400, "rank= and tail= take numbers");
    }
    t->tail = std::min(t->tail, kMaxLogTail);
    return read_tail(backend, t);
  };
}

}  // namespace gantry::http
