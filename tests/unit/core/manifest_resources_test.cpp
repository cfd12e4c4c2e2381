// Manifest rules for resources and their consistency with the stage's device.
#include <doctest/doctest.h>

#include "core/manifest.hpp"
#include "manifest_check.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

// A job whose second stage (stages[1]) has `fields`; the first stage is a plain cpu stage.
std::string second_stage(std::string_view fields) {
  return "name: j\nstages:\n  - {name: first, command: [run]}\n  - {name: s, command: [run], " +
         std::string(fields) + "}\n";
}

resource_request parsed_resources(std::string_view fields) {
  auto r = parse_manifest(second_stage(fields));
  std::string why = r ? "" : to_string(r.error());
  INFO(why);
  REQUIRE(r.has_value());
  return r->stages.at(1).resources;
}

resource_request gpu(std::string_view value) {
  return parsed_resources("device: gpu, resources: {gpu: " + std::string(value) + "}");
}

std::string gpu_error(std::string_view value) {
  return errors(second_stage("device: gpu, resources: {gpu: " + std::string(value) + "}"));
}

}  // namespace

TEST_CASE("cpu accepts cores and millicores, more than 0, default one core") {
  CHECK(parsed_resources("resources: {memory: 1GiB}").cpu_milli == 1000);
  CHECK(parsed_resources("resources: {cpu: 2}").cpu_milli == 2000);
  CHECK(parsed_resources("resources: {cpu: 0.5}").cpu_milli == 500);
  CHECK(parsed_resources("resources: {cpu: \"500m\"}").cpu_milli == 500);
  CHECK(parsed_resources("resources: {cpu: 1.25}").cpu_milli == 1250);
  CHECK(errors(second_stage("resources: {cpu: 0}")) ==
        "stages[1].resources.cpu: must be more than 0, got 0");
  CHECK(errors(second_stage("resources: {cpu: two}")) ==
        "stages[1].resources.cpu: \"two\" is not a CPU amount (expected e.g. 2, 0.5 or 500m)");
  CHECK(errors(second_stage("resources: {cpu: -1}")) ==
        "stages[1].resources.cpu: \"-1\" is not a CPU amount (expected e.g. 2, 0.5 or 500m)");
  CHECK(errors(second_stage("resources: {cpu: [2]}")) ==
        "stages[1].resources.cpu: expected a CPU amount like 2, 0.5 or 500m, got a list");
}

TEST_CASE("memory accepts sizes or bytes, more than 0, default 256MiB") {
  CHECK(parsed_resources("resources: {cpu: 1}").memory_bytes == 256LL << 20);
  CHECK(parsed_resources("resources: {memory: 512MiB}").memory_bytes == 512LL << 20);
  CHECK(parsed_resources("resources: {memory: 8GiB}").memory_bytes == 8LL << 30);
  CHECK(parsed_resources("resources: {memory: 1048576}").memory_bytes == 1048576);
  CHECK(errors(second_stage("resources: {memory: 0}")) ==
        "stages[1].resources.memory: must be more than 0 bytes, got 0");
  CHECK(errors(second_stage("resources: {memory: 8 parsecs}")) ==
        "stages[1].resources.memory: \"8 parsecs\" has an unknown unit (use B, KiB, MiB, GiB or "
        "TiB)");
}

TEST_CASE("gpu is a whole count or a fraction below 1 with at most 3 decimals") {
  auto check = [](std::string_view text, int32_t count, int32_t milli) {
    CAPTURE(text);
    resource_request r = gpu(text);
    CHECK(r.gpu_count == count);
    CHECK(r.gpu_milli == milli);
  };
  check("1", 1, 1000);
  check("2", 2, 1000);
  check("2.0", 2, 1000);
  check("8", 8, 1000);
  check("0.25", 1, 250);
  check("0.5", 1, 500);
  check("0.250", 1, 250);
  check("0.001", 1, 1);
  check("0.999", 1, 999);
  check("\"0.75\"", 1, 750);
  CHECK(gpu("0.5").fractional_gpu());
  CHECK_FALSE(gpu("1").fractional_gpu());
}

TEST_CASE("gpu values that are neither give the documented message") {
  CHECK(gpu_error("1.5") ==
        "stages[1].resources.gpu: 1.5 is not a whole count or a fraction below 1");
  CHECK(gpu_error("0") == "stages[1].resources.gpu: 0 is not a whole count or a fraction below 1");
  CHECK(gpu_error("0.0") ==
        "stages[1].resources.gpu: 0.0 is not a whole count or a fraction below 1");
  CHECK(gpu_error("-1") ==
        "stages[1].resources.gpu: -1 is not a whole count or a fraction below 1");
  CHECK(gpu_error("1e2") ==
        "stages[1].resources.gpu: \"1e2\" is not a whole count or a fraction below 1");
  CHECK(gpu_error("one") ==
        "stages[1].resources.gpu: \"one\" is not a whole count or a fraction below 1");
  CHECK(gpu_error("0.0001") ==
        "stages[1].resources.gpu: 0.0001 is not a whole count or a fraction below 1 with at "
        "most 3 decimals");
  CHECK(gpu_error("[1]") ==
        "stages[1].resources.gpu: expected a whole GPU count or a fraction below 1, got a list");
  CHECK(gpu_error("99999999999") ==
        "stages[1].resources.gpu: 99999999999 is not a whole count or a fraction below 1");
}

TEST_CASE("gpu_memory and gpu_model need a gpu") {
  resource_request r =
      parsed_resources("device: gpu, resources: {gpu: 0.25, gpu_memory: 20GiB, gpu_model: H100}");
  CHECK(r.gpu_memory_bytes == 20LL << 30);
  CHECK(r.gpu_models == std::vector<std::string>{"H100"});
  CHECK(parsed_resources("device: gpu, resources: {gpu: 1, gpu_model: [A100, H100]}").gpu_models ==
        std::vector<std::string>{"A100", "H100"});
  CHECK(errors(second_stage("resources: {gpu_memory: 8GiB}")) ==
        "stages[1].resources.gpu_memory: only allowed with resources.gpu");
  CHECK(errors(second_stage("resources: {gpu_model: H100}")) ==
        "stages[1].resources.gpu_model: only allowed with resources.gpu");
  CHECK(errors(second_stage("device: gpu, resources: {gpu: 1, gpu_memory: 0}")) ==
        "stages[1].resources.gpu_memory: must be more than 0 bytes (leave gpu_memory out for no "
        "requirement), got 0");
  CHECK(errors(second_stage("device: gpu, resources: {gpu: 1, gpu_model: []}")) ==
        "stages[1].resources.gpu_model: expected a GPU model name or a list of them, got an "
        "empty list");
  CHECK(errors(second_stage("device: gpu, resources: {gpu: 1, gpu_model: [H100, '']}")) ==
        "stages[1].resources.gpu_model[1]: expected a GPU model name, got an empty string");
}

TEST_CASE("dpu is an integer of 0 or more") {
  CHECK(parsed_resources("device: dpu, resources: {dpu: 2}").dpus == 2);
  CHECK(parsed_resources("resources: {dpu: 1}").dpus == 1);  // a cpu task may use a DPU too
  CHECK(errors(second_stage("resources: {dpu: -1}")) ==
        "stages[1].resources.dpu: expected an integer of 0 or more, got -1");
  CHECK(errors(second_stage("resources: {dpu: 0.5}")) ==
        "stages[1].resources.dpu: expected an integer of 0 or more, got 0.5");
}

TEST_CASE("device and resources must agree") {
  CHECK(errors(second_stage("device: gpu")) ==
        "stages[1].resources.gpu: required when device is gpu");
  CHECK(errors(second_stage("resources: {gpu: 1}")) ==
        "stages[1].resources.gpu: GPUs need device: gpu (this stage's device is cpu)");
  CHECK(errors(second_stage("device: dpu, resources: {gpu: 1, dpu: 1}")) ==
        "stages[1].resources.gpu: GPUs need device: gpu (this stage's device is dpu)");
  CHECK(errors(second_stage("device: dpu")) ==
        "stages[1].resources.dpu: at least 1 required when device is dpu");
  CHECK(errors(second_stage("device: dpu, resources: {dpu: 0}")) ==
        "stages[1].resources.dpu: at least 1 required when device is dpu");
  CHECK(errors(second_stage("device: gpu, resources: {gpu: 1, dpu: 1}")) == "valid");
}

TEST_CASE("one mistake gives one error, not its consequences") {
  // The rejected gpu value is not also "required when device is gpu".
  CHECK(gpu_error("1.5") ==
        "stages[1].resources.gpu: 1.5 is not a whole count or a fraction below 1");
  // gpu_memory next to a rejected gpu is not "only allowed with resources.gpu".
  CHECK(errors(second_stage("device: gpu, resources: {gpu: 1.5, gpu_memory: 8GiB}")) ==
        "stages[1].resources.gpu: 1.5 is not a whole count or a fraction below 1");
  // A rejected device says nothing about the gpu it was meant for.
  CHECK(errors(second_stage("device: gpus, resources: {gpu: 1}")) ==
        "stages[1].device: expected cpu, gpu or dpu, got \"gpus\"");
  // A stage that is not a map is one error, not a missing name and command.
  CHECK(errors("name: j\nstages: [[a]]\n") ==
        "stages[0]: expected a map with the stage's name, command and other fields, got a list");
}

TEST_CASE("resources is a map of known fields") {
  CHECK(errors(second_stage("resources: {gpus: 1}")) ==
        "stages[1].resources.gpus: unknown field (did you mean gpu?)");
  CHECK(errors(second_stage("resources: {mem: 1GiB}")) == "stages[1].resources.mem: unknown field");
  CHECK(errors(second_stage("resources: 2")) ==
        "stages[1].resources: expected a map like {cpu: 2, memory: 1GiB}, got 2");
}
