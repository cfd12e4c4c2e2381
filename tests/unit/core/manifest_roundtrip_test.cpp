// to_yaml round trips, and validate_spec on specs built in code (as they arrive over RPC).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "core/manifest.hpp"

using namespace gantry;

namespace {

stage_spec cpu_stage(std::string name) {
  stage_spec s;
  s.name = std::move(name);
  s.resources.cpu_milli = 1000;
  s.resources.memory_bytes = 256LL << 20;
  s.command = {"run"};
  return s;
}

// A spec that uses every field, with strings YAML would otherwise misread.
job_spec rich_spec() {
  job_spec j;
  j.name = "null";   // a YAML null when unquoted
  j.queue = "true";  // a YAML boolean when unquoted
  j.priority = -7;
  j.max_restarts = 1000;
  j.time_limit_ms = 5'400'000;  // 1h30m
  j.restart_on_time_limit = true;
  stage_spec a = cpu_stage("123");  // a YAML number when unquoted
  a.time_limit_ms = 1500;
  a.replicas = 3;
  a.resources.cpu_milli = 1234;
  a.resources.memory_bytes = (1536LL << 20) + 1;  // no unit prints it exactly
  a.env = {{"EMPTY", ""},        {"QUOTES", "say \"hi\" \\ 'x'"}, {"Y", "yes"},
           {"NULL", "~"},        {"TABS", "a\tb\nc\r"},           {"UNICODE", "héllo ✓ \u2028"},
           {"SPACES", "  lead"}, {"HASH", "a # not a comment: b"}};
  a.command = {"/bin/sh", "-c", "echo \"$X\" | tr a-z A-Z; exit 3", "", "--flag=[1, 2]", "*x"};
  a.no_retry_exit_codes = {0, 2, 255};
  a.node_selector = {{"zone", "eu-1"}, {"true", "false"}, {"k8s.io/role", "gpu node"}};
  a.fabric = "verbs;ofi_rxm";
  stage_spec b = cpu_stage("train");
  b.device = device_kind::gpu;
  b.replicas = 10000;
  b.resources.gpu_count = 8;
  b.resources.gpu_milli = 1000;
  b.resources.gpu_memory_bytes = 80LL << 30;
  b.resources.gpu_models = {"A100", "H100 80GB HBM3", "on"};
  b.resources.dpus = 2;
  b.after = {"123"};
  b.collective = collective_kind::nccl;
  b.placement = placement_pref::spread;
  b.checkpoint = checkpoint_spec{"/shared/ckpt dir/ü", "SIGUSR2", 90000};
  b.working_dir = "/shared/runs/ü \"quoted\"";
  stage_spec c = cpu_stage("ingest");
  c.device = device_kind::dpu;
  c.resources.dpus = 1;
  c.colocate_with = "train";
  c.placement = placement_pref::pack;
  stage_spec d = cpu_stage("share");
  d.device = device_kind::gpu;
  d.resources.gpu_count = 1;
  d.resources.gpu_milli = 5;
  d.after = {"train", "ingest"};
  j.stages = {a, b, c, d};
  return j;
}

void check_round_trip(const job_spec& spec) {
  std::string invalid = to_string(validate_spec(spec));
  INFO(invalid);
  REQUIRE(invalid.empty());
  std::string yaml = to_yaml(spec);
  INFO(yaml);
  auto back = parse_manifest(yaml);
  std::string why = back ? "" : to_string(back.error());
  INFO(why);
  REQUIRE(back.has_value());
  CHECK(*back == spec);
}

// Text of random bytes drawn from ASCII (controls included) and a few multi-byte characters.
std::string random_text(std::mt19937& rng, size_t max_len) {
  static const std::vector<std::string> kPieces{"é", "✓", "\u2028", "\u0085", "😀", "\x7f"};
  std::string out;
  size_t len = rng() % (max_len + 1);
  for (size_t i = 0; i < len; ++i) {
    if (rng() % 8 == 0)
      out += kPieces[rng() % kPieces.size()];
    else
      out += static_cast<char>(1 + rng() % 127);
  }
  return out;
}

job_spec random_spec(std::mt19937& rng) {
  job_spec j;
  j.name = "job-" + std::to_string(rng() % 1000);
  j.priority = static_cast<int32_t>(rng() % 2001) - 1000;
  j.max_restarts = static_cast<int32_t>(rng() % 1001);
  size_t n = 1 + rng() % 5;
  for (size_t i = 0; i < n; ++i) {
    stage_spec s = cpu_stage("s" + std::to_string(i));
    s.replicas = 1 + static_cast<int32_t>(rng() % 10000);
    s.resources.cpu_milli = 1 + static_cast<int64_t>(rng() % 100000);
    s.resources.memory_bytes = 1 + static_cast<int64_t>(rng() % (1LL << 40));
    s.command.clear();
    size_t args = 1 + rng() % 4;
    for (size_t k = 0; k < args; ++k) s.command.push_back(k == 0 ? "p" : random_text(rng, 12));
    for (size_t k = rng() % 3; k > 0; --k)
      s.env["V" + std::to_string(rng() % 100)] = random_text(rng, 12);
    if (rng() % 3 == 0) {
      s.device = device_kind::gpu;
      s.resources.gpu_count = rng() % 2 ? 1 + static_cast<int32_t>(rng() % 8) : 1;
      s.resources.gpu_milli =
          s.resources.gpu_count > 1 ? 1000 : 1 + static_cast<int32_t>(rng() % 1000);
      if (rng() % 2) s.resources.gpu_memory_bytes = 1 + static_cast<int64_t>(rng() % (1LL << 37));
      if (rng() % 2) s.resources.gpu_models = {random_text(rng, 6) + "x"};
    }
    if (i > 0 && rng() % 2) s.after = {"s" + std::to_string(rng() % i)};
    if (rng() % 4 == 0) {
      s.checkpoint = checkpoint_spec{"/" + random_text(rng, 10)};
      if (rng() % 2) {
        s.checkpoint->signal = rng() % 2 ? "SIGUSR1" : "TERM";
        s.checkpoint->grace_ms = static_cast<int64_t>(rng() % 3) * 1500;  // 0: none of its own
      }
    }
    if (rng() % 4 == 0) s.working_dir = "/" + random_text(rng, 10);
    if (rng() % 4 == 0) s.node_selector[random_text(rng, 5) + "k"] = random_text(rng, 5);
    j.stages.push_back(std::move(s));
  }
  return j;
}

}  // namespace

TEST_CASE("a spec using every field survives to_yaml and back") {
  check_round_trip(rich_spec());
}

TEST_CASE("quantities print exactly, whatever their value") {
  for (int32_t milli : {1, 5, 10, 100, 250, 999, 1000}) {
    CAPTURE(milli);
    job_spec j;
    j.name = "j";
    j.stages = {cpu_stage("s")};
    j.stages[0].device = device_kind::gpu;
    j.stages[0].resources.gpu_count = 1;
    j.stages[0].resources.gpu_milli = milli;
    check_round_trip(j);
  }
  for (int64_t cpu : {1LL, 250LL, 1500LL, 1234LL, 2000LL, 123456LL}) {
    for (int64_t mem : {1LL, 1023LL, 1LL << 20, (1LL << 30) + 1, 3LL << 29, 1LL << 50}) {
      CAPTURE(cpu);
      CAPTURE(mem);
      job_spec j;
      j.name = "j";
      j.stages = {cpu_stage("s")};
      j.stages[0].resources.cpu_milli = cpu;
      j.stages[0].resources.memory_bytes = mem;
      check_round_trip(j);
    }
  }
}

TEST_CASE("random valid specs survive to_yaml and back") {
  // GANTRY_TEST_SEED=N reruns with another seed.
  const char* env_seed = std::getenv("GANTRY_TEST_SEED");
  const unsigned seed = env_seed ? static_cast<unsigned>(std::strtoul(env_seed, nullptr, 10)) : 42;
  MESSAGE("seed " << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 200; ++i) check_round_trip(random_spec(rng));
}

TEST_CASE("to_yaml writes the form users write") {
  job_spec j;
  j.name = "pipeline";
  j.stages = {cpu_stage("prepare"), cpu_stage("train")};
  j.stages[1].device = device_kind::gpu;
  j.stages[1].after = {"prepare"};
  j.stages[1].resources.gpu_count = 1;
  j.stages[1].resources.gpu_milli = 500;
  j.stages[1].resources.gpu_memory_bytes = 8LL << 30;
  j.stages[1].env = {{"STEPS", "20"}};
  CHECK(to_yaml(j) == R"(name: pipeline
priority: 0
max_restarts: 0
stages:
  - name: prepare
    device: cpu
    replicas: 1
    resources: {cpu: 1, memory: 256MiB}
    command: ["run"]
  - name: train
    device: gpu
    after: [prepare]
    replicas: 1
    resources: {cpu: 1, memory: 256MiB, gpu: 0.5, gpu_memory: 8GiB}
    env:
      STEPS: "20"
    command: ["run"]
)");
}

TEST_CASE("validate_spec checks specs built in code, without filling defaults") {
  job_spec j;
  j.name = "j";
  j.stages.emplace_back();
  j.stages[0].name = "s";
  j.stages[0].command = {"run"};
  CHECK(to_string(validate_spec(j)) ==
        "stages[0].resources.cpu: must be more than 0, got 0\n"
        "stages[0].resources.memory: must be more than 0 bytes, got 0");
  j.stages[0] = cpu_stage("s");
  CHECK(validate_spec(j).empty());
  CHECK(to_string(validate_spec(job_spec{})) ==
        "name: required\nstages: expected at least one stage");
}

TEST_CASE("validate_spec rejects values the YAML form cannot express") {
  job_spec j;
  j.name = "j";
  j.stages = {cpu_stage("s")};
  auto check = [&](auto&& change, const std::string& expected) {
    job_spec copy = j;
    change(copy.stages[0]);
    CHECK(to_string(validate_spec(copy)) == expected);
  };
  check([](stage_spec& s) { s.device = static_cast<device_kind>(7); },
        "stages[0].device: expected cpu, gpu or dpu");
  check([](stage_spec& s) { s.collective = static_cast<collective_kind>(9); },
        "stages[0].collective: expected nccl");
  check([](stage_spec& s) { s.placement = static_cast<placement_pref>(9); },
        "stages[0].placement: expected pack or spread");
  check(
      [](stage_spec& s) {
        s.device = device_kind::gpu;
        s.resources.gpu_count = 2;
        s.resources.gpu_milli = 500;
      },
      "stages[0].resources.gpu: only a single GPU can be shared: 2 GPUs need gpu_milli 1000, got "
      "500");
  check([](stage_spec& s) { s.resources.gpu_milli = 500; },
        "stages[0].resources.gpu: expected a GPU count of 1 or more or a fraction below 1, got "
        "gpu_count 0 and gpu_milli 500");
  check(
      [](stage_spec& s) {
        s.device = device_kind::gpu;
        s.resources.gpu_count = 1;
        s.resources.gpu_milli = 0;
      },
      "stages[0].resources.gpu: a GPU share must be from 1 to 1000 milli-GPU, got 0");
  check([](stage_spec& s) { s.resources.gpu_memory_bytes = -1; },
        "stages[0].resources.gpu_memory: must not be negative");
  check([](stage_spec& s) { s.env["V"] = std::string("a\xff", 2); },
        "stages[0].env.V: must be valid UTF-8");
  check([](stage_spec& s) { s.env["V"] = "\xed\xa0\x80"; },  // a UTF-16 surrogate
        "stages[0].env.V: must be valid UTF-8");
  check(
      [](stage_spec& s) {
        s.command = {"run", std::string("a\0b", 3)};
      },
      "stages[0].command[1]: must not contain a NUL character");
  check([](stage_spec& s) { s.checkpoint = checkpoint_spec{}; },
        "stages[0].checkpoint.dir: required");
  check(
      [](stage_spec& s) {
        s.checkpoint = checkpoint_spec{"/c", "USR1", 3'600'001};
      },
      "stages[0].checkpoint.grace: expected a duration above 0 and at most 1h, got 3600001ms");
  check([](stage_spec& s) { s.working_dir = "relative"; },
        "stages[0].working_dir: expected an absolute path, got \"relative\"");
  check([](stage_spec& s) { s.node_selector[""] = "x"; },
        "stages[0].node_selector[\"\"]: expected a label name, got an empty string");
  check([](stage_spec& s) { s.after = {""}; },
        "stages[0].after[0]: expected a stage name, got an empty string");
  check([](stage_spec& s) { s.replicas = -5; },
        "stages[0].replicas: expected an integer from 1 to 10000, got -5");
}

TEST_CASE("validate_spec reports every error, stage by stage") {
  job_spec j;
  j.name = "J";
  j.priority = 5000;
  j.stages = {cpu_stage("a"), cpu_stage("a"), cpu_stage("c")};
  j.stages[0].after = {"c"};
  j.stages[2].after = {"a"};
  j.stages[2].env["GANTRY_X"] = "1";
  CHECK(to_string(validate_spec(j)) ==
        "name: expected lowercase letters, digits or '-', starting with a letter or digit, got "
        "\"J\"\n"
        "priority: expected an integer from -1000 to 1000, got 5000\n"
        "stages[1].name: duplicate stage name \"a\" (also stages[0])\n"
        "stages[2].env.GANTRY_X: names starting with GANTRY_ are reserved for variables gantry "
        "sets (except GANTRY_FLEET_SECONDS, for simulated workers)\n"
        "stages[2].after: cycle a -> c -> a");
}

TEST_CASE("validate_spec copes with long dependency chains") {
#ifdef GANTRY_SANITIZE
  constexpr int kStages = 2000;  // -O0 with the sanitizers: 20,000 stages take 20 s of CPU
#else
  constexpr int kStages = 20000;
#endif
  const std::string last = "s" + std::to_string(kStages - 1);
  job_spec j;
  j.name = "chain";
  for (int i = 0; i < kStages; ++i) {
    j.stages.push_back(cpu_stage("s" + std::to_string(i)));
    if (i > 0) j.stages.back().after = {"s" + std::to_string(i - 1)};
  }
  CHECK(validate_spec(j).empty());
  j.stages[0].after = {last};
  auto errors = validate_spec(j);
  REQUIRE(errors.size() == 1);
  // The shortest cycle through s0 closes at s1, whose after names s0.
  CHECK(errors[0].to_string() ==
        "stages[1].after: cycle s0 -> " + last + " -> s" + std::to_string(kStages - 2) + " -> s" +
            std::to_string(kStages - 3) + " -> s" + std::to_string(kStages - 4) + " -> ... (" +
            std::to_string(kStages - 7) + " more) -> s2 -> s1 -> s0");
}

TEST_CASE("mutated manifests never throw, and whatever parses is valid and round trips") {
  const std::string base = R"(name: mixed
priority: 3
stages:
  - name: a
    env: { X: "1", Y: 2 }
    command: [ "run", "--x" ]
  - name: b
    device: gpu
    after: [ a ]
    replicas: 2
    collective: nccl
    resources: { cpu: 500m, memory: 1GiB, gpu: 1, gpu_model: H100 }
    checkpoint: { dir: /ckpt }
    command: [ "train" ]
  - name: c
    device: gpu
    resources: { gpu: 0.25, gpu_memory: 4GiB }
    command: [ "eval" ]
)";
  const std::string alphabet = " \n\t-:[]{},.\"'#&*!|>?%@`abcdgu0125";
  const char* env_seed = std::getenv("GANTRY_TEST_SEED");
  const unsigned seed = env_seed ? static_cast<unsigned>(std::strtoul(env_seed, nullptr, 10)) : 7;
  MESSAGE("seed " << seed);
  std::mt19937 rng(seed);
  int parsed_ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = base;
    for (int m = 1 + static_cast<int>(rng() % 3); m > 0; --m) {
      size_t at = rng() % text.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        default:
          text[at] = c;
      }
    }
    std::expected<job_spec, std::vector<manifest_error>> r;
    REQUIRE_NOTHROW(r = parse_manifest(text));
    if (!r) {
      CHECK_FALSE(r.error().empty());
      continue;
    }
    ++parsed_ok;
    INFO(text);
    check_round_trip(*r);
  }
  CHECK(parsed_ok > 0);
}
