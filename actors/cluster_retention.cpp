// The cluster actor's bounded history. A sweep drops expired finished jobs from the job table
// at once (at most retain_sweep_jobs per message, so no sweep stalls the actor) and hands
// their ids to the store, one forget_jobs in flight at a time.
#include <charconv>

#include "actors/cluster_state.hpp"
#include "core/log.hpp"

namespace gantry::cluster_detail {
namespace {

size_t chunk_of(const coordinator_config& c) {
  return std::max<uint32_t>(c.retain_sweep_jobs, 1);
}

void send_forgets(actor_t* self) {
  auto& st = self->state;
  if (st.forget_in_flight || st.forgetting.empty()) return;
  std::vector<std::string> ids;
  size_t n = std::min(st.forgetting.size(), chunk_of(st.config));
  if (n == st.forgetting.size()) {
    ids.swap(st.forgetting);
  } else {
    ids.assign(st.forgetting.begin(), st.forgetting.begin() + static_cast<ptrdiff_t>(n));
    st.forgetting.erase(st.forgetting.begin(), st.forgetting.begin() + static_cast<ptrdiff_t>(n));
  }
  st.forget_in_flight = true;
  self->request(st.store, caf::infinite, msg::forget_jobs{std::move(ids)})
      .then(
          [self, n](result<void>& r) {
            self->state.forget_in_flight = false;
            // On failure they stay in the store: the next start forgets them again.
            if (!r)
              log_warn("deleting " + std::to_string(n) +
                       " forgotten jobs from the store failed: " + r.error().message);
            send_forgets(self);
          },
          [self](caf::error& e) {
            self->state.forget_in_flight = false;
            log_warn("deleting forgotten jobs from the store failed: " + caf::to_string(e));
          });
}

}  // namespace

retention_policy retention_of(const coordinator_config& c) {
  return {c.retain_finished_ms, c.retain_max_jobs};
}

void start_sweeps(actor_t* self) {
  const auto& c = self->state.config;
  if (c.retain_finished_ms == 0 && c.retain_max_jobs == 0) return;
  size_t before = self->state.finished.size();
  while (!self->state.finished.expired(retention_of(c), now_ms(), 1).empty()) sweep(self, false);
  if (size_t n = before - self->state.finished.size(); n > 0)
    log_info("forgetting " + std::to_string(n) + " finished jobs beyond the retention (" +
             describe(retention_of(c)) + ")");
  self->delayed_send(self, std::chrono::milliseconds(c.retain_sweep_interval_ms), sweep_tick{true});
}

void on_job_finished(actor_t* self, const std::string& id, int64_t finished_ms) {
  auto& st = self->state;
  st.finished.add(id, finished_ms);
  // Over the count limit: forget now rather than at the next tick, so the table never holds
  // more than retain_max_jobs finished jobs. Age is the periodic tick's business.
  if (st.config.retain_max_jobs > 0 && st.finished.size() > st.config.retain_max_jobs)
    sweep(self, false);
}

void sweep(actor_t* self, bool periodic) {
  auto& st = self->state;
  if (periodic)
    self->delayed_send(self, std::chrono::milliseconds(st.config.retain_sweep_interval_ms),
                       sweep_tick{true});
  auto ids = st.finished.expired(retention_of(st.config), now_ms(), chunk_of(st.config));
  // Gone from the table at once: from here on describe, watch and logs say so.
  for (const auto& id : ids) {
    st.finished.erase(id);
    st.jobs.erase(id);
  }
  bool more = ids.size() >= chunk_of(st.config);
  st.forgetting.insert(st.forgetting.end(), std::make_move_iterator(ids.begin()),
                       std::make_move_iterator(ids.end()));
  send_forgets(self);
  if (more) self->send(self, sweep_tick{false});  // the next chunk, behind the mailbox
}

std::unexpected<error> unknown_job(actor_t* self, const std::string& id) {
  // j-000042 < next_job_number was issued: a job the coordinator no longer knows was forgotten.
  uint64_t n = 0;
  bool issued = false;
  if (id.starts_with("j-")) {
    auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), n);
    issued = ec == std::errc() && end == id.data() + id.size() && n > 0 &&
             n < self->state.next_job_number;
  }
  if (!issued) return fail(errc::not_found, "no job " + id + " (gantry jobs lists them)");
  return fail(errc::not_found, "unknown job " + id + " (finished jobs are kept " +
                                   describe(retention_of(self->state.config)) +
                                   ", see --retain-finished and --retain-max-jobs)");
}

}  // namespace gantry::cluster_detail
