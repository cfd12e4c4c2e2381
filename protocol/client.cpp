#include "protocol/client.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <kj/async-io.h>
#include <kj/debug.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>

#include "protocol/connection_limits.hpp"
#include "protocol/convert.hpp"
#include "protocol/dial.hpp"
#include "protocol/rpc_client.hpp"

namespace gantry {
namespace wc = wire_convert;

result<void> check_host_port(std::string_view address, bool allow_any_port) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "expected HOST:PORT such as 127.0.0.1:7070, got \"" +
                                            std::string(address) + "\"" +
                                            (why.empty() ? "" : " (" + why + ")"));
  };
  if (address.find("://") != std::string_view::npos) return bad("a host and port, not a URL");
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("an IPv6 address ends with ']'");
  } else if (host != "*") {
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
        return bad(c == ':' ? "an IPv6 address goes in brackets, [::1]:7070"
                            : "a host name has letters, digits, '.', '-' and '_'");
  }
  if (port.empty() || port.size() > 5) return bad("the port is a number from 1 to 65535");
  unsigned value = 0;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return bad("the port is a number from 1 to 65535");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535 || (value == 0 && !allow_any_port))
    return bad("the port is a number from 1 to 65535");
  return {};
}

namespace {

// getaddrinfo's own words for why `address`'s host does not resolve ("" when it does now).
std::string resolve_failure(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found) ::freeaddrinfo(found);
  return rc == 0 ? "" : ::gai_strerror(rc);
}

}  // namespace

struct client::impl {
  std::string address;
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::string identity;
  credential_kind kind = credential_kind::user;  // which bootstrap capability this is
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<rpc_client> rpc;
  kj::Maybe<capnp::Capability::Client> bootstrap;
  kj::Maybe<kj::ForkedPromise<void>> disconnected;

  wire::Coordinator::Client cap() {
    return KJ_ASSERT_NONNULL(bootstrap).castAs<wire::Coordinator>();
  }
  wire::Rendezvous::Client rendezvous() {
    return KJ_ASSERT_NONNULL(bootstrap).castAs<wire::Rendezvous>();
  }

  // While a call waits, a hello (a ping, on a task's Rendezvous) every kKeepaliveMs keeps the
  // coordinator from closing the connection as idle (--idle-timeout-ms): a watch of a quiet job may
  // wait for hours.
  kj::Promise<void> keepalive() {
    return io.provider->getTimer()
        .afterDelay(connection_limits::kKeepaliveMs * kj::MILLISECONDS)
        .then([this] {
          if (kind == credential_kind::task)
            return rendezvous().pingRequest().send().ignoreResult();
          auto req = cap().helloRequest();
          req.setClientVersion(wire::PROTOCOL_VERSION);
          return req.send().ignoreResult();
        })
        .then([this] { return keepalive(); });
  }

  // Waits for `p` unless the connection drops first; exceptions become `unavailable`.
  template <class T>
  result<T> wait(kj::Promise<T>&& p) {
    auto guard = KJ_ASSERT_NONNULL(disconnected).addBranch().then([]() -> T {
      kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "connection to coordinator closed"));
    });
    auto alive = keepalive().eagerlyEvaluate([](kj::Exception&&) {});  // the guard sees drops
    result<T> out = fail(errc::internal, "no result");
    KJ_IF_MAYBE (e, kj::runCatchingExceptions(
                        [&] { out = p.exclusiveJoin(kj::mv(guard)).wait(io.waitScope); })) {
      return fail(errc::unavailable, "coordinator " + address + ": " + e->getDescription().cStr());
    }
    return out;
  }

  // For calls whose answer is itself a result: one level of errors, not two.
  template <class T>
  result<T> call(kj::Promise<result<T>>&& p) {
    auto r = wait(kj::mv(p));
    if (!r) return fail(r.error());
    return std::move(*r);
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::~client() = default;

const std::string& client::address() const {
  return impl_->address;
}

namespace {

// One TLS client context per CA file and process: creating one costs milliseconds.
result<std::shared_ptr<security::tls_client>> tls_for(const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<security::tls_client>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(ca_file); it != cache.end()) return it->second;
  auto tls = security::tls_client::from_ca_file(ca_file);
  if (!tls) return fail(errc::invalid_argument, tls.error().message);
  auto shared = std::make_shared<security::tls_client>(std::move(*tls));
  cache[ca_file] = shared;
  return shared;
}

}  // namespace

result<std::unique_ptr<client>> client::connect(const std::string& address,
                                                const client_credentials& creds,
                                                uint32_t timeout_ms) {
  if (auto ok = check_host_port(address); !ok) return fail(ok.error());
  dial_credentials dc;
  dc.kind = creds.kind;
  std::optional<error> missing;  // reported once the coordinator is known to be reachable
  if (!creds.insecure) {
    if (creds.token.empty()) {
      missing = error{errc::unauthenticated,
                      creds.kind == credential_kind::task
                          ? "no task token: $GANTRY_TASK_TOKEN is set inside a running task only"
                          : "no token: pass --token-file, set GANTRY_TOKEN or run gantry login"};
    } else if (creds.ca_file.empty()) {
      missing = error{errc::unauthenticated,
                      "no CA certificate to check the coordinator with: pass --ca, set GANTRY_CA "
                      "or run gantry login (the coordinator's DATA/tls/ca.crt)"};
    } else {
      auto tls = tls_for(creds.ca_file);
      if (!tls) return fail(tls.error());
      dc.tls = *tls;
      dc.token = creds.token;
      dc.ca_source = creds.ca_source.empty() ? creds.ca_file : creds.ca_source;
    }
  }
  auto p = std::make_unique<impl>();
  p->address = address;
  auto& io = p->io;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
               })) {
    std::string why = resolve_failure(address);
    return fail(errc::unavailable, "cannot resolve the coordinator's host in " + address + ": " +
                                       (why.empty() ? e->getDescription().cStr() : why));
  }
  if (missing) {
    // Unreachable says more than "no token" about a wrong address.
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                   auto addr = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
                   auto timeout = io.provider->getTimer()
                                      .afterDelay(timeout_ms * kj::MILLISECONDS)
                                      .then([]() -> kj::Own<kj::AsyncIoStream> {
                                        kj::throwFatalException(
                                            KJ_EXCEPTION(DISCONNECTED, "connect timed out"));
                                      });
                   addr->connect().exclusiveJoin(kj::mv(timeout)).wait(io.waitScope);
                 })) {
      return fail(errc::unavailable,
                  "cannot reach the coordinator at " + address + ": " + e->getDescription().cStr());
    }
    return fail(*missing);
  }
  result<dialed> d = fail(errc::internal, "no result");
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 d = dial(*io.provider, address, dc, timeout_ms * kj::MILLISECONDS)
                         .wait(io.waitScope);
               })) {
    return fail(errc::unavailable,
                "cannot reach the coordinator at " + address + ": " + e->getDescription().cStr());
  }
  if (!d) return fail(d.error());
  p->identity = d->identity;
  p->kind = creds.kind;
  p->stream = kj::mv(d->stream);
  p->rpc = kj::heap<rpc_client>(*p->stream, kClientMaxMessageBytes);
  p->bootstrap = p->rpc->bootstrap();
  p->disconnected = p->rpc->onDisconnect().fork();
  return std::unique_ptr<client>(new client(std::move(p)));
}

client_credentials task_credentials_from_env() {
  client_credentials c;
  c.kind = credential_kind::task;
  const char* token = std::getenv("GANTRY_TASK_TOKEN");
  const char* ca = std::getenv("GANTRY_CA");
  if ((!token || !*token) && (!ca || !*ca)) {
    c.insecure = true;
    return c;
  }
  c.token = token ? token : "";
  c.ca_file = ca ? ca : "";
  c.ca_source = "$GANTRY_CA";
  return c;
}

const std::string& client::identity_text() const {
  return impl_->identity;
}

namespace {

result<submit_reply> submit_answer(capnp::Response<wire::Coordinator::SubmitResults>&& resp) {
  submit_reply out;
  for (auto e : resp.getErrors()) out.errors.push_back({e.getPath().cStr(), e.getMessage().cStr()});
  auto st = wc::from_wire(resp.getStatus());
  if (!st && out.errors.empty()) return fail(st.error());
  out.job_id = resp.getJobId().cStr();
  return out;
}

}  // namespace

result<submit_reply> client::submit(const std::string& manifest_text,
                                    const std::string& source_name, bool allow_unschedulable) {
  auto req = impl_->cap().submitRequest();
  req.setManifest(manifest_text);
  req.setSourceName(source_name);
  req.setAllowUnschedulable(allow_unschedulable);
  return impl_->call(req.send().then([](auto resp) { return submit_answer(kj::mv(resp)); }));
}

result<std::vector<result<submit_reply>>> client::submit_many(
    const std::vector<manifest_input>& manifests, bool allow_unschedulable) {
  constexpr size_t kInFlight = 64;
  std::vector<result<submit_reply>> out;
  out.reserve(manifests.size());
  for (size_t first = 0; first < manifests.size(); first += kInFlight) {
    size_t n = std::min(kInFlight, manifests.size() - first);
    auto calls = kj::heapArrayBuilder<kj::Promise<result<submit_reply>>>(n);
    for (size_t i = first; i < first + n; ++i) {
      auto req = impl_->cap().submitRequest();
      req.setManifest(manifests[i].text);
      req.setSourceName(manifests[i].source_name);
      req.setAllowUnschedulable(allow_unschedulable);
      calls.add(req.send().then([](auto resp) { return submit_answer(kj::mv(resp)); }));
    }
    auto answers = impl_->wait(kj::joinPromises(calls.finish()));
    if (!answers) return fail(answers.error());
    for (auto& a : *answers) out.push_back(std::move(a));
  }
  return out;
}

result<std::vector<job_summary>> client::list_jobs(const job_filter& filter) {
  auto req = impl_->cap().listJobsRequest();
  if (filter.state) req.setState(to_string(*filter.state));
  req.setName(filter.name);
  req.setLimit(filter.limit);
  return impl_->wait(req.send().then([filter](auto resp) {
    std::vector<job_summary> out;
    for (auto j : resp.getJobs()) out.push_back(wc::from_wire(j));
    return select_jobs(std::move(out), filter);
  }));
}

result<job_record> client::describe(const std::string& job_id) {
  auto req = impl_->cap().describeJobRequest();
  req.setJobId(job_id);
  return impl_->call(req.send().then([](auto resp) -> result<job_record> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    return wc::from_wire(resp.getJob());
  }));
}

result<std::vector<node_status>> client::list_nodes() {
  return impl_->wait(impl_->cap().listNodesRequest().send().then([](auto resp) {
    std::vector<node_status> out;
    for (auto n : resp.getNodes()) out.push_back(wc::from_wire(n));
    return out;
  }));
}

result<void> client::cancel(const std::string& job_id) {
  auto req = impl_->cap().cancelRequest();
  req.setJobId(job_id);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

namespace {

// Receives events; resolves `done` at the job's terminal event.
class watcher_impl final : public wire::JobWatcher::Server {
 public:
  watcher_impl(const std::function<void(const job_event&)>& on_event,
               kj::Own<kj::PromiseFulfiller<job_state>> done)
      : on_event_(on_event), done_(kj::mv(done)) {}

 protected:
  kj::Promise<void> events(EventsContext context) override {
    for (auto e : context.getParams().getEvents()) {
      job_event ev = wc::from_wire(e);
      on_event_(ev);
      if (ev.kind == event_kind::job) {
        auto st = parse_job_state(ev.state);
        if (st && is_terminal(*st) && done_->isWaiting()) done_->fulfill(job_state(*st));
      }
    }
    return kj::READY_NOW;
  }

 private:
  const std::function<void(const job_event&)>& on_event_;
  kj::Own<kj::PromiseFulfiller<job_state>> done_;
};

}  // namespace

result<job_state> client::watch(const std::string& job_id, uint64_t from_seq,
                                const std::function<void(const job_event&)>& on_event,
                                uint32_t timeout_ms) {
  auto paf = kj::newPromiseAndFulfiller<job_state>();
  auto req = impl_->cap().watchRequest();
  req.setJobId(job_id);
  req.setFromSeq(from_seq);
  req.setWatcher(kj::heap<watcher_impl>(on_event, kj::mv(paf.fulfiller)));
  // Keep the subscription alive while waiting; dropping it ends the watch.
  struct started {
    wire::Subscription::Client subscription;
    job_state state;
    uint64_t last_seq;
  };
  auto sub = impl_->call(req.send().then([](auto resp) -> result<started> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    return started{resp.getSubscription(),
                   parse_job_state(resp.getState().cStr()).value_or(job_state::pending),
                   resp.getLastSeq()};
  }));
  if (!sub) return fail(sub.error());
  // Nothing at or after from_seq will ever come for a finished job.
  if (is_terminal(sub->state) && sub->last_seq < from_seq) return sub->state;
  if (timeout_ms == 0) return impl_->wait(kj::mv(paf.promise));
  auto ended = paf.promise.then([](job_state s) -> result<job_state> { return s; });
  auto timeout = impl_->io.provider->getTimer()
                     .afterDelay(timeout_ms * kj::MILLISECONDS)
                     .then([job_id, timeout_ms]() -> result<job_state> {
                       return fail(errc::timeout, "job " + job_id + " has not ended after " +
                                                      std::to_string(timeout_ms) + " ms");
                     });
  return impl_->call(ended.exclusiveJoin(kj::mv(timeout)));
}

result<log_chunk> client::read_logs(const std::string& job_id, const std::string& stage,
                                    int32_t rank, uint64_t offset, uint32_t max_bytes,
                                    int32_t attempt) {
  auto req = impl_->cap().readLogsRequest();
  req.setJobId(job_id);
  req.setStage(stage);
  req.setRank(rank);
  req.setAttempt(attempt);
  req.setOffset(offset);
  req.setMaxBytes(max_bytes);
  return impl_->call(req.send().then([](auto resp) { return wc::log_from_wire(resp); }));
}

result<node_status> client::wait_node(const std::string& name, const std::string& state,
                                      uint32_t timeout_ms) {
  auto req = impl_->cap().waitNodeRequest();
  req.setName(name);
  req.setState(state);
  req.setTimeoutMs(timeout_ms);
  return impl_->call(req.send().then([](auto resp) -> result<node_status> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    return wc::from_wire(resp.getNode());
  }));
}

result<void> client::set_node_state(const std::string& name, node_action action) {
  auto req = impl_->cap().setNodeStateRequest();
  req.setName(name);
  req.setAction(action == node_action::cordon     ? wire::Coordinator::NodeAction::CORDON
                : action == node_action::uncordon ? wire::Coordinator::NodeAction::UNCORDON
                                                  : wire::Coordinator::NodeAction::DRAIN);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

namespace {
void set_scope(wire::RendezvousScope::Builder b, const rendezvous_scope& s) {
  b.setJobId(s.job_id);
  b.setStage(s.stage);
  b.setAttempt(s.attempt);
}
}  // namespace

result<void> client::rendezvous_put(const rendezvous_scope& scope, const std::string& key,
                                    const std::string& value) {
  auto req = impl_->rendezvous().putRequest();
  set_scope(req.initScope(), scope);
  req.setKey(key);
  req.setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

result<std::string> client::rendezvous_get(const rendezvous_scope& scope, const std::string& key,
                                           uint32_t timeout_ms) {
  auto req = impl_->rendezvous().getRequest();
  set_scope(req.initScope(), scope);
  req.setKey(key);
  req.setTimeoutMs(timeout_ms);
  return impl_->call(req.send().then([](auto resp) -> result<std::string> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    auto v = resp.getValue();
    return std::string(reinterpret_cast<const char*>(v.begin()), v.size());
  }));
}

result<void> client::remove_node(const std::string& name) {
  auto req = impl_->cap().removeNodeRequest();
  req.setName(name);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

result<std::string> client::create_token(const std::string& user, const std::string& role,
                                         int64_t ttl_ms) {
  auto req = impl_->cap().createTokenRequest();
  req.setUser(user);
  req.setRole(role);
  req.setTtlMs(ttl_ms);
  return impl_->call(req.send().then([](auto resp) -> result<std::string> {
    auto st = wc::from_wire(resp.getStatus());
    if (!st) return fail(st.error());
    return std::string(resp.getToken().cStr());
  }));
}

result<std::vector<token_info>> client::list_tokens() {
  return impl_->call(impl_->cap().listTokensRequest().send().then(
      [](auto resp) -> result<std::vector<token_info>> {
        auto st = wc::from_wire(resp.getStatus());
        if (!st) return fail(st.error());
        std::vector<token_info> out;
        for (auto t : resp.getTokens()) out.push_back(wc::from_wire(t));
        return out;
      }));
}

result<void> client::revoke_token(const std::string& id) {
  auto req = impl_->cap().revokeTokenRequest();
  req.setId(id);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

result<void> client::set_queue(const queue_change& change) {
  auto req = impl_->cap().setQueueRequest();
  req.setName(change.name);
  req.setCreate(change.create);
  if (change.guarantee) req.setGuarantee(*change.guarantee);
  if (change.limit) req.setLimit(*change.limit);
  if (change.weight) req.setWeight(*change.weight);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

result<void> client::delete_queue(const std::string& name) {
  auto req = impl_->cap().deleteQueueRequest();
  req.setName(name);
  return impl_->call(req.send().then([](auto resp) { return wc::from_wire(resp.getStatus()); }));
}

result<std::vector<queue_info>> client::list_queues() {
  return impl_->call(impl_->cap().listQueuesRequest().send().then(
      [](auto resp) -> result<std::vector<queue_info>> {
        auto st = wc::from_wire(resp.getStatus());
        if (!st) return fail(st.error());
        std::vector<queue_info> out;
        for (auto q : resp.getQueues()) out.push_back(wc::from_wire(q));
        return out;
      }));
}

result<caller> client::whoami() {
  return impl_->wait(impl_->cap().whoamiRequest().send().then([](auto resp) {
    caller c;
    c.user = resp.getUser().cStr();
    c.role =
        std::string_view(resp.getRole().cStr()) == "admin" ? caller_role::admin : caller_role::user;
    return c;
  }));
}

void client::pause(uint32_t ms) {
  impl_->io.provider->getTimer().afterDelay(ms * kj::MILLISECONDS).wait(impl_->io.waitScope);
}

}  // namespace gantry
