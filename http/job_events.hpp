#pragma once
// GET /api/v1/jobs/{id}/events: a job's events as Server-Sent Events (text/event-stream).
// Every event with a sequence number after the resume point (Last-Event-ID header, or
// ?last_event_id= for clients that cannot set headers; none: from the first), then new ones as
// the job publishes them, each as `id: SEQ` and `data: JSON` (the JSON of one event of
// `gantry watch --json`). Once the job has finished and its last event was sent, a final
// `event: end` with data {"state": "..."} (no id) ends the response. A `: ping` comment goes
// out after kSsePingMs without an event, so proxies keep idle streams open. The stream holds
// one subscription (backend.watch), released when the response ends or the client goes away.
#include <memory>

#include "core/coordinator_api.hpp"
#include "core/metrics.hpp"
#include "http/http_server.hpp"

namespace gantry::http {

inline constexpr uint32_t kSsePingMs = 15000;

// The route's handler. `metrics` (may be null) counts the open streams (event_streams).
// REQUIRES: called on the KJ thread; backend outlives it.
handler job_events_handler(coordinator_backend& backend,
                           std::shared_ptr<coordinator_metrics> metrics);

}  // namespace gantry::http
