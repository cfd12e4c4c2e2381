#include "actors/job_machine.hpp"

#include <algorithm>
#include <functional>

#include "core/log.hpp"

namespace gantry {

bool is_active(rank_state s) {
  return s == rank_state::starting || s == rank_state::running;
}

job_machine::job_machine(job_record record, uint32_t restart_backoff_ms)
    : rec_(std::move(record)), restart_backoff_ms_(restart_backoff_ms) {
  for (size_t s = 0; s < rec_.stages.size(); ++s)
    for (size_t r = 0; r < rec_.stages[s].ranks.size(); ++r) {
      const auto& rk = rec_.stages[s].ranks[r];
      if (!rk.task_id.empty()) tasks_[rk.task_id] = {s, r};
    }
  if (is_terminal(rec_.state)) finishing_ = rec_.state;
}

bool job_machine::finished() const {
  if (!is_terminal(rec_.state)) return false;
  for (const auto& st : rec_.stages)
    for (const auto& rk : st.ranks)
      if (is_active(rk.state)) return false;
  return true;
}

std::string job_machine::request_id(const std::string& job, const std::string& stage, int32_t rank,
                                    bool gang) {
  return gang ? job + "/" + stage : job + "/" + stage + "/" + std::to_string(rank);
}

size_t job_machine::stage_index(const std::string& name) const {
  for (size_t i = 0; i < rec_.stages.size(); ++i)
    if (rec_.stages[i].name == name) return i;
  return rec_.stages.size();
}

rank_record* job_machine::find_task(const std::string& task_id, rank_ref* where) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return nullptr;
  rank_record& rk = rec_.stages[it->second.stage].ranks[it->second.rank];
  if (rk.task_id != task_id) return nullptr;  // an older attempt's task
  if (where) *where = it->second;
  return &rk;
}

void job_machine::emit_job(job_state s, const std::string& message, job_effects& fx) {
  rec_.state = s;
  rec_.reason = message;
  if (is_terminal(s)) rec_.finished_ms = now_ms();
  job_event e;
  e.job_id = rec_.id;
  e.seq = ++rec_.last_event_seq;
  e.time_ms = now_ms();
  e.kind = event_kind::job;
  e.state = to_string(s);
  e.message = message;
  fx.events.push_back(std::move(e));
  fx.summary_changed = true;
}

void job_machine::emit_stage(size_t stage, stage_state s, const std::string& message,
                             job_effects& fx) {
  stage_record& st = rec_.stages[stage];
  st.state = s;
  st.reason = message;
  job_event e;
  e.job_id = rec_.id;
  e.seq = ++rec_.last_event_seq;
  e.time_ms = now_ms();
  e.kind = event_kind::stage;
  e.stage = st.name;
  e.state = to_string(s);
  e.message = message;
  fx.events.push_back(std::move(e));
}

void job_machine::emit_rank(size_t stage, size_t rank, const std::string& message,
                            job_effects& fx) {
  const stage_record& st = rec_.stages[stage];
  const rank_record& rk = st.ranks[rank];
  job_event e;
  e.job_id = rec_.id;
  e.seq = ++rec_.last_event_seq;
  e.time_ms = now_ms();
  e.kind = event_kind::rank;
  e.stage = st.name;
  e.rank = rk.rank;
  e.state = to_string(rk.state);
  e.node = rk.node;
  e.pid = rk.pid;
  e.exit_code = rk.exit_code;
  e.attempt = rk.attempt;
  e.message = message;
  if (rk.state == rank_state::succeeded || rk.state == rank_state::failed ||
      rk.state == rank_state::cancelled)
    e.usage = rk.usage;
  fx.events.push_back(std::move(e));
}

void job_machine::start(job_effects& fx) {
  if (rec_.last_event_seq == 0) emit_job(job_state::pending, "", fx);
  for (size_t s = 0; s < rec_.stages.size(); ++s) {
    stage_state state = rec_.stages[s].state;
    if (state == stage_state::pending || state == stage_state::running) request_placement(s, fx);
  }
  evaluate(fx);
}

void job_machine::restore_assignment(const std::string& task_id, sched::task_assignment a) {
  held_[task_id] = std::move(a);
}

void job_machine::request_placement(size_t stage, job_effects& fx, uint32_t delay_ms) {
  std::vector<int32_t> waiting;
  for (const auto& rk : rec_.stages[stage].ranks)
    if (rk.state == rank_state::pending) waiting.push_back(rk.rank);
  request_ranks(stage, waiting, fx, delay_ms);
}

void job_machine::request_ranks(size_t stage, const std::vector<int32_t>& waiting, job_effects& fx,
                                uint32_t delay_ms) {
  const stage_spec& spec = spec_of(stage);
  stage_record& st = rec_.stages[stage];
  if (waiting.empty()) return;
  auto base = [&](int32_t count) {
    sched::placement_request req;
    req.priority = rec_.spec.priority;
    req.submit_seq = rec_.submit_seq;
    req.per_task = spec.resources;
    req.count = count;
    req.gang = spec.is_gang();
    req.placement = spec.placement;
    req.node_selector = spec.node_selector;
    req.fabric = spec.fabric;
    if (!spec.colocate_with.empty()) {
      for (const auto& other : rec_.stages)
        if (other.name == spec.colocate_with)
          for (const auto& rk : other.ranks)
            if (!rk.node.empty()) req.colocate_nodes.push_back(rk.node);
    }
    return req;
  };
  if (spec.is_gang()) {
    auto req = base(static_cast<int32_t>(waiting.size()));
    req.id = request_id(rec_.id, st.name, 0, true);
    fx.place.push_back({std::move(req), st.name, waiting, delay_ms});
    return;
  }
  for (int32_t r : waiting) {
    auto req = base(1);
    req.id = request_id(rec_.id, st.name, r, false);
    fx.place.push_back({std::move(req), st.name, {r}, delay_ms});
  }
}

bool job_machine::on_placed(const std::string& stage, const std::vector<int32_t>& ranks,
                            const std::vector<sched::task_assignment>& tasks,
                            const std::vector<std::string>& hostnames, job_effects& fx) {
  size_t s = stage_index(stage);
  bool usable = s < rec_.stages.size() && !finishing_;
  if (usable) {
    for (int32_t r : ranks)
      if (r < 0 || static_cast<size_t>(r) >= rec_.stages[s].ranks.size() ||
          rec_.stages[s].ranks[r].state != rank_state::pending)
        usable = false;
  }
  if (!usable) return false;
  stage_record& st = rec_.stages[s];
  if (!st.reason.empty()) {
    st.reason.clear();
    fx.summary_changed = true;  // the summary shows a pending stage's reason
  }
  // Assign first, so that LOCAL_RANK and MASTER_ADDR see every rank's node.
  for (size_t i = 0; i < ranks.size(); ++i) {
    rank_record& rk = st.ranks[ranks[i]];
    rk.node = tasks[i].node;
    rk.gpus = tasks[i].gpus;
    rk.gpu_milli = tasks[i].gpu_milli;
    rk.gpu_memory_bytes = tasks[i].gpu_memory_bytes;
    rk.task_id = make_task_id(rec_.id, st.name, rk.rank, rk.attempt);
    rk.state = rank_state::starting;
    rk.pid = 0;
    rk.exit_code = -1;
    rk.reason.clear();
    tasks_[rk.task_id] = {s, static_cast<size_t>(ranks[i])};
    held_[rk.task_id] = tasks[i];
  }
  std::string master = hostnames.empty() ? "" : hostnames[0];
  std::string master_node = tasks.empty() ? "" : tasks[0].node;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] == 0) {
      master = hostnames[i];
      master_node = tasks[i].node;
    }
  }
  for (size_t i = 0; i < ranks.size(); ++i) {
    size_t r = static_cast<size_t>(ranks[i]);
    if (!spec_of(s).is_gang())
      fx.launches.push_back({make_task(s, r, tasks[i], "", 0), tasks[i].node});
    emit_rank(s, r, "placed on " + tasks[i].node, fx);
  }
  if (spec_of(s).is_gang()) {
    int32_t attempt = st.ranks[ranks[0]].attempt;
    awaiting_port_[s] = {attempt, master};
    fx.ports.push_back({st.name, attempt, master_node});
  }
  return true;
}

void job_machine::on_port(const std::string& stage, int32_t attempt, const result<uint16_t>& port,
                          job_effects& fx) {
  size_t s = stage_index(stage);
  auto it = awaiting_port_.find(s);
  if (it == awaiting_port_.end() || it->second.attempt != attempt) return;  // stopped meanwhile
  std::string master = it->second.master_addr;
  awaiting_port_.erase(it);
  // Without a reserved port, torchrun's default is the best guess left.
  uint16_t p = port ? *port : 29500;
  for (size_t r = 0; r < rec_.stages[s].ranks.size(); ++r) {
    const rank_record& rk = rec_.stages[s].ranks[r];
    if (rk.state != rank_state::starting) continue;
    auto held = held_.find(rk.task_id);
    if (held == held_.end()) continue;
    fx.launches.push_back({make_task(s, r, held->second, master, p), rk.node});
  }
}

void job_machine::release_held(size_t stage, size_t rank, job_effects& fx) {
  const rank_record& rk = rec_.stages[stage].ranks[rank];
  auto it = held_.find(rk.task_id);
  if (it == held_.end()) return;
  fx.releases.push_back(
      {request_id(rec_.id, rec_.stages[stage].name, rk.rank, spec_of(stage).is_gang()),
       it->second});
  held_.erase(it);
}

void job_machine::abandon(size_t stage, size_t rank, job_effects& fx) {
  rank_record& rk = rec_.stages[stage].ranks[rank];
  rk.state = rank_state::cancelled;
  rk.reason = "stopped before it launched";
  release_held(stage, rank, fx);
  emit_rank(stage, rank, rk.reason, fx);
}

void job_machine::on_unschedulable(const std::string& stage, const std::string& reason,
                                   job_effects& fx) {
  size_t s = stage_index(stage);
  if (s == rec_.stages.size()) return;
  stage_record& st = rec_.stages[s];
  if (st.reason == reason || st.state != stage_state::pending) return;
  fx.summary_changed = true;  // the summary shows a pending stage's reason
  // Only the first reason is an event (persisted, sent to watchers). Later wording changes
  // (another job now holds the reservation, say) update `describe` alone: a queue of
  // waiting jobs must not turn every scheduler run into a synced write per job.
  if (!st.reason.empty()) {
    st.reason = reason;
    return;
  }
  emit_stage(s, stage_state::pending, reason, fx);
}

void job_machine::on_launched(const std::string& task_id, const result<int64_t>& pid,
                              job_effects& fx) {
  rank_ref where{};
  rank_record* rk = find_task(task_id, &where);
  if (!rk) return;
  if (!pid) {
    bool stopping = finishing_ || restarting_.count(where.stage);
    if (!is_active(rk->state)) return;
    std::string why = "launch failed: " + pid.error().message;
    // The node went away between its placement and the launch: nothing of the task ran,
    // so it is placed again without counting a restart.
    if (pid.error().code == errc::unavailable && !stopping) return move_rank(where, why, fx);
    rank_ended(where, stopping ? rank_state::cancelled : rank_state::failed, -1, why, fx);
    return;
  }
  if (rk->pid == 0) rk->pid = *pid;
  if (rk->state != rank_state::starting) return;  // already exited (reports can overtake)
  rk->state = rank_state::running;
  emit_rank(where.stage, where.rank, "", fx);
  stage_record& st = rec_.stages[where.stage];
  if (st.state == stage_state::pending) emit_stage(where.stage, stage_state::running, "", fx);
  if (rec_.state == job_state::pending) emit_job(job_state::running, "", fx);
}

void job_machine::on_exit(const std::string& task_id, int32_t exit_code, const std::string& message,
                          int64_t pid, const exit_facts& facts, job_effects& fx) {
  rank_ref where{};
  rank_record* rk = find_task(task_id, &where);
  if (!rk || !is_active(rk->state)) return;
  if (rk->state == rank_state::starting && pid > 0) {
    on_launched(task_id, pid, fx);  // the exit overtook the launch reply
    rk = find_task(task_id, &where);
  }
  rk->usage = facts.usage;
  if (finishing_ || restarting_.count(where.stage)) {
    std::string why = finishing_ ? message : "stopped for the gang's restart";
    rank_ended(where, rank_state::cancelled, exit_code, why, fx);
    return;
  }
  if (evicting_.erase(task_id)) {  // moved, not failed: no restart is counted
    rank_ended(where, rank_state::cancelled, exit_code, "stopped to move it", fx);
    requeue_rank(where, "moved off a draining node", 0, fx);
    return;
  }
  if (exit_moves(where, task_id))
    return move_rank(
        where,
        "ended (exit code " + std::to_string(exit_code) + ") while moving off a draining node", fx);
  std::string reason =
      exit_code == 0
          ? ""
          : (message.empty() ? "exited with code " + std::to_string(exit_code) : message);
  bool may_restart = !facts.time_limit_exceeded || rec_.spec.restart_on_time_limit;
  rank_ended(where, exit_code == 0 ? rank_state::succeeded : rank_state::failed, exit_code, reason,
             fx, may_restart);
}

void job_machine::on_lost(const std::string& task_id, const std::string& reason, job_effects& fx) {
  rank_ref where{};
  rank_record* rk = find_task(task_id, &where);
  if (!rk || !is_active(rk->state)) return;
  bool stopping = finishing_ || restarting_.count(where.stage);
  rank_ended(where, stopping ? rank_state::cancelled : rank_state::failed, -1, reason, fx);
}

bool job_machine::on_adopt(const task_report& report, const std::string& node, job_effects& fx) {
  rank_ref where{};
  rank_record* rk = find_task(report.task_id, &where);
  if (!rk || !is_active(rk->state) || rk->node != node) return false;
  if (rk->pid == 0) rk->pid = report.pid;
  if (rk->state == rank_state::starting) {
    on_launched(report.task_id, report.pid, fx);
  }
  if (finishing_) fx.kills.push_back({report.task_id, node});
  return true;
}

result<void> job_machine::cancel(job_effects& fx) {
  if (is_terminal(rec_.state))
    return fail(errc::failed_precondition, "job " + rec_.id + " already " + to_string(rec_.state));
  if (finishing_ == job_state::cancelled) return {};
  finishing_ = job_state::cancelled;
  rec_.reason = "cancel requested";
  stop_all(fx);
  evaluate(fx);
  return {};
}

void job_machine::rank_ended(rank_ref where, rank_state state, int32_t exit_code,
                             const std::string& reason, job_effects& fx, bool may_restart) {
  stage_record& st = rec_.stages[where.stage];
  rank_record& rk = st.ranks[where.rank];
  rk.state = state;
  rk.exit_code = exit_code;
  rk.reason = reason;
  release_held(where.stage, where.rank, fx);
  emit_rank(where.stage, where.rank, reason, fx);
  if (state == rank_state::failed && !finishing_ &&
      !(may_restart && try_restart(where, exit_code, reason, fx))) {
    std::string why = "stage " + st.name + " rank " + std::to_string(rk.rank) + " failed" +
                      (reason.empty() ? "" : ": " + reason);
    const auto& codes = spec_of(where.stage).no_retry_exit_codes;
    if (!may_restart)
      why += " (restart_on_time_limit is false)";
    else if (std::find(codes.begin(), codes.end(), exit_code) != codes.end())
      why += " (exit code " + std::to_string(exit_code) + " is in no_retry_exit_codes)";
    else if (rec_.spec.max_restarts > 0)
      why += "; max_restarts (" + std::to_string(rec_.spec.max_restarts) + ") exhausted";
    emit_stage(where.stage, stage_state::failed, why, fx);
    finishing_ = job_state::failed;
    rec_.reason = why;
    stop_all(fx);
  }
  evaluate(fx);
}

void job_machine::stop_all(job_effects& fx) {
  for (size_t s = 0; s < rec_.stages.size(); ++s) {
    stage_record& st = rec_.stages[s];
    const stage_spec& spec = spec_of(s);
    for (size_t r = 0; r < st.ranks.size(); ++r) {
      rank_record& rk = st.ranks[r];
      if (rk.state == rank_state::pending) {
        if (st.state != stage_state::waiting)  // its placement request is queued
          fx.withdraw.push_back(request_id(rec_.id, st.name, rk.rank, spec.is_gang()));
        rk.state = rank_state::cancelled;
      } else if (is_active(rk.state)) {
        if (awaiting_port_.count(s))
          abandon(s, r, fx);
        else
          fx.kills.push_back({rk.task_id, rk.node});
      }
    }
    awaiting_port_.erase(s);
  }
  // One withdraw per gang is enough.
  std::sort(fx.withdraw.begin(), fx.withdraw.end());
  fx.withdraw.erase(std::unique(fx.withdraw.begin(), fx.withdraw.end()), fx.withdraw.end());
}

void job_machine::evaluate(job_effects& fx) {
  // Gangs that finished stopping for a restart.
  for (auto it = restarting_.begin(); it != restarting_.end();) {
    size_t s = (it++)->first;
    if (finishing_) continue;
    bool active = false;
    for (const auto& rk : rec_.stages[s].ranks) active = active || is_active(rk.state);
    if (!active) restart_gang(s, fx);
  }
  // Stages whose ranks all ended.
  for (size_t s = 0; s < rec_.stages.size(); ++s) {
    stage_record& st = rec_.stages[s];
    if (is_terminal(st.state) || st.state == stage_state::waiting) continue;
    bool all_done = true, all_ok = true;
    for (const auto& rk : st.ranks) {
      if (!is_terminal(rk.state)) all_done = false;
      if (rk.state != rank_state::succeeded) all_ok = false;
    }
    if (all_done && all_ok) emit_stage(s, stage_state::succeeded, "", fx);
  }
  if (!finishing_) {
    // Stages whose dependencies all succeeded start now.
    for (size_t s = 0; s < rec_.stages.size(); ++s) {
      if (rec_.stages[s].state != stage_state::waiting) continue;
      bool ready = true;
      for (const auto& dep : spec_of(s).after)
        if (size_t d = stage_index(dep);
            d == rec_.stages.size() || rec_.stages[d].state != stage_state::succeeded)
          ready = false;
      if (!ready) continue;
      emit_stage(s, stage_state::pending, "", fx);
      request_placement(s, fx);
    }
    bool all_ok = std::all_of(rec_.stages.begin(), rec_.stages.end(), [](const stage_record& st) {
      return st.state == stage_state::succeeded;
    });
    if (all_ok && !rec_.stages.empty()) {
      finishing_ = job_state::succeeded;
    }
  }
  if (!finishing_ || is_terminal(rec_.state)) return;
  for (const auto& st : rec_.stages)
    for (const auto& rk : st.ranks)
      if (is_active(rk.state)) return;  // wait until everything stopped
  for (size_t s = 0; s < rec_.stages.size(); ++s) {
    if (is_terminal(rec_.stages[s].state)) continue;
    emit_stage(s, stage_state::cancelled, *finishing_ == job_state::cancelled ? "cancelled" : "",
               fx);
  }
  std::string reason = *finishing_ == job_state::succeeded   ? ""
                       : *finishing_ == job_state::cancelled ? "cancelled by request"
                                                             : rec_.reason;
  emit_job(*finishing_, reason, fx);
}

}  // namespace gantry
