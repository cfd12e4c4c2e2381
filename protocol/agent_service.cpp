#include "protocol/agent_service.hpp"

#include <algorithm>

#include "protocol/convert.hpp"
#include "protocol/kj_bridge.hpp"

namespace gantry {
namespace wc = wire_convert;

kj::Promise<void> agent_service::launch(LaunchContext context) {
  auto b = to_promise<int64_t>();
  agent_.launch(wc::from_wire(context.getParams().getTask()), std::move(b.fn));
  return b.promise.then([context](result<int64_t> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setPid(*r);
  });
}

kj::Promise<void> agent_service::kill(KillContext context) {
  auto p = context.getParams();
  auto b = to_promise<void>();
  agent_.kill(std::string(p.getTaskId().cStr()), p.getGraceMs(), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> agent_service::readLog(ReadLogContext context) {
  auto p = context.getParams();
  auto b = to_promise<log_chunk>();
  agent_.read_log(std::string(p.getTaskId().cStr()), p.getOffset(),
                  std::min(p.getMaxBytes(), kMaxLogChunk), std::move(b.fn));
  return b.promise.then(
      [context](result<log_chunk> r) mutable { wc::set_log(context.getResults(), r); });
}

kj::Promise<void> agent_service::signal(SignalContext context) {
  auto p = context.getParams();
  auto b = to_promise<void>();
  agent_.signal(std::string(p.getTaskId().cStr()), p.getSignal(), std::move(b.fn));
  return b.promise.then(
      [context](result<void> r) mutable { wc::set_status(context.getResults(), r); });
}

kj::Promise<void> agent_service::reservePort(ReservePortContext context) {
  auto b = to_promise<uint16_t>();
  agent_.reserve_port(std::move(b.fn));
  return b.promise.then([context](result<uint16_t> r) mutable {
    auto results = context.getResults();
    if (!r) return wc::to_wire(results.initStatus(), r.error());
    wc::set_ok(results.initStatus());
    results.setPort(*r);
  });
}

}  // namespace gantry
