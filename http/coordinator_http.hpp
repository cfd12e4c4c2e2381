#pragma once
// The coordinator's HTTP endpoints (docs/operations.md "HTTP"):
//   /healthz            open   the process serves HTTP
//   /readyz             open   the coordinator's actors answer (503 while they do not)
//   /metrics            token  Prometheus text: the coordinator_metrics and the cluster's state
//   /api/v1/jobs        token  `gantry jobs --json` (?state=, ?name=, ?limit= as its flags)
//   /api/v1/jobs/{id}   token  `gantry describe ID --json`; an unknown id is 404
//   /api/v1/jobs/{id}/events  token  the job's events as Server-Sent Events (job_events.hpp)
//   /api/v1/jobs/{id}/logs    token  the tail of a rank's log (dashboard.hpp)
//   /api/v1/nodes       token  `gantry nodes --json`
//   /api/v1/queues      token  `gantry queue list --json`
//   /, /app.js, /app.css open  the web dashboard (dashboard.hpp)
// A user's token sees its own jobs only, as over RPC.
#include <memory>

#include "core/coordinator_api.hpp"
#include "core/metrics.hpp"
#include "http/http_server.hpp"

namespace gantry::http {

// REQUIRES: called on the KJ thread; backend outlives the routes.
router coordinator_routes(coordinator_backend& backend,
                          std::shared_ptr<coordinator_metrics> metrics);

// Checks bearer tokens with the backend's user and admin credentials.
authenticator coordinator_authenticator(coordinator_backend& backend);

// The /metrics text from what the backend lists and what `metrics` counted.
std::string coordinator_metrics_text(const std::vector<job_summary>& jobs,
                                     const std::vector<node_status>& nodes,
                                     const std::vector<queue_info>& queues,
                                     const coordinator_metrics* metrics);

}  // namespace gantry::http
