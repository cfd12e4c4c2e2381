#pragma once
// The web dashboard (docs/operations.md "Dashboard"): its files, embedded from http/web/, at
// `/` (index.html), /app.js and /app.css, served without a token (they hold no data) with a
// strict Content-Security-Policy; the page calls the token-checked /api/v1 routes. And the
// tail of one rank's log for its job page.
#include "core/coordinator_api.hpp"
#include "http/http_server.hpp"

namespace gantry::http {

// The most /api/v1/jobs/{id}/logs returns (?tail=), and how much of a log it reads at most to
// find its end (the worker's default --max-log-bytes).
inline constexpr uint32_t kMaxLogTail = 64 << 10;
inline constexpr uint64_t kMaxLogScan = 64ull << 20;

// The headers every dashboard file is served with (Content-Security-Policy and the like).
std::vector<std::pair<std::string, std::string>> dashboard_headers();

// Adds `/` and the dashboard's files to `r`, open.
void add_dashboard_routes(router& r);

// GET /api/v1/jobs/{id}/logs?stage=S&rank=R&tail=N: the last N bytes (default 4096, at most
// kMaxLogTail) of the rank's current attempt's output, read as `gantry logs` reads it, as
// {"data": "...", "next_offset": N, "finished": bool}; bytes that are not UTF-8 become U+FFFD.
// REQUIRES: backend outlives the handler.
handler job_logs_handler(coordinator_backend& backend);

}  // namespace gantry::http
