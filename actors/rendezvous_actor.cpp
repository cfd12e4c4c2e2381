#include "actors/rendezvous_actor.hpp"

#include <map>
#include <tuple>

#include "actors/messages.hpp"
#include "actors/unexpected.hpp"

namespace gantry {
namespace {

// Sent to itself: waiter `waiter`'s get timed out.
struct rdv_timeout {
  uint64_t waiter;
};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::rdv_timeout)

namespace gantry {
namespace {

// The rendezvous actor's full interface: its public one plus what it sends itself.
using rdv_impl = rendezvous_actor::extend<caf::reacts_to<rdv_timeout>>;

using scope_key = std::tuple<std::string, std::string, int32_t>;

struct waiter {
  scope_key scope;
  std::string key;
  caf::typed_response_promise<result<std::string>> promise;
};

struct rdv_state {
  std::map<scope_key, std::map<std::string, std::string>> values;
  std::map<uint64_t, waiter> waiters;
  uint64_t next_waiter = 1;
  static inline const char* name = "gantry.rendezvous";
};

using rdv_t = rdv_impl::stateful_base<rdv_state>;

scope_key key_of(const rendezvous_scope& s) {
  return {s.job_id, s.stage, s.attempt};
}

std::string describe(const rendezvous_scope& s, const std::string& key) {
  return "rendezvous key \"" + key + "\" of " + s.job_id + "/" + s.stage + " attempt " +
         std::to_string(s.attempt);
}

result<void> check(const rendezvous_scope& s, const std::string& key) {
  if (s.job_id.empty() || s.stage.empty())
    return fail(errc::invalid_argument, "rendezvous scope needs a job id and a stage");
  if (key.empty() || key.size() > kRendezvousMaxKey)
    return fail(errc::invalid_argument,
                "rendezvous key must be 1.." + std::to_string(kRendezvousMaxKey) + " bytes");
  return {};
}

rdv_impl::behavior_type rdv_behavior(rdv_t* self) {
  log_unexpected_messages(self);
  return {
      [self](msg::rdv_put& m) -> result<void> {
        if (auto ok = check(m.scope, m.key); !ok) return ok;
        if (m.value.size() > kRendezvousMaxValue)
          return fail(errc::invalid_argument, describe(m.scope, m.key) + ": value of " +
                                                  std::to_string(m.value.size()) +
                                                  " bytes is over the 1 MiB limit");
        auto& st = self->state;
        scope_key sk = key_of(m.scope);
        st.values[sk][m.key] = m.value;
        for (auto it = st.waiters.begin(); it != st.waiters.end();) {
          if (it->second.scope == sk && it->second.key == m.key) {
            it->second.promise.deliver(result<std::string>(m.value));
            it = st.waiters.erase(it);
          } else {
            ++it;
          }
        }
        return {};
      },
      [self](msg::rdv_get& m) {
        auto rp = self->make_response_promise<result<std::string>>();
        if (auto ok = check(m.scope, m.key); !ok) {
          rp.deliver(result<std::string>(fail(ok.error())));
          return rp;
        }
        auto& st = self->state;
        scope_key sk = key_of(m.scope);
        if (auto s = st.values.find(sk); s != st.values.end()) {
          if (auto v = s->second.find(m.key); v != s->second.end()) {
            rp.deliver(result<std::string>(v->second));
            return rp;
          }
        }
        uint64_t id = st.next_waiter++;
        st.waiters[id] = {sk, m.key, rp};
        self->delayed_send(self, std::chrono::milliseconds(m.timeout_ms), rdv_timeout{id});
        return rp;
      },
      [self](rdv_timeout& m) {
        auto& st = self->state;
        auto it = st.waiters.find(m.waiter);
        if (it == st.waiters.end()) return;
        auto& [job, stage, attempt] = it->second.scope;
        it->second.promise.deliver(result<std::string>(fail(
            errc::timeout,
            describe({job, stage, attempt}, it->second.key) + " was not put before the timeout")));
        st.waiters.erase(it);
      },
      [self](msg::rdv_drop_job& m) {
        auto& st = self->state;
        for (auto it = st.values.begin(); it != st.values.end();)
          it = std::get<0>(it->first) == m.job_id ? st.values.erase(it) : std::next(it);
      },
  };
}

}  // namespace

rendezvous_actor spawn_rendezvous_actor(caf::actor_system& sys) {
  return sys.spawn(rdv_behavior);
}

}  // namespace gantry
