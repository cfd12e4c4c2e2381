// The client verbs: each connects, makes one or a few calls, and prints a table or JSON.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/log.hpp"
#include "core/manifest.hpp"
#include "protocol/client.hpp"

namespace gantry::cli {

std::string coordinator_address(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("GANTRY_COORDINATOR"); env && *env) return env;
  return "127.0.0.1:7070";
}

namespace {

// Exit code for a failed call: unreachable -> 3, the caller's mistake -> 2, else 1.
int report(const error& e) {
  std::cerr << "gantry: " << e.message << "\n";
  switch (e.code) {
    case errc::unavailable:
      return kExitUnreachable;
    case errc::invalid_argument:
    case errc::not_found:
    case errc::failed_precondition:
    case errc::version_mismatch:
      return kExitUsage;
    default:
      return 1;
  }
}

result<std::unique_ptr<client>> connect(const client_options& c) {
  return client::connect(coordinator_address(c.coordinator));
}

}  // namespace

int run_submit(const client_options& c, const std::string& file, bool watch) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "gantry submit: cannot read " << file << "\n";
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  // Validate here first: a bad manifest never reaches the coordinator.
  auto spec = parse_manifest(text.str());
  if (!spec) {
    for (const auto& e : spec.error()) std::cerr << file << ": " << e.to_string() << "\n";
    return kExitUsage;
  }
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto r = (*cl)->submit(text.str(), file);
  if (!r) return report(r.error());
  if (!r->errors.empty()) {
    for (const auto& e : r->errors)
      std::cerr << file << ": " << (e.path.empty() ? "" : e.path + ": ") << e.message << "\n";
    return kExitUsage;
  }
  std::cout << r->job_id << std::endl;
  if (!watch) return kExitOk;
  std::string id = r->job_id;
  cl->reset();  // one event loop per thread: close this connection before watching
  return run_watch(c, id, 1);
}

int run_watch(const client_options& c, const std::string& job, uint64_t from_seq) {
  uint64_t next = from_seq == 0 ? 1 : from_seq;
  auto print = [&](const job_event& e) {
    if (e.seq < next) return;  // already shown before a reconnect
    next = e.seq + 1;
    if (c.json)
      std::cout << event_json(e).dump() << std::endl;
    else
      std::cout << event_line(e) << std::endl;
  };
  // Survives a coordinator restart: reconnects and resumes after the last event shown.
  int64_t gave_up_at = 0;
  for (;;) {
    auto cl = connect(c);
    if (cl) {
      gave_up_at = 0;
      auto state = (*cl)->watch(job, next, print);
      if (state) return *state == job_state::succeeded ? kExitOk : kExitJobFailed;
      if (state.error().code != errc::unavailable) return report(state.error());
      std::cerr << "gantry watch: lost the coordinator (" << state.error().message
                << "); reconnecting to resume from #" << next << "\n";
    } else if (cl.error().code != errc::unavailable) {
      return report(cl.error());
    }
    if (gave_up_at == 0) gave_up_at = now_ms() + 30000;
    if (now_ms() > gave_up_at) {
      std::cerr << "gantry watch: the coordinator stayed unreachable for 30 s; resume with "
                << "gantry watch " << job << " --from " << next << "\n";
      return kExitUnreachable;
    }
    struct timespec ts {
      0, 250'000'000
    };
    nanosleep(&ts, nullptr);  // a CLI backing off between reconnects, not a test waiting
  }
}

int run_jobs(const client_options& c) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto jobs = (*cl)->list_jobs();
  if (!jobs) return report(jobs.error());
  if (c.json)
    std::cout << jobs_json(*jobs).dump(2) << std::endl;
  else
    std::cout << jobs_table(*jobs, now_ms());
  return kExitOk;
}

int run_nodes(const client_options& c) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto nodes = (*cl)->list_nodes();
  if (!nodes) return report(nodes.error());
  if (c.json)
    std::cout << nodes_json(*nodes).dump(2) << std::endl;
  else
    std::cout << nodes_table(*nodes);
  return kExitOk;
}

int run_describe(const client_options& c, const std::string& job) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto rec = (*cl)->describe(job);
  if (!rec) return report(rec.error());
  if (c.json)
    std::cout << job_json(*rec).dump(2) << std::endl;
  else
    std::cout << job_text(*rec);
  return kExitOk;
}

int run_cancel(const client_options& c, const std::string& job) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto r = (*cl)->cancel(job);
  if (!r) return report(r.error());
  std::cout << "cancelling " << job << " (gantry watch " << job << " shows when it stopped)\n";
  return kExitOk;
}

int run_logs(const client_options& c, const std::string& job, const std::string& stage,
             std::optional<int32_t> rank, bool follow) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto rec = (*cl)->describe(job);
  if (!rec) return report(rec.error());
  struct source {
    std::string stage;
    int32_t rank;
    uint64_t offset = 0;
    bool done = false;
    std::string partial;  // an unfinished last line
  };
  std::vector<source> sources;
  bool found_stage = stage.empty();
  for (const auto& st : rec->stages) {
    if (!stage.empty() && st.name != stage) continue;
    found_stage = true;
    for (const auto& r : st.ranks)
      if ((!rank || r.rank == *rank) && !r.task_id.empty())
        sources.push_back({st.name, r.rank, 0, false, ""});
  }
  if (!found_stage) return report(error::not_found("job " + job + " has no stage " + stage));
  if (sources.empty()) {
    std::cerr << "gantry logs: nothing has started yet\n";
    return follow ? kExitOk : kExitOk;
  }
  bool prefix = sources.size() > 1;
  for (;;) {
    bool progressed = false, all_done = true;
    for (auto& s : sources) {
      if (s.done) continue;
      auto chunk = (*cl)->read_logs(job, s.stage, s.rank, s.offset, 1 << 20);
      if (!chunk) {
        std::cerr << "gantry logs: " << s.stage << "/" << s.rank << ": " << chunk.error().message
                  << "\n";
        s.done = true;
        continue;
      }
      progressed = progressed || !chunk->data.empty();
      s.offset = chunk->next_offset;
      s.partial += chunk->data;
      size_t nl;
      while ((nl = s.partial.find('\n')) != std::string::npos) {
        if (prefix) std::cout << "[" << s.stage << "/" << s.rank << "] ";
        std::cout << s.partial.substr(0, nl + 1);
        s.partial.erase(0, nl + 1);
      }
      if (chunk->finished || !follow) {
        if (!s.partial.empty()) {
          if (prefix) std::cout << "[" << s.stage << "/" << s.rank << "] ";
          std::cout << s.partial << "\n";
          s.partial.clear();
        }
        if (chunk->finished || !follow) s.done = !follow || chunk->finished;
      }
      all_done = all_done && s.done;
    }
    std::cout.flush();
    if (all_done) return kExitOk;
    if (!progressed) (*cl)->pause(200);
  }
}

int run_rendezvous(const std::string& scope_flag, const std::string& verb, const std::string& key,
                   const std::string& value, uint32_t timeout_ms) {
  std::string text = scope_flag;
  if (text.empty()) {
    const char* env = std::getenv("GANTRY_RENDEZVOUS");
    if (!env || !*env) {
      std::cerr << "gantry rendezvous: $GANTRY_RENDEZVOUS is not set (it is, inside a collective "
                   "stage); or pass --scope HOST:PORT/JOB/STAGE/ATTEMPT\n";
      return kExitUsage;
    }
    text = env;
  }
  auto parsed = parse_rendezvous(text);
  if (!parsed) return report(parsed.error());
  auto cl = client::connect(parsed->first);
  if (!cl) return report(cl.error());
  if (verb == "put") {
    auto r = (*cl)->rendezvous_put(parsed->second, key, value);
    return r ? kExitOk : report(r.error());
  }
  auto r = (*cl)->rendezvous_get(parsed->second, key, timeout_ms);
  if (!r) {
    if (r.error().code == errc::timeout) {
      std::cerr << "gantry rendezvous: " << r.error().message << "\n";
      return 1;
    }
    return report(r.error());
  }
  std::cout << *r << std::endl;
  return kExitOk;
}

int run_wait_node(const client_options& c, const std::string& node, const std::string& state,
                  uint32_t timeout_ms) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto r = (*cl)->wait_node(node, state, timeout_ms);
  if (!r) {
    if (r.error().code == errc::timeout) {
      std::cerr << "gantry wait: " << r.error().message << "\n";
      return 1;
    }
    return report(r.error());
  }
  if (c.json)
    std::cout << nodes_json({*r})[0].dump(2) << std::endl;
  else
    std::cout << node << " is " << to_string(r->state) << "\n";
  return kExitOk;
}

int run_node_action(const client_options& c, const std::string& node, const std::string& action) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  node_action a = action == "cordon"     ? node_action::cordon
                  : action == "uncordon" ? node_action::uncordon
                                         : node_action::drain;
  auto r = (*cl)->set_node_state(node, a);
  if (!r) return report(r.error());
  std::cout << node << ": " << action << " requested\n";
  return kExitOk;
}

}  // namespace gantry::cli
