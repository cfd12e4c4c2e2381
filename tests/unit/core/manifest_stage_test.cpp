// Manifest rules for a stage's own fields and for references between stages.
#include <doctest/doctest.h>

#include <csignal>

#include "core/manifest.hpp"
#include "manifest_check.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

// A job with one stage `s` that has `fields` (flow style) besides its name and command.
std::string one_stage(std::string_view fields) {
  return "name: j\nstages:\n  - {name: s, command: [run], " + std::string(fields) + "}\n";
}

stage_spec parsed_stage(std::string_view fields) {
  auto r = parse_manifest(one_stage(fields));
  std::string why = r ? "" : to_string(r.error());
  INFO(why);
  REQUIRE(r.has_value());
  return r->stages.at(0);
}

// A job whose stages are given as flow maps, one per line, each missing only `command`.
std::string stages(std::initializer_list<std::string_view> maps) {
  std::string out = "name: j\nstages:\n";
  for (auto m : maps) out += "  - {command: [run], " + std::string(m) + "}\n";
  return out;
}

}  // namespace

TEST_CASE("stage names follow the job name rules and are unique") {
  CHECK(errors("name: j\nstages:\n  - {command: [run]}\n") == "stages[0].name: required");
  CHECK(errors(stages({"name: Train"})) ==
        "stages[0].name: expected lowercase letters, digits or '-', starting with a letter or "
        "digit, got \"Train\"");
  CHECK(errors(stages({"name: a", "name: b", "name: a"})) ==
        "stages[2].name: duplicate stage name \"a\" (also stages[0])");
}

TEST_CASE("device is cpu, gpu or dpu") {
  CHECK(parsed_stage("device: cpu").device == device_kind::cpu);
  CHECK(errors(one_stage("device: tpu")) ==
        "stages[0].device: expected cpu, gpu or dpu, got \"tpu\"");
  CHECK(errors(one_stage("device: GPU")) ==
        "stages[0].device: expected cpu, gpu or dpu, got \"GPU\"");
  CHECK(errors(one_stage("device: [cpu]")) ==
        "stages[0].device: expected cpu, gpu or dpu, got a list");
}

TEST_CASE("replicas is an integer from 1 to 10000") {
  CHECK(parsed_stage("replicas: 10000").replicas == 10000);
  CHECK(errors(one_stage("replicas: two")) ==
        "stages[0].replicas: expected an integer from 1 to 10000, got \"two\"");
  CHECK(errors(one_stage("replicas: 0")) ==
        "stages[0].replicas: expected an integer from 1 to 10000, got 0");
  CHECK(errors(one_stage("replicas: 10001")) ==
        "stages[0].replicas: expected an integer from 1 to 10000, got 10001");
  CHECK(errors(one_stage("replicas: 2.0")) ==
        "stages[0].replicas: expected an integer from 1 to 10000, got 2.0");
  CHECK(errors(one_stage("replicas: 0x10")) ==
        "stages[0].replicas: expected an integer from 1 to 10000, got \"0x10\"");
}

TEST_CASE("command is a required non-empty list of strings") {
  CHECK(parsed_stage("env: {}").command == std::vector<std::string>{"run"});
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [sleep, 5, true]}\n") == "valid");
  CHECK(errors("name: j\nstages:\n  - {name: s}\n") == "stages[0].command: required");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: []}\n") ==
        "stages[0].command: expected a list with at least the program to run");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: echo hi}\n") ==
        "stages[0].command: expected a list of strings like [\"prog\", \"--flag\"], got \"echo "
        "hi\"");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [x, {a: 1}, y]}\n") ==
        "stages[0].command[1]: expected a string, got a map");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [\"\", y]}\n") ==
        "stages[0].command[0]: the program name must not be empty");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [x, \"a\\0b\"]}\n") ==
        "stages[0].command[1]: must not contain a NUL character");
}

TEST_CASE("env maps variable names to scalars, and GANTRY_ is reserved") {
  stage_spec s = parsed_stage("env: {A: 1, B: true, C: 1.50, D: \"x y\", lower_1: ''}");
  CHECK(s.env == std::map<std::string, std::string>{
                     {"A", "1"}, {"B", "true"}, {"C", "1.50"}, {"D", "x y"}, {"lower_1", ""}});
  CHECK(errors(one_stage("env: {GANTRY_RANK: 3}")) ==
        "stages[0].env.GANTRY_RANK: names starting with GANTRY_ are reserved for variables "
        "gantry sets (except GANTRY_FLEET_SECONDS, for simulated workers)");
  CHECK(errors(one_stage("env: {GANTRY_FLEET_SECONDS: 2}")) == "valid");
  CHECK(errors(one_stage("env: {1X: a}")) ==
        "stages[0].env.1X: expected a variable name of letters, digits and '_', not starting "
        "with a digit");
  CHECK(errors(one_stage("env: {\"A B\": a}")) ==
        "stages[0].env[\"A B\"]: expected a variable name of letters, digits and '_', not "
        "starting with a digit");
  CHECK(errors(one_stage("env: {A: {b: c}}")) ==
        "stages[0].env.A: expected a string, number or bool, got a map");
  CHECK(errors(one_stage("env: {A: }")) ==
        "stages[0].env.A: expected a string, number or bool, got null");
  CHECK(errors(one_stage("env: [A]")) ==
        "stages[0].env: expected a map of variable names to values, got a list");
}

TEST_CASE("after names other stages of the job") {
  auto r = parse_manifest(stages({"name: a", "name: b, after: [a]", "name: c, after: [a, b]"}));
  REQUIRE(r.has_value());
  CHECK(r->stages[2].after == std::vector<std::string>{"a", "b"});
  CHECK(errors(stages({"name: prepare", "name: train, after: [prepair]"})) ==
        "stages[1].after[0]: unknown stage \"prepair\" (did you mean prepare?)");
  CHECK(errors(stages({"name: a", "name: b, after: [a, b]"})) ==
        "stages[1].after[1]: a stage cannot run after itself");
  CHECK(errors(stages({"name: a", "name: b, after: [a, a]"})) ==
        "stages[1].after[1]: \"a\" is listed twice");
  CHECK(errors(stages({"name: a", "name: b, after: a"})) ==
        "stages[1].after: expected a list of stage names like [prepare], got \"a\"");
  CHECK(errors(stages({"name: a", "name: b, after: [[a]]"})) ==
        "stages[1].after[0]: expected a stage name, got a list");
}

TEST_CASE("cycles in after are reported once, naming the stages in the cycle") {
  // a waits for c, b for a, c for b.
  CHECK(errors(stages({"name: a, after: [b]", "name: b, after: [c]", "name: c, after: [a]"})) ==
        "stages[2].after: cycle a -> b -> c -> a");
  CHECK(errors(stages({"name: a, after: [b]", "name: b, after: [a]"})) ==
        "stages[1].after: cycle a -> b -> a");
  // A cycle away from the first stage, and a stage that merely waits for the cycle.
  CHECK(errors(stages({"name: x", "name: p, after: [q, x]", "name: q, after: [p]",
                       "name: r, after: [p]"})) == "stages[2].after: cycle p -> q -> p");
  // Two separate cycles give two errors.
  CHECK(errors(stages({"name: a, after: [b]", "name: b, after: [a]", "name: c, after: [d]",
                       "name: d, after: [c]"})) ==
        "stages[1].after: cycle a -> b -> a\nstages[3].after: cycle c -> d -> c");
  // A diamond is not a cycle.
  CHECK(errors(stages({"name: a", "name: b, after: [a]", "name: c, after: [a]",
                       "name: d, after: [b, c]"})) == "valid");
}

TEST_CASE("collective is nccl or absent, and never on a dpu") {
  CHECK(parsed_stage("collective: nccl").collective == collective_kind::nccl);
  CHECK(errors(one_stage("collective: mpi")) ==
        "stages[0].collective: expected nccl (leave collective out for none), got \"mpi\"");
  CHECK(errors(one_stage("collective: none")) ==
        "stages[0].collective: expected nccl (leave collective out for none), got \"none\"");
  CHECK(errors(one_stage("device: dpu, resources: {dpu: 1}, collective: nccl")) ==
        "stages[0].collective: a collective stage cannot run on device dpu");
}

TEST_CASE("a collective stage takes whole GPUs, never a share") {
  CHECK(errors(one_stage("device: gpu, replicas: 2, collective: nccl, resources: {gpu: 0.5}")) ==
        "stages[0].resources.gpu: stage \"s\" is collective: its ranks need whole GPUs (NCCL "
        "rejects two ranks of one communicator on one GPU), got a share of 0.5");
  CHECK(errors(one_stage("device: gpu, collective: nccl, resources: {gpu: 0.125}"))
            .find("got a share of 0.125") != std::string::npos);
  CHECK(parsed_stage("device: gpu, replicas: 2, collective: nccl, resources: {gpu: 1}")
            .resources.gpu_count == 1);
  CHECK(parsed_stage("device: gpu, replicas: 2, resources: {gpu: 0.5}").resources.gpu_milli == 500);
}

TEST_CASE("placement is pack or spread") {
  CHECK(parsed_stage("placement: pack").placement == placement_pref::pack);
  CHECK(parsed_stage("placement: spread").placement == placement_pref::spread);
  CHECK(errors(one_stage("placement: tight")) ==
        "stages[0].placement: expected pack or spread, got \"tight\"");
}

TEST_CASE("checkpoint needs an absolute dir") {
  stage_spec s = parsed_stage("checkpoint: {dir: /shared/ckpt}");
  REQUIRE(s.checkpoint.has_value());
  CHECK(s.checkpoint->dir == "/shared/ckpt");
  CHECK(errors(one_stage("checkpoint: {}")) == "stages[0].checkpoint.dir: required");
  CHECK(errors(one_stage("checkpoint: {dir: ckpt}")) ==
        "stages[0].checkpoint.dir: expected an absolute path, got \"ckpt\"");
  CHECK(errors(one_stage("checkpoint: /shared/ckpt")) ==
        "stages[0].checkpoint: expected a map like {dir: /shared/ckpt}, got \"/shared/ckpt\"");
  // A missing field is reported where its map starts, before the map's other errors.
  CHECK(errors(one_stage("checkpoint: {dirs: /c}")) ==
        "stages[0].checkpoint.dir: required\n"
        "stages[0].checkpoint.dirs: unknown field (did you mean dir?)");
}

TEST_CASE("checkpoint.signal names a catchable signal, checkpoint.grace a positive duration") {
  stage_spec s = parsed_stage("checkpoint: {dir: /c, signal: SIGUSR1, grace: 30s}");
  REQUIRE(s.checkpoint.has_value());
  CHECK(s.checkpoint->signal == "SIGUSR1");
  CHECK(s.checkpoint->grace_ms == 30000);
  CHECK(parsed_stage("checkpoint: {dir: /c, signal: USR2, grace: 2m}").checkpoint->grace_ms ==
        120000);
  CHECK(parsed_stage("checkpoint: {dir: /c, signal: HUP}").checkpoint->grace_ms == 0);
  CHECK(parsed_stage("checkpoint: {dir: /c}").checkpoint->signal.empty());
  CHECK(signal_number("SIGTERM") == SIGTERM);
  CHECK(signal_number("INT") == SIGINT);
  CHECK(signal_number("SIGKILL") == 0);  // cannot be handled: no use as a request
  CHECK(errors(stages({"name: a", "name: b, checkpoint: {dir: /c, signal: SIGFOO}"})) ==
        "stages[1].checkpoint.signal: unknown signal \"SIGFOO\"; use a name such as SIGUSR1");
  CHECK(errors(one_stage("checkpoint: {dir: /c, signal: sigusr1}")) ==
        "stages[0].checkpoint.signal: unknown signal \"sigusr1\"; use a name such as SIGUSR1");
  CHECK(errors(one_stage("checkpoint: {dir: /c, signal: SIGUSR1, grace: 30}")) ==
        "stages[0].checkpoint.grace: \"30\" is not a duration (expected e.g. 30s, 2m or 500ms)");
  CHECK(errors(one_stage("checkpoint: {dir: /c, signal: SIGUSR1, grace: -1s}")) ==
        "stages[0].checkpoint.grace: \"-1s\" is not a duration (expected e.g. 30s, 2m or 500ms)");
  CHECK(errors(one_stage("checkpoint: {dir: /c, signal: SIGUSR1, grace: 0s}")) ==
        "stages[0].checkpoint.grace: expected a duration above 0, got \"0s\"");
  CHECK(errors(one_stage("checkpoint: {dir: /c, signal: SIGUSR1, grace: 2h}")) ==
        "stages[0].checkpoint.grace: expected a duration above 0 and at most 1h, got 2h");
  CHECK(errors(one_stage("checkpoint: {dir: /c, grace: 30s}")) ==
        "stages[0].checkpoint.grace: is how long a drain waits after the signal; declare a "
        "signal too");
}

TEST_CASE("working_dir is an absolute path") {
  CHECK(parsed_stage("working_dir: /shared/runs/a").working_dir == "/shared/runs/a");
  CHECK(parsed_stage("env: {A: 1}").working_dir.empty());  // default: the task's own dir
  CHECK(errors(one_stage("working_dir: runs/a")) ==
        "stages[0].working_dir: expected an absolute path, got \"runs/a\"");
  CHECK(errors(one_stage("working_dir: ''")) ==
        "stages[0].working_dir: expected an absolute path, got \"\"");
  CHECK(errors(one_stage("working_dir: [/a]")) ==
        "stages[0].working_dir: expected an absolute path, got a list");
  CHECK(errors(one_stage("working_dr: /a")) ==
        "stages[0].working_dr: unknown field (did you mean working_dir?)");
}

TEST_CASE("colocate_with names another existing stage, without loops") {
  CHECK(errors(stages({"name: a", "name: b, colocate_with: a"})) == "valid");
  CHECK(errors(stages({"name: a", "name: b, colocate_with: c"})) ==
        "stages[1].colocate_with: unknown stage \"c\"");
  CHECK(errors(stages({"name: a", "name: b, colocate_with: b"})) ==
        "stages[1].colocate_with: a stage cannot colocate with itself");
  CHECK(errors(stages({"name: a", "name: b, colocate_with: ''"})) ==
        "stages[1].colocate_with: expected a stage name, got \"\"");
  CHECK(errors(stages({"name: a, colocate_with: c", "name: b, colocate_with: a",
                       "name: c, colocate_with: b"})) ==
        "stages[1].colocate_with: cycle a -> c -> b -> a");
}

TEST_CASE("fabric is a libfabric provider name") {
  CHECK(parsed_stage("fabric: tcp").fabric == "tcp");
  CHECK(parsed_stage("fabric: \"verbs;ofi_rxm\"").fabric == "verbs;ofi_rxm");
  CHECK(errors(one_stage("fabric: \"tcp ofi\"")) ==
        "stages[0].fabric: expected a libfabric provider name of letters, digits, '_' and ';' "
        "(e.g. tcp or verbs;ofi_rxm), got \"tcp ofi\"");
  CHECK(errors(one_stage("fabric: ''")) ==
        "stages[0].fabric: expected a libfabric provider name (e.g. tcp or verbs;ofi_rxm), got "
        "\"\"");
}

TEST_CASE("node_selector maps labels to strings") {
  stage_spec s = parsed_stage("node_selector: {zone: a, rack: 7}");
  CHECK(s.node_selector == std::map<std::string, std::string>{{"rack", "7"}, {"zone", "a"}});
  CHECK(errors(one_stage("node_selector: {zone: [a]}")) ==
        "stages[0].node_selector.zone: expected a string, got a list");
  CHECK(errors(one_stage("node_selector: zone")) ==
        "stages[0].node_selector: expected a map of node labels to values, got \"zone\"");
}

TEST_CASE("no_retry_exit_codes are integers from 0 to 255") {
  CHECK(parsed_stage("no_retry_exit_codes: [0, 2, 255]").no_retry_exit_codes ==
        std::vector<int32_t>{0, 2, 255});
  CHECK(errors(one_stage("no_retry_exit_codes: [2, 256]")) ==
        "stages[0].no_retry_exit_codes[1]: expected an integer from 0 to 255, got 256");
  CHECK(errors(one_stage("no_retry_exit_codes: [-1]")) ==
        "stages[0].no_retry_exit_codes[0]: expected an integer from 0 to 255, got -1");
  CHECK(errors(one_stage("no_retry_exit_codes: 2")) ==
        "stages[0].no_retry_exit_codes: expected a list of exit codes like [2, 3], got 2");
}

TEST_CASE("time_limit is a positive duration on a job and on a stage") {
  CHECK(parsed_stage("time_limit: 90m").time_limit_ms == 5'400'000);
  auto job = parse_manifest(
      "name: j\ntime_limit: 2h\nrestart_on_time_limit: true\n"
      "stages:\n  - {name: s, command: [run]}\n");
  REQUIRE(job.has_value());
  CHECK(job->time_limit_ms == 7'200'000);
  CHECK(job->restart_on_time_limit);
  CHECK(job->stages[0].time_limit_ms == 0);  // the job's applies
  CHECK(errors(one_stage("time_limit: 3600"))
            .find("stages[0].time_limit: expected a duration like 2h, 90m or 30s, got 3600") !=
        std::string::npos);
  CHECK(errors("name: j\nrestart_on_time_limit: maybe\nstages:\n  - {name: s, command: [run]}\n")
            .find("restart_on_time_limit: expected true or false") != std::string::npos);
}
