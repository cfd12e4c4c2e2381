#include "cli/fleet.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include <kj/async-io.h>

#include "cli/runtime.hpp"
#include "core/log.hpp"
#include "core/ports.hpp"
#include "protocol/kj_bridge.hpp"
#include "security/secure_files.hpp"

namespace gantry::cli {
namespace {

// A task "runs" for GANTRY_FLEET_SECONDS from its stage's env (default 0), then exits 0; a
// kill ends it at once with 128+SIGTERM. Everything happens on the KJ thread.
class fleet_agent final : public task_agent {
 public:
  fleet_agent(kj::Timer& timer, kj::TaskSet& tasks) : timer_(timer), tasks_(tasks) {}
  void set_reports(std::shared_ptr<report_sink> r) { reports_ = std::move(r); }

  void launch(task_spec task, callback<int64_t> done) override {
    double seconds = 0;
    for (const auto& [k, v] : task.env)
      if (k == "GANTRY_FLEET_SECONDS") seconds = std::strtod(v.c_str(), nullptr);
    if (!(seconds >= 0)) seconds = 0;
    int64_t pid = next_pid_++;
    auto [it, fresh] = running_.try_emplace(task.task_id, pid);
    if (!fresh) return done(fail(errc::already_exists, "task " + task.task_id + " runs here"));
    done(pid);
    std::string id = task.task_id;
    auto ms = static_cast<uint64_t>(std::llround(seconds * 1000));
    tasks_.add(timer_.afterDelay(ms * kj::MILLISECONDS).then([this, id] { finish(id, 0); }));
  }

  void kill(std::string task_id, uint32_t, callback<void> done) override {
    finish(task_id, 128 + SIGTERM);
    done(result<void>{});
  }

  void read_log(std::string task_id, uint64_t offset, uint32_t, callback<log_chunk> done) override {
    log_chunk c;
    if (offset == 0) c.data = "(simulated fleet worker: the task ran no process)\n";
    c.next_offset = offset + c.data.size();
    c.finished = !running_.contains(task_id);
    done(std::move(c));
  }

  void signal(std::string, int32_t, callback<void> done) override { done(result<void>{}); }
  void reserve_port(callback<uint16_t> done) override { done(uint16_t{29500}); }

  void list_running(callback<std::vector<task_report>> done) override {
    std::vector<task_report> out;
    for (const auto& [id, pid] : running_)
      out.push_back({.task_id = id, .pid = pid, .running = true});
    done(std::move(out));
  }

 private:
  void finish(const std::string& task_id, int32_t code) {
    auto it = running_.find(task_id);
    if (it == running_.end()) return;  // already ended (killed, or its time came)
    task_report r{.task_id = task_id, .pid = it->second, .running = false, .exit_code = code};
    running_.erase(it);
    if (reports_) reports_->task_exited(std::move(r));
  }

  kj::Timer& timer_;
  kj::TaskSet& tasks_;
  std::shared_ptr<report_sink> reports_;
  std::map<std::string, int64_t> running_;
  int64_t next_pid_ = 1'000'000;
};

struct task_errors final : kj::TaskSet::ErrorHandler {
  void taskFailed(kj::Exception&& e) override {
    log_warn(std::string("fleet: ") + e.getDescription().cStr());
  }
};

struct member {
  std::unique_ptr<fleet_agent> agent;
  std::unique_ptr<worker_link> link;
};

std::string member_name(const std::string& prefix, int i) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%05d", i);
  return prefix + digits;
}

}  // namespace

int run_fleet(const fleet_options& o, const node_inventory& inventory,
              const worker_link_options& link) {
  set_log_identity("worker fleet[" + o.name_prefix + "*]");
  log_info("fleet: " + std::to_string(o.members) + " simulated workers " +
           member_name(o.name_prefix, 1) + ".." + member_name(o.name_prefix, o.members) +
           " (no task runs a process)");
  capture_stop_signals();  // before any thread exists
  auto io = kj::setupAsyncIo();
  auto mailbox = std::make_shared<kj_mailbox>();
  task_errors errors;
  kj::TaskSet timers(errors);
  std::vector<member> members;
  members.reserve(static_cast<size_t>(o.members));
  for (int i = 1; i <= o.members; ++i) {
    std::string name = member_name(o.name_prefix, i);
    worker_link_options lopts = link;
    lopts.inventory = inventory;
    lopts.inventory.name = name;
    if (lopts.tls) {
      std::string dir = o.data_dir + "/" + name;
      if (auto ok = security::ensure_directory(dir, 0700); !ok) {
        log_error("fleet: " + dir + ": " + ok.error().message);
        return kExitUsage;
      }
      lopts.credential_file = dir + "/node-credential";
    }
    member m;
    m.agent = std::make_unique<fleet_agent>(io.provider->getTimer(), timers);
    m.link = std::make_unique<worker_link>(io, mailbox, *m.agent, std::move(lopts));
    m.agent->set_reports(m.link->reports());
    members.push_back(std::move(m));
  }
  auto mail = mailbox->run().eagerlyEvaluate(nullptr);
  kj::TaskSet links(errors);
  for (auto& m : members) links.add(m.link->run());
  int sig = wait_for_stop_signal(io);
  log_info(std::string("fleet: stopping on ") + strsignal(sig));
  mailbox->close();
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace gantry::cli
