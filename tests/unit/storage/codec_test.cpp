// JSON codec: every record round-trips, enums are names, bad input is an error value.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "samples.hpp"
#include "storage/codec.hpp"

using namespace gantry;
using namespace gantry::testing;

namespace {

template <class T, class Decode>
void check_round_trip(const T& value, Decode decode) {
  const std::string text = encode(value);
  auto back = decode(text);
  REQUIRE_MESSAGE(back.has_value(), back.error().message);
  CHECK(*back == value);
  CHECK(encode(*back) == text);  // stable: encoding is deterministic
}

}  // namespace

TEST_CASE("codec: a running job record with several stages and ranks round-trips") {
  job_record job = sample_job(42);
  job.reason = "rank 3 of train lost on gpu-b";
  job.finished_ms = 1'700'000'999'000;
  job.stages[1].ranks[3].state = rank_state::failed;
  job.stages[1].ranks[3].exit_code = 137;
  job.stages[1].ranks[3].reason = "killed by signal 9";
  REQUIRE(job.stages.size() == 3);
  REQUIRE(job.stages[1].ranks.size() == 4);
  check_round_trip(job, decode_job_record);

  const auto j = nlohmann::json::parse(encode(job));
  CHECK(j["state"] == "running");
  CHECK(j["stages"][1]["state"] == "running");
  CHECK(j["stages"][1]["ranks"][3]["state"] == "failed");
  CHECK(j["spec"]["stages"][1]["device"] == "gpu");
  CHECK(j["spec"]["stages"][1]["collective"] == "nccl");
  CHECK(j["spec"]["stages"][2]["placement"] == "spread");
  CHECK(j["spec"]["stages"][1]["checkpoint"]["dir"] == "/shared/ckpt/recsys");
  CHECK_FALSE(j["spec"]["stages"][0].contains("checkpoint"));  // absent optional: no key
}

TEST_CASE("codec: a fresh job record, the empty spec and every enum value round-trip") {
  check_round_trip(make_job_record("j-000001", sample_spec(), 1, 5), decode_job_record);
  job_record minimal;
  minimal.id = "j-000002";
  check_round_trip(minimal, decode_job_record);
  for (auto s : {job_state::pending, job_state::running, job_state::succeeded, job_state::failed,
                 job_state::cancelled}) {
    job_record r = minimal;
    r.state = s;
    r.stages.emplace_back().name = "s";
    r.stages[0].state = stage_state::cancelled;
    r.stages[0].ranks.emplace_back().state = rank_state::starting;
    check_round_trip(r, decode_job_record);
  }
  job_record big = minimal;
  big.submit_seq = UINT64_MAX;
  big.submitted_ms = INT64_MIN;
  check_round_trip(big, decode_job_record);
}

TEST_CASE("codec: job spec, event, node and task round-trip") {
  check_round_trip(sample_spec(), decode_job_spec);
  for (auto kind : {event_kind::job, event_kind::stage, event_kind::rank}) {
    job_event e = sample_event("j-000007", 3);
    e.kind = kind;
    e.exit_code = 143;
    check_round_trip(e, decode_job_event);
  }
  CHECK(nlohmann::json::parse(encode(sample_event("j-1", 1)))["kind"] == "rank");
  check_round_trip(sample_node("gpu-a"), decode_node_record);
  node_record bare;
  bare.inventory.name = "n";
  check_round_trip(bare, decode_node_record);

  task_spec t;
  t.task_id = make_task_id("j-000007", "train", 2, 1);
  t.job_id = "j-000007";
  t.stage = "train";
  t.rank = 2;
  t.attempt = 1;
  t.command = {"python", "-c", "print('hi')"};
  t.env = {{"B", "2"}, {"A", "1"}, {"A", "again"}};  // order and duplicates kept
  t.gpus = {0, 3};
  t.checkpoint_dir = "/ckpt";
  t.memory_bytes = int64_t{1} << 30;
  t.owner = "alice";
  t.time_limit_ms = 60'000;
  check_round_trip(t, decode_task_spec);
}

TEST_CASE("codec: any JSON reader sees the field names, in field-list order, and enum names") {
  const job_record job = sample_job(3);
  const std::string text = encode(job);
  const auto j = nlohmann::json::parse(text);
  CHECK(j["id"] == job.id);
  CHECK(j["state"] == "running");
  CHECK(j["last_event_seq"] == job.last_event_seq);
  CHECK(j["stages"].size() == job.stages.size());
  CHECK(j["stages"][0]["state"] == "succeeded");
  CHECK(text.find("\"id\"") < text.find("\"state\""));  // written in order, not sorted
  CHECK(text.find("\"stages\"") < text.find("\"spec\""));
  const auto n = nlohmann::json::parse(encode(sample_node("x")));
  CHECK(n["inventory"]["name"] == "x");
  CHECK(n["inventory"]["gpus"][1]["simulated"] == true);
  CHECK(n["inventory"]["labels"]["rack"] == "r12");
  CHECK(n["cordoned"] == true);
}

TEST_CASE("codec: missing keys keep their defaults") {
  auto job = decode_job_record(R"({"id":"j-000009"})");
  REQUIRE(job.has_value());
  CHECK(job->id == "j-000009");
  CHECK(job->state == job_state::pending);
  CHECK(job->stages.empty());
  auto rank = decode_job_record(R"({"id":"j","stages":[{"name":"s","ranks":[{"rank":2}]}]})");
  REQUIRE(rank.has_value());
  CHECK(rank->stages[0].ranks[0].exit_code == -1);
  CHECK(rank->stages[0].checkpoint_step == -1);
  auto spec = decode_job_spec(R"({"name":"n","stages":[{"name":"a","checkpoint":null}]})");
  REQUIRE(spec.has_value());
  CHECK(spec->stages[0].replicas == 1);
  CHECK_FALSE(spec->stages[0].checkpoint.has_value());
  // A stage stored before checkpoints had a signal: none, and the coordinator's grace.
  auto older = decode_job_spec(R"({"name":"n","stages":[{"name":"a","checkpoint":{"dir":"/c"}}]})");
  REQUIRE(older.has_value());
  REQUIRE(older->stages[0].checkpoint.has_value());
  CHECK(older->stages[0].checkpoint->signal.empty());
  CHECK(older->stages[0].checkpoint->grace_ms == 0);
}

TEST_CASE("codec: garbage decodes to an error naming what is wrong, never an exception") {
  const char* garbage[] = {"",
                           "garbage",
                           "{",
                           "[1,2,3]",
                           "null",
                           "42",
                           "\"j-1\"",
                           "{\"id\":\"j-1\",\"stages\":[{\"name\":\"a\",",
                           "\xff\xfe\x00\x01",
                           "{\"id\":\"j-1\"} trailing"};
  for (const char* g : garbage) {
    CAPTURE(g);
    auto job = decode_job_record(g);
    REQUIRE_FALSE(job.has_value());
    CHECK(job.error().code == errc::invalid_argument);
    CHECK(job.error().message.starts_with("job_record"));
    CHECK_FALSE(decode_job_event(g).has_value());
    CHECK_FALSE(decode_node_record(g).has_value());
    CHECK_FALSE(decode_job_spec(g).has_value());
    CHECK_FALSE(decode_task_spec(g).has_value());
  }

  auto bad_state = decode_job_record(
      R"({"id":"j-1","stages":[{"name":"a"},{"name":"b","ranks":[{},{"state":"dancing"}]}]})");
  REQUIRE_FALSE(bad_state.has_value());
  CHECK(bad_state.error().message ==
        "job_record stages[1].ranks[1].state: unknown rank state "
        "'dancing'");

  auto bad_type = decode_job_spec(R"({"name":"n","stages":[{"name":"a","replicas":"two"}]})");
  REQUIRE_FALSE(bad_type.has_value());
  CHECK(bad_type.error().message.starts_with(
      "job_spec stages[0].replicas: expected an integer, got a string at offset"));

  auto no_id = decode_job_record(R"({"state":"running"})");
  REQUIRE_FALSE(no_id.has_value());
  CHECK(no_id.error().message == "job_record id: missing or empty");

  CHECK_FALSE(decode_node_record(R"({"cordoned":true})").has_value());
  CHECK_FALSE(decode_job_event(R"({"job_id":"j-1","kind":"galaxy"})").has_value());
  CHECK_FALSE(decode_job_spec(R"({"stages":{"name":"a"}})").has_value());
  CHECK_FALSE(decode_job_spec(R"({"stages":[{"env":{"A":1}}]})").has_value());
}

TEST_CASE("codec: invalid UTF-8 in a message is replaced, not thrown") {
  job_event e = sample_event("j-000001", 1);
  e.message = "exit output: \xff\xfe bytes";
  std::string text;
  CHECK_NOTHROW(text = encode(e));
  auto back = decode_job_event(text);
  REQUIRE(back.has_value());
  CHECK(back->message == "exit output: \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}
