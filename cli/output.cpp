#include "cli/output.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/quantity.hpp"

namespace gantry::cli {

using nlohmann::json;

json jobs_json(const std::vector<job_summary>& jobs) {
  json out = json::array();
  for (const auto& j : jobs) {
    out.push_back({{"id", j.id},
                   {"name", j.name},
                   {"owner", j.owner},
                   {"queue", j.queue},
                   {"state", to_string(j.state)},
                   {"priority", j.priority},
                   {"restarts", j.restarts},
                   {"reason", j.reason},
                   {"pending_reason", j.pending_reason},
                   {"submitted_ms", j.submitted_ms},
                   {"finished_ms", j.finished_ms}});
  }
  return out;
}

namespace {
// sacct's MaxRSS, TotalCPU and Elapsed: keys only for what the worker measured.
void add_usage(json& j, const task_usage& u) {
  if (u.peak_memory_bytes >= 0) j["peak_memory_bytes"] = u.peak_memory_bytes;
  if (u.cpu_usec >= 0) j["cpu_seconds"] = static_cast<double>(u.cpu_usec) / 1e6;
  if (u.wall_ms >= 0) j["wall_seconds"] = static_cast<double>(u.wall_ms) / 1e3;
}

std::string seconds(int64_t n, int64_t per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(n) / static_cast<double>(per_second));
  return buf;
}

// "peak 64MiB, cpu 1.2s, wall 3.0s"; "-" when nothing was measured.
std::string usage_text(const task_usage& u) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (u.peak_memory_bytes >= 0) add("peak " + format_bytes(u.peak_memory_bytes));
  if (u.cpu_usec >= 0) add("cpu " + seconds(u.cpu_usec, 1'000'000));
  if (u.wall_ms >= 0) add("wall " + seconds(u.wall_ms, 1000));
  return out.empty() ? "-" : out;
}

// The sharing mode of a rank that shares a GPU, when its node's is known; else empty.
std::string rank_sharing(const rank_record& r, const gpu_sharing_map& sharing) {
  if (r.gpus.empty() || r.gpu_milli <= 0 || r.gpu_milli >= kGpuMilliWhole) return "";
  auto it = sharing.find(r.node);
  return it == sharing.end() ? "" : it->second;
}

}  // namespace

json job_json(const job_record& job, const gpu_sharing_map& sharing) {
  json stages = json::array();
  for (size_t s = 0; s < job.stages.size(); ++s) {
    const auto& st = job.stages[s];
    json ranks = json::array();
    for (const auto& r : st.ranks) {
      ranks.push_back({{"rank", r.rank},
                       {"state", to_string(r.state)},
                       {"node", r.node},
                       {"pid", r.pid},
                       {"attempt", r.attempt},
                       {"gpus", r.gpus},
                       {"gpu_milli", r.gpu_milli},
                       {"exit_code", r.exit_code},
                       {"reason", r.reason},
                       {"task_id", r.task_id}});
      add_usage(ranks.back(), r.usage);
      if (auto mode = rank_sharing(r, sharing); !mode.empty()) ranks.back()["gpu_sharing"] = mode;
    }
    json stage = {
        {"name", st.name},
        {"state", to_string(st.state)},
        {"reason", st.reason},
        {"checkpoint_step", st.checkpoint_step < 0 ? json(nullptr) : json(st.checkpoint_step)},
        {"restarts", st.restarts},
        {"ranks", ranks}};
    if (s < job.spec.stages.size()) {
      stage["device"] = to_string(job.spec.stages[s].device);
      stage["after"] = job.spec.stages[s].after;
    }
    stages.push_back(std::move(stage));
  }
  return {{"id", job.id},
          {"name", job.spec.name},
          {"owner", job.owner},
          {"queue", job.spec.queue},
          {"state", to_string(job.state)},
          {"reason", job.reason},
          {"restarts", job.restarts},
          {"priority", job.spec.priority},
          {"submitted_ms", job.submitted_ms},
          {"finished_ms", job.finished_ms},
          {"last_event_seq", job.last_event_seq},
          {"stages", stages}};
}

json nodes_json(const std::vector<node_status>& nodes) {
  json out = json::array();
  for (const auto& n : nodes) {
    json gpus = json::array();
    for (size_t i = 0; i < n.inventory.gpus.size(); ++i) {
      const auto& g = n.inventory.gpus[i];
      gpus.push_back(
          {{"index", g.index},
           {"model", g.model},
           {"memory_bytes", g.memory_bytes},
           {"simulated", g.simulated},
           {"nvlink_group", g.nvlink_group},
           {"numa_node", g.numa_node},
           {"allocated_milli", i < n.gpu_allocated_milli.size() ? n.gpu_allocated_milli[i] : 0}});
    }
    json dpus = json::array();
    for (const auto& d : n.inventory.dpus)
      dpus.push_back({{"index", d.index}, {"model", d.model}, {"simulated", d.simulated}});
    out.push_back({{"name", n.inventory.name},
                   {"state", to_string(n.state)},
                   {"reason", n.reason},
                   {"hostname", n.inventory.hostname},
                   {"cpus", static_cast<double>(n.inventory.cpu_milli) / 1000.0},
                   {"memory_bytes", n.inventory.memory_bytes},
                   {"allocated_cpus", static_cast<double>(n.allocated_cpu_milli) / 1000.0},
                   {"allocated_memory_bytes", n.allocated_memory_bytes},
                   {"tasks", n.tasks},
                   {"gpus", gpus},
                   {"dpus", n.inventory.dpus.size()},
                   {"dpu_devices", dpus},
                   {"fabrics", n.inventory.fabrics},
                   {"gpu_sharing", n.inventory.gpu_sharing},
                   {"labels", n.inventory.labels},
                   {"isolation", n.inventory.isolation.empty() ? "none" : n.inventory.isolation}});
  }
  return out;
}

json event_json(const job_event& e) {
  json j = {{"job_id", e.job_id},
            {"seq", e.seq},
            {"time_ms", e.time_ms},
            {"kind", e.kind == event_kind::job     ? "job"
                     : e.kind == event_kind::stage ? "stage"
                                                   : "rank"},
            {"state", e.state},
            {"message", e.message}};
  if (e.kind != event_kind::job) j["stage"] = e.stage;
  if (e.kind == event_kind::rank) {
    j["rank"] = e.rank;
    j["node"] = e.node;
    j["pid"] = e.pid;
    j["exit_code"] = e.exit_code;
    j["attempt"] = e.attempt;
    add_usage(j, e.usage);
  }
  return j;
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

// Time from since_ms to until_ms: seconds below 2 minutes, then minutes, hours, days.
std::string age(int64_t since_ms, int64_t until_ms) {
  if (since_ms <= 0) return "-";
  int64_t s = std::max<int64_t>(0, (until_ms - since_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string clock_time(int64_t ms) {
  std::time_t secs = ms / 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1);
}

}  // namespace

namespace {

json quota_json(const queue_quota& q) {
  auto dim = [](int64_t v, double scale) {
    return v == kQuotaUnlimited ? json(nullptr) : json(static_cast<double>(v) / scale);
  };
  return {
      {"cpu", dim(q.cpu_milli, 1000.0)},
      {"memory_bytes", q.memory_bytes == kQuotaUnlimited ? json(nullptr) : json(q.memory_bytes)},
      {"gpu", dim(q.gpu_milli, kGpuMilliWhole)}};
}

std::string quota_text(const queue_quota& q) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ",") + s; };
  auto gpus = [](int64_t milli) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(milli) / kGpuMilliWhole);
    return std::string(buf);
  };
  if (q.gpu_milli > 0) add("gpu=" + gpus(q.gpu_milli));
  if (q.cpu_milli > 0) add("cpu=" + format_cpu(q.cpu_milli));
  if (q.memory_bytes > 0) add("memory=" + format_bytes(q.memory_bytes));
  return out.empty() ? "-" : out;
}

}  // namespace

json queues_json(const std::vector<queue_info>& queues) {
  json out = json::array();
  for (const auto& q : queues)
    out.push_back({{"name", q.name},
                   {"guarantee", quota_json(q.guarantee)},
                   {"limit", quota_json(q.limit)},
                   {"weight", q.weight},
                   {"usage", quota_json(q.usage)},
                   {"borrowed", quota_json(q.borrowed)},
                   {"pending", q.pending_jobs},
                   {"pending_requests", q.pending_requests},
                   {"running", q.running},
                   {"preempted", q.preempted}});
  return out;
}

std::string queues_table(const std::vector<queue_info>& queues) {
  std::vector<std::vector<std::string>> rows{
      {"NAME", "GUARANTEE", "LIMIT", "WEIGHT", "USAGE", "BORROWED", "PENDING"}};
  for (const auto& q : queues) {
    char weight[32];
    std::snprintf(weight, sizeof weight, "%g", q.weight);
    rows.push_back({q.name, quota_text(q.guarantee), quota_text(q.limit), weight,
                    quota_text(q.usage), quota_text(q.borrowed), std::to_string(q.pending_jobs)});
  }
  return render_table(rows);
}

std::string jobs_table(const std::vector<job_summary>& jobs, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "NAME", "STATE", "PRIORITY", "RESTARTS", "AGE", "REASON"}};
  for (const auto& j : jobs) {
    // A finished job's age stops at its end.
    int64_t until = is_terminal(j.state) && j.finished_ms > 0 ? j.finished_ms : now_ms;
    rows.push_back({j.id, j.name, to_string(j.state), std::to_string(j.priority),
                    std::to_string(j.restarts), age(j.submitted_ms, until),
                    j.reason.empty() ? j.pending_reason : j.reason});
  }
  return render_table(rows);
}

std::string job_text(const job_record& job, const gpu_sharing_map& sharing) {
  std::string out = "Job " + job.id + " (" + job.spec.name + "): " + to_string(job.state);
  if (!job.reason.empty()) out += " - " + job.reason;
  out += "\n  queue " + job.spec.queue + ", priority " + std::to_string(job.spec.priority) +
         ", restarts " + std::to_string(job.restarts) + ", events " +
         std::to_string(job.last_event_seq) + "\n";
  for (size_t s = 0; s < job.stages.size(); ++s) {
    const auto& st = job.stages[s];
    out += "\nStage " + st.name;
    if (s < job.spec.stages.size()) {
      out += " [" + std::string(to_string(job.spec.stages[s].device)) + "]";
      if (!job.spec.stages[s].after.empty()) {
        out += " after ";
        for (size_t i = 0; i < job.spec.stages[s].after.size(); ++i)
          out += (i ? ", " : "") + job.spec.stages[s].after[i];
      }
    }
    out += ": " + std::string(to_string(st.state));
    if (!st.reason.empty()) out += " - " + st.reason;
    if (st.checkpoint_step >= 0)
      out += " (checkpoint step " + std::to_string(st.checkpoint_step) + ")";
    out += "\n";
    std::vector<std::vector<std::string>> rows{
        {"  RANK", "STATE", "NODE", "PID", "ATTEMPT", "GPUS", "EXIT", "USAGE", "REASON"}};
    for (const auto& r : st.ranks) {
      std::string gpus;
      for (size_t i = 0; i < r.gpus.size(); ++i) gpus += (i ? "," : "") + std::to_string(r.gpus[i]);
      if (!gpus.empty() && r.gpu_milli < kGpuMilliWhole && r.gpu_milli > 0) {
        std::string mode = rank_sharing(r, sharing);
        gpus +=
            " (" + std::to_string(r.gpu_milli / 10) + "%" + (mode.empty() ? "" : ", " + mode) + ")";
      }
      rows.push_back({"  " + std::to_string(r.rank), to_string(r.state),
                      r.node.empty() ? "-" : r.node, r.pid ? std::to_string(r.pid) : "-",
                      std::to_string(r.attempt), gpus.empty() ? "-" : gpus,
                      r.exit_code >= 0 ? std::to_string(r.exit_code) : "-", usage_text(r.usage),
                      r.reason});
    }
    out += render_table(rows);
  }
  return out;
}

std::string nodes_table(const std::vector<node_status>& nodes) {
  std::vector<std::vector<std::string>> rows{{"NAME", "STATE", "CPU", "MEMORY", "GPUS", "SHARING",
                                              "DPUS", "FABRICS", "TASKS", "ISOLATION", "REASON"}};
  for (const auto& n : nodes) {
    std::map<std::string, int> models;
    bool simulated = false;
    for (const auto& g : n.inventory.gpus) {
      models[g.model + ":" + format_bytes(g.memory_bytes)]++;
      simulated = simulated || g.simulated;
    }
    std::string gpus;
    for (const auto& [m, c] : models)
      gpus += (gpus.empty() ? "" : ",") + std::to_string(c) + "x" + m;
    if (simulated) gpus += " (simulated)";
    std::string dpus = std::to_string(n.inventory.dpus.size());
    if (!n.inventory.dpus.empty() && n.inventory.dpus[0].simulated) dpus += " (simulated)";
    std::string fabrics;
    for (const auto& f : n.inventory.fabrics) fabrics += (fabrics.empty() ? "" : ",") + f;
    rows.push_back(
        {n.inventory.name, to_string(n.state),
         format_cpu(n.allocated_cpu_milli) + "/" + format_cpu(n.inventory.cpu_milli),
         format_bytes(n.allocated_memory_bytes) + "/" + format_bytes(n.inventory.memory_bytes),
         gpus.empty() ? "-" : gpus, gpus.empty() ? "-" : n.inventory.gpu_sharing, dpus,
         fabrics.empty() ? "-" : fabrics, std::to_string(n.tasks),
         n.inventory.isolation.empty() ? "none" : n.inventory.isolation, n.reason});
  }
  return render_table(rows);
}

std::string event_line(const job_event& e) {
  std::string who = e.kind == event_kind::job     ? "job " + e.job_id
                    : e.kind == event_kind::stage ? "stage " + e.stage
                                                  : e.stage + "/" + std::to_string(e.rank);
  std::string line =
      clock_time(e.time_ms) + "  #" + std::to_string(e.seq) + "  " + who + "  " + e.state;
  if (e.kind == event_kind::rank) {
    if (!e.node.empty() && e.state != "succeeded" && e.state != "failed") line += " on " + e.node;
    if (e.pid > 0 && e.state == "running") line += " (pid " + std::to_string(e.pid) + ")";
    if (e.attempt > 0) line += " attempt " + std::to_string(e.attempt);
    if (e.state == "succeeded") line += " (exit 0)";
  }
  if (!e.message.empty() && e.message.rfind("placed on", 0) != 0) line += ": " + e.message;
  return line;
}

}  // namespace gantry::cli
