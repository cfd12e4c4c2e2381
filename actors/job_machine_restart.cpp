// Restarts, moves off draining nodes and checkpoint consistency (job_machine).
#include "actors/job_machine.hpp"

#include <algorithm>
#include <functional>

#include "core/log.hpp"

namespace gantry {

void job_machine::on_checkpoint(const std::string& task_id, int64_t step, job_effects& fx) {
  auto it = tasks_.find(task_id);  // any attempt's commit counts: the files are what matter
  if (it == tasks_.end()) return;
  size_t s = it->second.stage;
  stage_record& st = rec_.stages[s];
  if (step <= st.checkpoint_step) return;
  auto& steps = commits_[s];
  steps[step].insert(st.ranks[it->second.rank].rank);
  if (steps[step].size() < st.ranks.size()) return;
  st.checkpoint_step = step;  // every rank committed it: the newest consistent step
  steps.erase(steps.begin(), steps.upper_bound(step));
  job_event e;
  e.job_id = rec_.id;
  e.seq = ++rec_.last_event_seq;
  e.time_ms = now_ms();
  e.kind = event_kind::stage;
  e.stage = st.name;
  e.state = to_string(st.state);
  e.message = "checkpoint step " + std::to_string(step) + " is consistent";
  fx.events.push_back(std::move(e));
}

uint32_t job_machine::backoff_ms() const {
  if (rec_.restarts <= 1) return 0;  // the first restart is immediate
  uint32_t shift = static_cast<uint32_t>(std::min(rec_.restarts - 2, 4));
  return restart_backoff_ms_ << shift;
}

bool job_machine::try_restart(rank_ref where, int32_t exit_code, const std::string& reason,
                              job_effects& fx) {
  const stage_spec& spec = spec_of(where.stage);
  const auto& codes = spec.no_retry_exit_codes;
  if (std::find(codes.begin(), codes.end(), exit_code) != codes.end()) return false;
  if (rec_.restarts >= rec_.spec.max_restarts) return false;
  ++rec_.restarts;
  stage_record& st = rec_.stages[where.stage];
  ++st.restarts;
  fx.summary_changed = true;
  std::string what = "restart " + std::to_string(rec_.restarts) + "/" +
                     std::to_string(rec_.spec.max_restarts) + " after rank " +
                     std::to_string(st.ranks[where.rank].rank) + " failed" +
                     (reason.empty() ? "" : ": " + reason);
  if (spec.is_gang()) {
    stop_gang(where.stage, backoff_ms(), what + "; stopping the gang", fx);
    return true;
  }
  requeue_rank(where, what, backoff_ms(), fx);
  return true;
}

void job_machine::stop_gang(size_t stage, uint32_t delay_ms, const std::string& why,
                            job_effects& fx) {
  // Stop every rank of the gang; it is placed again as a whole once none runs.
  stage_record& st = rec_.stages[stage];
  restarting_[stage] = delay_ms;
  bool unlaunched = awaiting_port_.erase(stage) > 0;
  for (size_t r = 0; r < st.ranks.size(); ++r) {
    if (!is_active(st.ranks[r].state)) continue;
    if (unlaunched)
      abandon(stage, r, fx);
    else
      fx.kills.push_back({st.ranks[r].task_id, st.ranks[r].node});
  }
  emit_stage(stage, st.state, why, fx);
}

void job_machine::requeue_rank(rank_ref where, const std::string& why, uint32_t delay_ms,
                               job_effects& fx) {
  rank_record& rk = rec_.stages[where.stage].ranks[where.rank];
  rk.state = rank_state::pending;
  rk.attempt += 1;
  rk.pid = 0;
  rk.reason = why;
  emit_rank(where.stage, where.rank, why, fx);
  request_ranks(where.stage, {rk.rank}, fx, delay_ms);
}

void job_machine::on_evict(const std::string& task_id, const std::string& reason, job_effects& fx) {
  rank_ref where{};
  rank_record* rk = find_task(task_id, &where);
  if (!rk || !is_active(rk->state) || finishing_ || restarting_.count(where.stage)) return;
  std::string why = "moving off " + rk->node + " (" + reason + ")";
  if (spec_of(where.stage).is_gang()) {
    stop_gang(where.stage, 0, why + "; stopping the gang", fx);
    return;
  }
  evicting_.insert(task_id);
  fx.kills.push_back({task_id, rk->node});
}

void job_machine::move_rank(rank_ref where, const std::string& why, job_effects& fx) {
  rank_ended(where, rank_state::cancelled, -1, why, fx);
  if (spec_of(where.stage).is_gang())
    stop_gang(where.stage, 0, why + "; placing the gang again", fx);
  else
    requeue_rank(where, why + "; placing it again", 0, fx);
  evaluate(fx);
}

void job_machine::on_draining(const std::string& task_id, bool draining) {
  rank_ref where{};
  rank_record* rk = find_task(task_id, &where);
  if (!draining)
    draining_.erase(task_id);
  else if (rk && is_active(rk->state))
    draining_.insert(task_id);
}

bool job_machine::exit_moves(rank_ref where, const std::string& task_id) {
  if (draining_.erase(task_id)) return true;
  if (!spec_of(where.stage).is_gang()) return false;
  for (const auto& rk : rec_.stages[where.stage].ranks)
    if (is_active(rk.state) && draining_.count(rk.task_id)) return true;
  return false;
}

// Every rank of a stopped gang goes back to pending with the next attempt number.
void job_machine::restart_gang(size_t stage, job_effects& fx) {
  stage_record& st = rec_.stages[stage];
  int32_t attempt = 0;
  for (const auto& rk : st.ranks) attempt = std::max(attempt, rk.attempt + 1);
  for (auto& rk : st.ranks) {
    rk.state = rank_state::pending;
    rk.attempt = attempt;
    rk.pid = 0;
    rk.exit_code = -1;
  }
  uint32_t delay = restarting_[stage];
  restarting_.erase(stage);
  std::string msg = "placing the gang again (attempt " + std::to_string(attempt) + ")";
  if (st.checkpoint_step >= 0) msg += " from checkpoint step " + std::to_string(st.checkpoint_step);
  emit_stage(stage, stage_state::pending, msg, fx);
  request_placement(stage, fx, delay);
}

}  // namespace gantry
