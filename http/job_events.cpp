#include "http/job_events.hpp"

#include <deque>
#include <optional>

#include "cli/output.hpp"
#include "protocol/kj_bridge.hpp"

namespace gantry::http {
namespace {

// Events the subscription delivered that the writer has not written yet. KJ thread only.
struct feed {
  std::deque<job_event> queue;
  kj::Own<kj::PromiseFulfiller<void>> waiter;  // set while the writer waits for events

  void add(std::vector<job_event> events) {
    for (auto& e : events) queue.push_back(std::move(e));
    if (waiter.get() != nullptr) {
      waiter->fulfill();
      waiter = nullptr;
    }
  }
  // Resolves once the queue holds an event.
  kj::Promise<void> next() {
    if (!queue.empty()) return kj::READY_NOW;
    auto paf = kj::newPromiseAndFulfiller<void>();
    waiter = kj::mv(paf.fulfiller);
    return kj::mv(paf.promise);
  }
};

// The subscription's end on the job actor's thread: posts events to the stream's KJ thread.
// Closed once the stream is gone, so the job drops it.
class sse_sink final : public event_sink {
 public:
  sse_sink(std::shared_ptr<kj_mailbox> mailbox, std::shared_ptr<feed> f)
      : mailbox_(std::move(mailbox)), feed_(std::move(f)) {}
  void push(std::vector<job_event> events) override {
    mailbox_->post(
        [f = feed_, events = std::move(events)]() mutable { f->add(std::move(events)); });
  }
  bool closed() const override { return mailbox_->closed(); }

 private:
  std::shared_ptr<kj_mailbox> mailbox_;
  std::shared_ptr<feed> feed_;
};

// One stream, owned by its response on the KJ thread; destroying it releases the subscription.
struct stream_state {
  explicit stream_state(std::shared_ptr<coordinator_metrics> m)
      : mailbox(std::make_shared<kj_mailbox>()),
        events(std::make_shared<feed>()),
        pump(mailbox->run().eagerlyEvaluate(nullptr)),
        metrics(std::move(m)) {
    if (metrics) ++metrics->event_streams;
  }
  ~stream_state() {
    events->waiter = nullptr;
    mailbox->close();
    if (metrics) --metrics->event_streams;
  }
  stream_state(const stream_state&) = delete;
  stream_state& operator=(const stream_state&) = delete;

  std::shared_ptr<kj_mailbox> mailbox;
  std::shared_ptr<feed> events;
  kj::Promise<void> pump;
  std::shared_ptr<coordinator_metrics> metrics;
  uint64_t next_seq = 1;  // the first seq not written yet
  watch_reply reply;      // the job when the subscription started
};

kj::Promise<void> write_text(kj::AsyncOutputStream& out, std::string text) {
  auto owned = kj::heap<std::string>(std::move(text));
  auto written = out.write(owned->data(), owned->size());
  return written.attach(kj::mv(owned));
}

// Writes what is queued; ends after the job's last event, else waits for more (or a ping).
kj::Promise<void> write_events(std::shared_ptr<stream_state> st, kj::AsyncOutputStream& out,
                               kj::Timer& timer) {
  std::string text;
  std::optional<std::string> end_state;
  auto& queue = st->events->queue;
  while (!queue.empty()) {
    job_event e = std::move(queue.front());
    queue.pop_front();
    if (e.seq < st->next_seq) continue;  // sent already
    st->next_seq = e.seq + 1;
    text += "id: " + std::to_string(e.seq) + "\ndata: " + cli::event_json(e).dump() + "\n\n";
    auto state = parse_job_state(e.state);
    if (e.kind == event_kind::job && state && is_terminal(*state)) end_state = e.state;
  }
  if (!end_state && is_terminal(st->reply.state) && st->next_seq > st->reply.last_seq)
    end_state = to_string(st->reply.state);
  if (end_state) {
    text += "event: end\ndata: " + nlohmann::json{{"state", *end_state}}.dump() + "\n\n";
    return write_text(out, std::move(text));
  }
  auto written = text.empty() ? kj::Promise<void>(kj::READY_NOW) : write_text(out, std::move(text));
  return written.then([st, &out, &timer]() mutable {
    auto more = st->events->next().then([] { return true; });
    auto quiet = timer.afterDelay(kSsePingMs * kj::MILLISECONDS).then([] { return false; });
    return more.exclusiveJoin(kj::mv(quiet)).then([st, &out, &timer](bool got) mutable {
      auto ping = got ? kj::Promise<void>(kj::READY_NOW) : write_text(out, ": ping\n\n");
      return ping.then([st, &out, &timer]() mutable { return write_events(st, out, timer); });
    });
  });
}

}  // namespace

handler job_events_handler(coordinator_backend& backend,
                           std::shared_ptr<coordinator_metrics> metrics) {
  return [&backend, metrics](request req) -> kj::Promise<response> {
    std::string id = req.params["id"];
    std::string last = req.last_event_id;
    if (auto it = req.query.find("last_event_id"); last.empty() && it != req.query.end())
      last = it->second;
    uint64_t from = 1;
    if (!last.empty()) {
      if (last.size() > 19 || last.find_first_not_of("0123456789") != std::string::npos)
        return error_response(400, "Last-Event-ID " + last + ": expected an event's id (a number)");
      from = std::stoull(last) + 1;
    }
    auto st = std::make_shared<stream_state>(metrics);
    st->next_seq = from;
    auto b = to_promise<watch_reply>();
    backend.watch(req.who, id, from, std::make_shared<sse_sink>(st->mailbox, st->events),
                  std::move(b.fn));
    return b.promise.then([st, id](result<watch_reply> r) {
      if (!r) return error_response(r.error());
      st->reply = *r;
      response out{200, "text/event-stream; charset=utf-8", ""};
      out.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
      out.stream = [st, id](kj::AsyncOutputStream& o, kj::Timer& timer) {
        // The first write sends the head at once; a client gone away ends the stream.
        return write_text(o, ": events of job " + id + "\n\n")
            .then([st, &o, &timer] { return write_events(st, o, timer); })
            .exclusiveJoin(o.whenWriteDisconnected());
      };
      return out;
    });
  };
}

}  // namespace gantry::http
