#include "http/coordinator_http.hpp"

#include <map>
#include <tuple>

#include "cli/output.hpp"
#include "core/quantity.hpp"
#include "http/dashboard.hpp"
#include "http/job_events.hpp"
#include "http/process_stats.hpp"
#include "http/prometheus_text.hpp"
#include "protocol/job_filter.hpp"
#include "protocol/kj_bridge.hpp"

namespace gantry::http {
namespace {

const caller kAdmin{"admin", caller_role::admin};

response json_response(const nlohmann::json& j) {
  return {200, "application/json", j.dump(2) + "\n"};
}

template <class T, class Call>
kj::Promise<result<T>> ask(Call&& call) {
  auto b = to_promise<T>();
  call(std::move(b.fn));
  return kj::mv(b.promise);
}

result<job_filter> filter_of(const request& req) {
  job_filter f;
  if (auto it = req.query.find("state"); it != req.query.end()) {
    f.state = parse_job_state(it->second);
    if (!f.state)
      return fail(errc::invalid_argument, "state=" + it->second +
                                              ": expected pending, running, succeeded, failed "
                                              "or cancelled");
  }
  if (auto it = req.query.find("name"); it != req.query.end()) f.name = it->second;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    try {
      f.limit = static_cast<uint32_t>(std::stoul(it->second));
    } catch (const std::exception&) {
      return fail(errc::invalid_argument, "limit=" + it->second + ": expected a number");
    }
  }
  return f;
}

// One gauge family `name` with a sample per state in `states` (zeros included): how many
// of `items` are in it.
template <class State, class Item>
void count_by_state(prometheus_text& out, const std::string& name, const std::string& help,
                    std::initializer_list<State> states, const std::vector<Item>& items) {
  std::map<State, uint64_t> counts;
  for (State s : states) counts[s] = 0;
  for (const auto& item : items) ++counts[item.state];
  out.family(name, "gauge", help);
  for (const auto& [s, n] : counts)
    out.sample(name, {{"state", to_string(s)}}, static_cast<double>(n));
}

// `gantry_jobs{queue,state}`: every state of every queue that has a job or exists (zeros
// included), so that a query by state alone sums over queues.
void jobs_by_queue(prometheus_text& out, const std::vector<job_summary>& jobs,
                   const std::vector<queue_info>& queues) {
  std::map<std::pair<std::string, job_state>, uint64_t> counts;
  auto all_states = {job_state::pending, job_state::running, job_state::succeeded,
                     job_state::failed, job_state::cancelled};
  auto add_queue = [&](const std::string& q) {
    for (job_state s : all_states) counts.try_emplace({q, s}, 0);
  };
  for (const auto& q : queues) add_queue(q.name);
  for (const auto& j : jobs) {
    add_queue(j.queue);
    ++counts[{j.queue, j.state}];
  }
  out.family("gantry_jobs", "gauge", "Jobs the coordinator keeps, by queue and state");
  for (const auto& [key, n] : counts)
    out.sample("gantry_jobs", {{"queue", key.first}, {"state", to_string(key.second)}},
               static_cast<double>(n));
}

// One gauge per queue and resource (cpu in cores, memory in bytes, gpu in GPUs); unlimited
// dimensions are left out.
void queue_quota_family(prometheus_text& out, const std::string& name, const std::string& help,
                        const std::vector<queue_info>& queues, queue_quota queue_info::*field) {
  out.family(name, "gauge", help);
  for (const auto& q : queues) {
    const queue_quota& v = q.*field;
    for (auto [resource, amount, scale] :
         {std::tuple{"cpu", v.cpu_milli, 1000.0}, std::tuple{"memory", v.memory_bytes, 1.0},
          std::tuple{"gpu", v.gpu_milli, 1000.0}}) {
      if (amount == kQuotaUnlimited) continue;
      out.sample(name, {{"queue", q.name}, {"resource", resource}},
                 static_cast<double>(amount) / scale);
    }
  }
}

}  // namespace

authenticator coordinator_authenticator(coordinator_backend& backend) {
  return [&backend](std::string token) {
    return ask<identity>([&](callback<identity> done) {
             backend.authenticate(credential_kind::user, std::move(token), nullptr,
                                  std::move(done));
           })
        .then([](result<identity> who) -> result<caller> {
          if (!who) return fail(who.error());
          return who->who;
        });
  };
}

std::string coordinator_metrics_text(const std::vector<job_summary>& jobs,
                                     const std::vector<node_status>& nodes,
                                     const std::vector<queue_info>& queues,
                                     const coordinator_metrics* metrics) {
  prometheus_text out;
  jobs_by_queue(out, jobs, queues);
  queue_quota_family(out, "gantry_queue_usage", "What a queue's running work holds", queues,
                     &queue_info::usage);
  queue_quota_family(out, "gantry_queue_guarantee", "A queue's guarantee", queues,
                     &queue_info::guarantee);
  queue_quota_family(out, "gantry_queue_borrowed",
                     "Of a queue's usage, what is beyond its guarantee", queues,
                     &queue_info::borrowed);
  out.family("gantry_queue_pending_jobs", "gauge", "Jobs with work waiting to be placed, by queue");
  for (const auto& q : queues)
    out.sample("gantry_queue_pending_jobs", {{"queue", q.name}},
               static_cast<double>(q.pending_jobs));
  out.family("gantry_preemptions_total", "counter",
             "Stop orders a queue's work received since the coordinator started");
  for (const auto& q : queues)
    out.sample("gantry_preemptions_total", {{"queue", q.name}}, static_cast<double>(q.preempted));
  count_by_state(out, "gantry_nodes", "Nodes the coordinator knows, by state",
                 {node_state::ready, node_state::lost, node_state::cordoned, node_state::draining,
                  node_state::unknown},
                 nodes);

  double gpus = 0, allocated = 0, whole = 0, partial = 0;
  out.family("gantry_node_gpus", "gauge", "GPUs of one node");
  for (const auto& n : nodes) {
    out.sample("gantry_node_gpus", {{"node", n.inventory.name}, {"state", to_string(n.state)}},
               static_cast<double>(n.inventory.gpus.size()));
    gpus += static_cast<double>(n.inventory.gpus.size());
  }
  out.family("gantry_node_gpus_allocated", "gauge",
             "GPUs of one node allocated to tasks, fractions included");
  for (const auto& n : nodes) {
    double node_alloc = 0;
    for (int32_t milli : n.gpu_allocated_milli) {
      node_alloc += milli / 1000.0;
      if (milli >= 1000)
        ++whole;
      else if (milli > 0)
        ++partial;
    }
    out.sample("gantry_node_gpus_allocated", {{"node", n.inventory.name}}, node_alloc);
    allocated += node_alloc;
  }
  out.family("gantry_node_tasks", "gauge", "Tasks placed on one node");
  for (const auto& n : nodes)
    out.sample("gantry_node_tasks", {{"node", n.inventory.name}}, static_cast<double>(n.tasks));
  out.family("gantry_gpus", "gauge", "GPUs of every known node");
  out.sample("gantry_gpus", gpus);
  out.family("gantry_gpus_allocated", "gauge", "GPUs allocated to tasks, fractions included");
  out.sample("gantry_gpus_allocated", allocated);
  out.family("gantry_gpus_allocated_whole", "gauge", "GPUs allocated in full");
  out.sample("gantry_gpus_allocated_whole", whole);
  out.family("gantry_gpus_allocated_partial", "gauge",
             "GPUs of which a fraction is allocated (shared GPUs in use)");
  out.sample("gantry_gpus_allocated_partial", partial);

  if (metrics != nullptr) {
    out.family("gantry_submits_total", "counter", "Jobs accepted since the coordinator started");
    out.sample("gantry_submits_total", static_cast<double>(metrics->submits.load()));
    out.family("gantry_submits_rejected_total", "counter",
               "Submits refused (manifest errors, never schedulable) since the start");
    out.sample("gantry_submits_rejected_total",
               static_cast<double>(metrics->submits_rejected.load()));
    out.family("gantry_restarts_total", "counter", "Task and gang restarts since the start");
    out.sample("gantry_restarts_total", static_cast<double>(metrics->restarts.load()));
    out.family("gantry_heartbeats_total", "counter", "Worker heartbeats received since the start");
    out.sample("gantry_heartbeats_total", static_cast<double>(metrics->heartbeats.load()));
    out.family("gantry_nodes_lost_total", "counter", "Nodes declared lost since the start");
    out.sample("gantry_nodes_lost_total", static_cast<double>(metrics->lost_verdicts.load()));
    out.histogram("gantry_submit_to_running_seconds",
                  "From a job's submit to its first running state",
                  metrics->submit_to_running.read());
    out.histogram("gantry_placement_decision_seconds",
                  "One scheduler run over the queued placement requests",
                  metrics->placement_decision.read());
    out.histogram("gantry_store_write_seconds", "One synced group commit to the store",
                  metrics->store_write.read());
    out.family("gantry_gpu_fragmentation", "gauge",
               "FGD's expected fragmentation: free GPU share (in GPUs) that a task drawn from "
               "the scheduler's target workload could not use, summed over the nodes");
    out.sample("gantry_gpu_fragmentation", metrics->gpu_fragmentation.load());
    out.family("gantry_http_event_streams", "gauge",
               "Open /api/v1/jobs/{id}/events streams, each holding a job subscription");
    out.sample("gantry_http_event_streams", static_cast<double>(metrics->event_streams.load()));
  }
  append_process_metrics(out);
  return out.text();
}

router coordinator_routes(coordinator_backend& backend,
                          std::shared_ptr<coordinator_metrics> metrics) {
  router r;
  r.add("/healthz", access::open, [](request) {
    return kj::Promise<response>(response{200, "text/plain; charset=utf-8", "ok\n"});
  });
  r.add("/readyz", access::open, [&backend](request) {
    return ask<std::vector<node_status>>(
               [&](auto done) { backend.list_nodes(kAdmin, std::move(done)); })
        .then([](result<std::vector<node_status>> nodes) {
          if (!nodes) return error_response(503, "not ready: " + nodes.error().message);
          return response{200, "text/plain; charset=utf-8", "ready\n"};
        });
  });
  r.add("/metrics", access::token, [&backend, metrics](request) {
    auto jobs = ask<std::vector<job_summary>>(
        [&](auto done) { backend.list_jobs(kAdmin, std::move(done)); });
    return jobs.then([&backend, metrics](result<std::vector<job_summary>> jobs) {
      return ask<std::vector<node_status>>(
                 [&](auto done) { backend.list_nodes(kAdmin, std::move(done)); })
          .then([&backend, metrics,
                 jobs = std::move(jobs)](result<std::vector<node_status>> nodes) mutable {
            return ask<std::vector<queue_info>>(
                       [&](auto done) { backend.list_queues(kAdmin, std::move(done)); })
                .then([metrics, jobs = std::move(jobs),
                       nodes = std::move(nodes)](result<std::vector<queue_info>> queues) {
                  if (!jobs) return error_response(jobs.error());
                  if (!nodes) return error_response(nodes.error());
                  if (!queues) return error_response(queues.error());
                  return response{200, kPrometheusContentType,
                                  coordinator_metrics_text(*jobs, *nodes, *queues, metrics.get())};
                });
          });
    });
  });
  r.add("/api/v1/jobs", access::token, [&backend](request req) -> kj::Promise<response> {
    auto filter = filter_of(req);
    if (!filter) return error_response(filter.error());
    return ask<std::vector<job_summary>>(
               [&](auto done) { backend.list_jobs(req.who, std::move(done)); })
        .then([f = *filter](result<std::vector<job_summary>> jobs) {
          if (!jobs) return error_response(jobs.error());
          return json_response(cli::jobs_json(select_jobs(std::move(*jobs), f)));
        });
  });
  r.add("/api/v1/jobs/{id}", access::token, [&backend](request req) {
    std::string id = req.params["id"];
    return ask<job_record>([&](auto done) { backend.describe_job(req.who, id, std::move(done)); })
        .then([&backend, who = req.who](result<job_record> rec) -> kj::Promise<response> {
          if (!rec) return error_response(rec.error());
          return ask<std::vector<node_status>>(
                     [&](auto done) { backend.list_nodes(who, std::move(done)); })
              .then([rec = std::move(*rec)](result<std::vector<node_status>> nodes) {
                // Ranks that share a GPU show how their node shares it, as in describe.
                cli::gpu_sharing_map sharing;
                if (nodes)
                  for (const auto& n : *nodes) sharing[n.inventory.name] = n.inventory.gpu_sharing;
                return json_response(cli::job_json(rec, sharing));
              });
        });
  });
  r.add("/api/v1/jobs/{id}/events", access::token, job_events_handler(backend, metrics));
  r.add("/api/v1/jobs/{id}/logs", access::token, job_logs_handler(backend));
  add_dashboard_routes(r);
  r.add("/api/v1/nodes", access::token, [&backend](request req) {
    return ask<std::vector<node_status>>(
               [&](auto done) { backend.list_nodes(req.who, std::move(done)); })
        .then([](result<std::vector<node_status>> nodes) {
          if (!nodes) return error_response(nodes.error());
          return json_response(cli::nodes_json(*nodes));
        });
  });
  r.add("/api/v1/queues", access::token, [&backend](request req) {
    return ask<std::vector<queue_info>>(
               [&](auto done) { backend.list_queues(req.who, std::move(done)); })
        .then([](result<std::vector<queue_info>> queues) {
          if (!queues) return error_response(queues.error());
          return json_response(cli::queues_json(*queues));
        });
  });
  return r;
}

}  // namespace gantry::http
