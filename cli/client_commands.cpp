// The client verbs: each connects, makes one or a few calls, and prints a table or JSON.
// `logs` is in logs_command.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>

#include "cli/client_session.hpp"
#include "cli/login_config.hpp"
#include "cli/output.hpp"
#include "core/log.hpp"
#include "core/manifest.hpp"

namespace gantry::cli {
namespace {

// The manifest's text; errors give the OS's reason, or say that `path` is a directory.
result<std::string> read_manifest_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::invalid_argument, "cannot read " + path + ": " + strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    ::close(fd);
    return fail(errc::invalid_argument, path + " is a directory, not a manifest file");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = strerror(errno);
      ::close(fd);
      return fail(errc::invalid_argument, "cannot read " + path + ": " + why);
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// Follows the job's events from `from_seq` (calling on_event for each) until it ends; rides
// through a coordinator restart by reconnecting (gives up after 30 s unreachable). `job` may
// be a name: it is resolved once connected, into `*id` when given. timeout_ms 0 = no limit.
int follow_job(const client_options& c, const std::string& verb, std::string job, uint64_t from_seq,
               const std::function<void(const job_event&)>& on_event, uint32_t timeout_ms,
               std::string* id = nullptr) {
  uint64_t next = from_seq == 0 ? 1 : from_seq;
  auto print = [&](const job_event& e) {
    if (e.seq < next) return;  // already shown before a reconnect
    next = e.seq + 1;
    on_event(e);
  };
  bool resolved = is_job_id(job);
  int64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
  int64_t gave_up_at = 0;
  for (;;) {
    auto cl = connect(c);
    if (cl && !resolved) {
      auto found = resolve_job(**cl, job);
      if (!found && found.error().code != errc::unavailable) return report(found.error());
      if (found) {
        job = *found;
        resolved = true;
      }
    }
    if (id && resolved) *id = job;
    if (cl && resolved) {
      gave_up_at = 0;
      uint32_t left = 0;
      if (deadline) left = static_cast<uint32_t>(std::max<int64_t>(1, deadline - now_ms()));
      auto state = (*cl)->watch(job, next, print, left);
      if (state) return *state == job_state::succeeded ? kExitOk : kExitJobFailed;
      if (state.error().code != errc::unavailable && state.error().code != errc::timeout)
        return report(state.error());
      if (state.error().code == errc::unavailable)
        std::cerr << "gantry " << verb << ": lost the coordinator (" << state.error().message
                  << "); reconnecting to resume from #" << next << "\n";
    } else if (!cl && cl.error().code != errc::unavailable) {
      return report(cl.error());
    }
    if (deadline && now_ms() >= deadline) {
      std::cerr << "gantry " << verb << ": job " << job << " has not ended after " << timeout_ms
                << " ms\n";
      return kExitJobFailed;
    }
    if (gave_up_at == 0) gave_up_at = now_ms() + 30000;
    if (now_ms() > gave_up_at) {
      std::cerr << "gantry " << verb << ": the coordinator stayed unreachable for 30 s; resume "
                << "with gantry watch " << job << " --from " << next << "\n";
      return kExitUnreachable;
    }
    struct timespec ts {
      0, 250'000'000
    };
    nanosleep(&ts, nullptr);  // a CLI backing off between reconnects, not a test waiting
  }
}

}  // namespace

int run_submit(const client_options& c, const std::vector<std::string>& files, bool watch,
               bool allow_unschedulable) {
  if (watch && files.size() != 1) {
    std::cerr << "gantry submit: --watch follows one job; got " << files.size()
              << " manifests (gantry watch JOB follows each)\n";
    return kExitUsage;
  }
  // Validate every manifest here first: a bad one never reaches the coordinator, and then
  // none of them does. The coordinator checks again, against its own --max-manifest-bytes;
  // here only the most it could accept applies.
  std::vector<client::manifest_input> manifests;
  bool bad = false;
  for (const auto& file : files) {
    auto text = read_manifest_file(file);
    if (!text) {
      std::cerr << "gantry submit: " << text.error().message << "\n";
      bad = true;
      continue;
    }
    if (auto spec = parse_manifest(*text, kMaxManifestBytesCeiling); !spec) {
      for (const auto& e : spec.error()) std::cerr << file << ": " << e.to_string() << "\n";
      bad = true;
      continue;
    }
    manifests.push_back({std::move(*text), file});
  }
  if (bad) {
    if (files.size() > 1) std::cerr << "gantry submit: nothing submitted\n";
    return kExitUsage;
  }
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto answers = (*cl)->submit_many(manifests, allow_unschedulable);
  if (!answers) return report(answers.error());
  // One line per manifest, in order: the job id, or (on stderr) why it was refused.
  int code = kExitOk;
  for (size_t i = 0; i < answers->size(); ++i) {
    const auto& r = (*answers)[i];
    const std::string& file = manifests[i].source_name;
    if (!r) {
      error e = r.error();
      e.message = file + ": " + e.message;
      code = std::max(code, report(e));
    } else if (!r->errors.empty()) {
      for (const auto& e : r->errors)
        std::cerr << file << ": " << (e.path.empty() ? "" : e.path + ": ") << e.message << "\n";
      code = std::max(code, kExitUsage);
    } else {
      std::cout << r->job_id << "\n";
    }
  }
  std::cout.flush();
  if (!watch || code != kExitOk) return code;
  std::string id = (*answers)[0]->job_id;
  cl->reset();  // one event loop per thread: close this connection before watching
  return run_watch(c, id, 1);
}

int run_watch(const client_options& c, const std::string& job, uint64_t from_seq) {
  return follow_job(
      c, "watch", job, from_seq,
      [&](const job_event& e) {
        if (c.json)
          std::cout << event_json(e).dump() << std::endl;
        else
          std::cout << event_line(e) << std::endl;
      },
      0);
}

int run_wait_job(const client_options& c, const std::string& job, uint32_t timeout_ms) {
  std::string id = job;
  int code = follow_job(
      c, "wait", job, 1, [](const job_event&) {}, timeout_ms, &id);
  if (code != kExitOk && code != kExitJobFailed) return code;
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto rec = (*cl)->describe(id);
  if (!rec) return report(rec.error());
  if (c.json)
    std::cout << job_json(*rec).dump(2) << std::endl;
  else
    std::cout << rec->id << " " << to_string(rec->state)
              << (rec->reason.empty() ? "" : ": " + rec->reason) << "\n";
  return code;
}

int run_jobs(const client_options& c, const job_filter& filter) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto jobs = (*cl)->list_jobs(filter);
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
  auto id = resolve_job(**cl, job);
  if (!id) return report(id.error());
  auto rec = (*cl)->describe(*id);
  if (!rec) return report(rec.error());
  // Ranks that share a GPU show how their node shares it; without the node list, they don't.
  gpu_sharing_map sharing;
  if (auto nodes = (*cl)->list_nodes())
    for (const auto& n : *nodes) sharing[n.inventory.name] = n.inventory.gpu_sharing;
  if (c.json)
    std::cout << job_json(*rec, sharing).dump(2) << std::endl;
  else
    std::cout << job_text(*rec, sharing);
  return kExitOk;
}

int run_cancel(const client_options& c, const std::string& job) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto id = resolve_job(**cl, job);
  if (!id) return report(id.error());
  auto r = (*cl)->cancel(*id);
  if (!r) return report(r.error());
  std::cout << "cancelling " << *id << " (gantry watch " << *id << " shows when it stopped)\n";
  return kExitOk;
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
  auto cl = client::connect(parsed->first, task_credentials_from_env());
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
