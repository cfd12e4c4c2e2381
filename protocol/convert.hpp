#pragma once
// Conversions between core types and the generated Cap'n Proto types. Generated types stay
// inside protocol/; everything above it sees core types only.
#include "core/coordinator_api.hpp"
#include "core/records.hpp"
#include "core/result.hpp"
#include "protocol/gantry.capnp.h"

namespace gantry::wire_convert {

void to_wire(wire::Status::Builder b, const error& e);
void set_ok(wire::Status::Builder b);
// ok -> {}; anything else -> the error it carries.
result<void> from_wire(wire::Status::Reader r);
errc to_errc(wire::Status::Code c);
wire::Status::Code to_code(errc c);

void to_wire(wire::Inventory::Builder b, const node_inventory& inv);
node_inventory from_wire(wire::Inventory::Reader r);

void to_wire(wire::TaskSpec::Builder b, const task_spec& t);
task_spec from_wire(wire::TaskSpec::Reader r);

void to_wire(wire::TaskUsage::Builder b, const task_usage& u);
task_usage from_wire(wire::TaskUsage::Reader r);

void to_wire(wire::TaskReport::Builder b, const task_report& t);
task_report from_wire(wire::TaskReport::Reader r);

void to_wire(wire::JobEvent::Builder b, const job_event& e);
job_event from_wire(wire::JobEvent::Reader r);

void to_wire(wire::JobSummary::Builder b, const job_summary& s);
job_summary from_wire(wire::JobSummary::Reader r);

// The detail carries the summary, every stage with its device and `after`, and every rank.
void to_wire(wire::JobDetail::Builder b, const job_record& job);
job_record from_wire(wire::JobDetail::Reader r);

void to_wire(wire::NodeInfo::Builder b, const node_status& n);
node_status from_wire(wire::NodeInfo::Reader r);

void to_wire(wire::TokenInfo::Builder b, const token_info& t);
token_info from_wire(wire::TokenInfo::Reader r);
void to_wire(wire::QueueInfo::Builder b, const queue_info& q);
queue_info from_wire(wire::QueueInfo::Reader r);

// Fills a results struct that has `status` (and, for a log slice, data/nextOffset/finished).
template <class Results>
void set_status(Results results, const result<void>& r) {
  if (r)
    set_ok(results.initStatus());
  else
    to_wire(results.initStatus(), r.error());
}

template <class Results>
void set_log(Results results, const result<log_chunk>& r) {
  if (!r) return to_wire(results.initStatus(), r.error());
  set_ok(results.initStatus());
  results.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r->data.data()), r->data.size()));
  results.setNextOffset(r->next_offset);
  results.setFinished(r->finished);
}

// A log slice from a response with status, data, nextOffset and finished.
template <class Response>
result<log_chunk> log_from_wire(const Response& resp) {
  auto st = from_wire(resp.getStatus());
  if (!st) return fail(st.error());
  auto d = resp.getData();
  return log_chunk{std::string(reinterpret_cast<const char*>(d.begin()), d.size()),
                   resp.getNextOffset(), resp.getFinished()};
}

}  // namespace gantry::wire_convert
