// Manifest parsing: the document, top-level fields, defaults, error order, the examples.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/manifest.hpp"
#include "manifest_check.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

// The errors of a manifest as "path: message" lines, or "valid" when it parses.
job_spec parsed(std::string_view yaml) {
  auto r = parse_manifest(yaml);
  std::string why = r ? "" : to_string(r.error());
  INFO(why);
  REQUIRE(r.has_value());
  return *r;
}

std::string read_example(const std::string& name) {
  auto path = std::filesystem::path(GANTRY_SOURCE_DIR) / "examples" / name;
  std::ifstream in(path);
  INFO(path.string());
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a minimal manifest gets every default") {
  job_spec j = parsed(kMinimal);
  CHECK(j.name == "j");
  CHECK(j.priority == 0);
  CHECK(j.max_restarts == 0);
  REQUIRE(j.stages.size() == 1);
  const stage_spec& s = j.stages[0];
  CHECK(s.name == "s");
  CHECK(s.device == device_kind::cpu);
  CHECK(s.replicas == 1);
  CHECK(s.resources.cpu_milli == 1000);
  CHECK(s.resources.memory_bytes == 256LL << 20);
  CHECK(s.resources.gpu_count == 0);
  CHECK(s.resources.gpu_milli == 0);
  CHECK(s.resources.dpus == 0);
  CHECK(s.command == std::vector<std::string>{"run"});
  CHECK(s.collective == collective_kind::none);
  CHECK(s.placement == placement_pref::none);
  CHECK_FALSE(s.checkpoint.has_value());
  CHECK(s.env.empty());
  CHECK(s.after.empty());
}

TEST_CASE("the manifest from the architecture page parses field by field") {
  job_spec j = parsed(R"(
name: recsys-train
priority: 10
max_restarts: 3
stages:
  - name: features
    device: cpu
    replicas: 2
    resources: { cpu: 2, memory: 1GiB }
    env: { SHARDS: "2" }
    command: [ "gantry-example-features", "--out", "/shared/features" ]
  - name: train
    device: gpu
    after: [ features ]
    replicas: 4
    collective: nccl
    resources: { cpu: 4, memory: 8GiB, gpu: 1, gpu_memory: 40GiB, gpu_model: [A100, H100] }
    placement: pack
    checkpoint: { dir: /shared/ckpt/recsys }
    command: [ "gantry-example-allreduce", "--steps", "200" ]
  - name: ingest
    device: dpu
    colocate_with: train
    resources: { dpu: 1 }
    command: [ "gantry-example-ingest" ]
)");
  CHECK(j.priority == 10);
  CHECK(j.max_restarts == 3);
  REQUIRE(j.stages.size() == 3);
  CHECK(j.stages[0].resources.cpu_milli == 2000);
  CHECK(j.stages[0].resources.memory_bytes == 1LL << 30);
  CHECK(j.stages[0].env.at("SHARDS") == "2");
  const stage_spec& train = j.stages[1];
  CHECK(train.after == std::vector<std::string>{"features"});
  CHECK(train.is_gang());
  CHECK(train.resources.gpu_count == 1);
  CHECK(train.resources.gpu_milli == 1000);
  CHECK(train.resources.gpu_memory_bytes == 40LL << 30);
  CHECK(train.resources.gpu_models == std::vector<std::string>{"A100", "H100"});
  CHECK(train.placement == placement_pref::pack);
  REQUIRE(train.checkpoint.has_value());
  CHECK(train.checkpoint->dir == "/shared/ckpt/recsys");
  CHECK(j.stages[2].device == device_kind::dpu);
  CHECK(j.stages[2].colocate_with == "train");
  CHECK(j.stages[2].resources.dpus == 1);
}

TEST_CASE("examples/hello.yaml parses") {
  job_spec j = parsed(read_example("hello.yaml"));
  CHECK(j.name == "hello");
  REQUIRE(j.stages.size() == 1);
  const stage_spec& s = j.stages[0];
  CHECK(s.name == "greet");
  CHECK(s.device == device_kind::cpu);
  CHECK(s.replicas == 2);
  CHECK(s.resources.cpu_milli == 500);
  CHECK(s.resources.memory_bytes == 64LL << 20);
  CHECK(s.command == std::vector<std::string>{"gantry-example-hello"});
  CHECK(s.env == std::map<std::string, std::string>{{"GREETING", "hello"}});
}

TEST_CASE("examples/pipeline.yaml parses") {
  job_spec j = parsed(read_example("pipeline.yaml"));
  CHECK(j.name == "pipeline");
  REQUIRE(j.stages.size() == 3);
  CHECK(j.stages[0].name == "prepare");
  CHECK(j.stages[0].replicas == 2);
  CHECK(j.stages[0].command == std::vector<std::string>{"gantry-example-features"});
  const stage_spec& train = j.stages[1];
  CHECK(train.device == device_kind::gpu);
  CHECK(train.after == std::vector<std::string>{"prepare"});
  CHECK(train.replicas == 2);
  CHECK(train.resources.gpu_count == 1);
  CHECK(train.resources.gpu_milli == 500);
  CHECK(train.resources.fractional_gpu());
  CHECK(train.resources.gpu_memory_bytes == 8LL << 30);
  CHECK(train.resources.cpu_milli == 1000);
  CHECK(train.resources.memory_bytes == 256LL << 20);
  CHECK(train.command == std::vector<std::string>{"gantry-example-train", "--steps", "20"});
  CHECK(j.stages[2].name == "report");
  CHECK(j.stages[2].after == std::vector<std::string>{"train"});
  CHECK(j.stages[2].replicas == 1);
}

TEST_CASE("examples survive a round trip through to_yaml") {
  for (const char* name : {"hello.yaml", "pipeline.yaml", "gpu-allreduce.yaml", "gpu-share.yaml"}) {
    CAPTURE(name);
    job_spec j = parsed(read_example(name));
    std::string yaml = to_yaml(j);
    CAPTURE(yaml);
    auto again = parse_manifest(yaml);
    REQUIRE(again.has_value());
    CHECK(*again == j);
  }
}

TEST_CASE("YAML syntax errors are one error at the document with line and column") {
  auto r = parse_manifest("name: j\nstages: [\n");
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().size() == 1);
  CHECK(r.error()[0].path == "");
  CHECK(r.error()[0].message.starts_with("invalid YAML at line 3, column 1: "));
  CHECK(errors("a: *missing\n") ==
        "invalid YAML at line 1, column 4: the referenced anchor is not defined");
}

TEST_CASE("the document must be one map") {
  CHECK(errors("") == "the manifest is empty (expected a map with name and stages)");
  CHECK(errors("# nothing\n") == "the manifest is empty (expected a map with name and stages)");
  CHECK(errors("- a\n- b\n") == "expected a map with name and stages, got a list");
  CHECK(errors("hello") == "expected a map with name and stages, got \"hello\"");
  CHECK(errors(std::string(kMinimal) + "---\n" + std::string(kMinimal)) ==
        "expected one YAML document, found more");
  CHECK(errors(std::string(kMinimal) + "---\n") == "valid");  // an empty trailing document
}

TEST_CASE("input that stalls yaml-cpp's parser is an error, not a hang") {
  CHECK(errors(",ame: x\n") == "invalid YAML at line 1, column 1: unexpected ','");
  CHECK(errors(",a") == "invalid YAML at line 1, column 1: unexpected ','");
  CHECK(errors("- a\n, b\n").starts_with("invalid YAML at line 2"));
}

TEST_CASE("deep nesting is refused with its position") {
  CHECK(errors(std::string(5000, '[')).ends_with(": nested too deeply"));
  CHECK(errors(std::string(5000, '[')).starts_with("invalid YAML at line 1, column "));
}

TEST_CASE("hostile input returns errors and never throws") {
  const std::vector<std::string> inputs{
      std::string(100000, '['),
      std::string(100000, '{'),
      std::string("\0\xff\xfe", 3),
      "name: &a [*a]\n",
      "\t- x",
      "{",
      "stages: !!binary zz\n",
      "? [a, b]\n: c\n",
      "name: j\nstages:\n  - {name: s, command: [run], env: {A: &x [1], B: *x}}\n"};
  for (const auto& in : inputs) {
    CAPTURE(in.substr(0, 40));
    std::expected<job_spec, std::vector<manifest_error>> r;
    CHECK_NOTHROW(r = parse_manifest(in));
    CHECK_FALSE(r.has_value());
  }
}

TEST_CASE("unknown fields are rejected with their path and a hint for near misses") {
  CHECK(errors(std::string(kMinimal) + "stage: []\n") ==
        "stage: unknown field (did you mean stages?)");
  CHECK(errors(std::string(kMinimal) + "owner: me\n") == "owner: unknown field");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [run], replica: 2}\n") ==
        "stages[0].replica: unknown field (did you mean replicas?)");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [run], checkpoint: {dir: /c, every: "
               "5}}\n") == "stages[0].checkpoint.every: unknown field");
}

TEST_CASE("keys must be text and appear once") {
  CHECK(errors(std::string(kMinimal) + "name: k\n") ==
        "name: repeated key (it is already set above)");
  CHECK(errors(std::string(kMinimal) + "[a]: 1\n") == "expected text keys, got a list");
  CHECK(errors("name: j\nstages:\n  - {name: s, command: [run], env: {[A]: 1}}\n") ==
        "stages[0].env: expected text keys, got a list");
}

TEST_CASE("job name: required, 1..63 of [a-z0-9-], starting with a letter or digit") {
  CHECK(errors("stages:\n  - {name: s, command: [run]}\n") == "name: required");
  CHECK(errors("name: \"\"\nstages:\n  - {name: s, command: [run]}\n") == "name: required");
  const std::string expected =
      "name: expected lowercase letters, digits or '-', starting with a letter or digit, got ";
  CHECK(errors("name: My_Job\nstages:\n  - {name: s, command: [run]}\n") ==
        expected + "\"My_Job\"");
  CHECK(errors("name: -job\nstages:\n  - {name: s, command: [run]}\n") == expected + "\"-job\"");
  CHECK(errors("name: [a]\nstages:\n  - {name: s, command: [run]}\n") ==
        "name: expected a job name, got a list");
  std::string long_name(64, 'a');
  CHECK(errors("name: " + long_name + "\nstages:\n  - {name: s, command: [run]}\n") ==
        "name: expected at most 63 characters, got 64");
  CHECK(parsed("name: " + long_name.substr(1) + "\nstages:\n  - {name: s, command: [run]}\n")
            .name.size() == 63);
  CHECK(parsed("name: 9lives-2\nstages:\n  - {name: s, command: [run]}\n").name == "9lives-2");
}

TEST_CASE("priority and max_restarts are bounded integers") {
  auto with = [](const std::string& line) { return std::string(kMinimal) + line + "\n"; };
  CHECK(parsed(with("priority: -1000")).priority == -1000);
  CHECK(parsed(with("priority: 1000")).priority == 1000);
  CHECK(parsed(with("max_restarts: 1000")).max_restarts == 1000);
  CHECK(errors(with("priority: 1001")) ==
        "priority: expected an integer from -1000 to 1000, got 1001");
  CHECK(errors(with("priority: high")) ==
        "priority: expected an integer from -1000 to 1000, got \"high\"");
  CHECK(errors(with("priority: 1.5")) ==
        "priority: expected an integer from -1000 to 1000, got 1.5");
  CHECK(errors(with("priority: 99999999999999999999")) ==
        "priority: expected an integer from -1000 to 1000, got 99999999999999999999");
  CHECK(errors(with("max_restarts: -1")) ==
        "max_restarts: expected an integer from 0 to 1000, got -1");
  CHECK(errors(with("max_restarts:")) ==
        "max_restarts: expected an integer from 0 to 1000, got null");
}

TEST_CASE("stages: required, a non-empty list of maps") {
  CHECK(errors("name: j\n") == "stages: required");
  CHECK(errors("name: j\nstages: []\n") == "stages: expected at least one stage");
  CHECK(errors("name: j\nstages: {a: b}\n") == "stages: expected a list of stages, got a map");
  CHECK(errors("name: j\nstages: [x]\n") ==
        "stages[0]: expected a map with the stage's name, command and other fields, got \"x\"");
  CHECK(errors("name: j\nstages:\n  - {replicas: 2}\n") ==
        "stages[0].name: required\nstages[0].command: required");
}

TEST_CASE("every error is returned, in document order") {
  // Type errors found while reading and rule errors found afterwards interleave by position.
  CHECK(errors(R"(name: Bad_Name
stages:
  - command: []
    name: a
    replicas: 0
    bogus: 1
  - name: b
    device: tpu
    command: [x]
    after: [zz]
)") == "name: expected lowercase letters, digits or '-', starting with a letter or digit, got "
       "\"Bad_Name\"\n"
       "stages[0].command: expected a list with at least the program to run\n"
       "stages[0].replicas: expected an integer from 1 to 10000, got 0\n"
       "stages[0].bogus: unknown field\n"
       "stages[1].device: expected cpu, gpu or dpu, got \"tpu\"\n"
       "stages[1].after[0]: unknown stage \"zz\"");
}

TEST_CASE("manifest_error prints as path: message") {
  CHECK(manifest_error{"stages[0].name", "required"}.to_string() == "stages[0].name: required");
  CHECK(manifest_error{"", "invalid YAML"}.to_string() == "invalid YAML");
  CHECK(to_string(std::vector<manifest_error>{{"a", "x"}, {"b", "y"}}) == "a: x\nb: y");
  CHECK(to_string(std::vector<manifest_error>{}).empty());
}
