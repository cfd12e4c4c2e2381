// never_schedulable(): what no node of a cluster could ever host, judged at submit.
#include <doctest/doctest.h>

#include "core/manifest.hpp"
#include "scheduler/feasibility.hpp"
#include "tests/unit/scheduler/helpers.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

// The errors for a job whose stage `train` has `fields` (flow style), after a stage `prep`
// that always fits.
std::string never(const std::vector<node_inventory>& nodes, std::string_view fields) {
  auto spec = parse_manifest(
      "name: j\nstages:\n  - {name: prep, command: [run]}\n"
      "  - {name: train, command: [run], " +
      std::string(fields) + "}\n");
  INFO(fields);
  REQUIRE(spec.has_value());
  std::string out;
  for (const auto& e : never_schedulable(*spec, nodes)) out += e.to_string() + "\n";
  return out;
}

// Two GPU nodes (4 and 2 H100, 80 GiB each, 64 GiB memory, 32 cores) and a CPU node with a
// label and a fabric.
std::vector<node_inventory> cluster() {
  node_inventory big = make_node("big", 32000, 4), small = make_node("small", 32000, 2);
  node_inventory cpu = make_node("cpu", 8000, 0);
  cpu.labels["zone"] = "a";
  cpu.fabrics = {"tcp"};
  return {big, small, cpu};
}

const std::string kAdvice = " (gantry submit --allow-unschedulable queues it anyway)\n";

}  // namespace

TEST_CASE("a request that fits some node, or the whole cluster together, is possible") {
  auto nodes = cluster();
  for (const char* ok :
       {"resources: {cpu: 32}", "resources: {memory: 64GiB}",
        "device: gpu, resources: {gpu: 4, gpu_model: H100, gpu_memory: 80GiB}",
        "device: gpu, resources: {gpu: 1}, collective: nccl, replicas: 6",  // 4 + 2 GPUs
        "device: gpu, resources: {gpu: 1}, replicas: 50",  // plain ranks wait their turn
        "resources: {cpu: 1}, fabric: tcp, node_selector: {zone: a}",
        "resources: {cpu: 1}, colocate_with: prep"})  // judged where prep runs, later
    CHECK(never(nodes, ok) == "");
}

TEST_CASE("an empty cluster accepts anything: nothing is known yet") {
  CHECK(never({}, "device: gpu, resources: {gpu: 2147483647}") == "");
}

TEST_CASE("each kind of impossible request names the stage and the field") {
  auto nodes = cluster();
  CHECK(never(nodes, "device: gpu, resources: {gpu: 2147483647}") ==
        "stages[1].resources.gpu: stage \"train\" can never be placed on this cluster, even "
        "empty: 0/3 nodes: 2 too few gpus, 1 no gpu" +
            kAdvice);
  CHECK(never(nodes, "device: gpu, resources: {gpu: 1, gpu_model: A100}") ==
        "stages[1].resources.gpu_model: stage \"train\" can never be placed on this cluster, "
        "even empty: 0/3 nodes: 2 no A100, 1 no gpu" +
            kAdvice);
  CHECK(never(nodes, "device: gpu, resources: {gpu: 1, gpu_memory: 81GiB}") ==
        "stages[1].resources.gpu_memory: stage \"train\" can never be placed on this cluster, "
        "even empty: 0/3 nodes: 2 insufficient gpu_memory, 1 no gpu" +
            kAdvice);
  CHECK(never(nodes, "resources: {memory: 65GiB}") ==
        "stages[1].resources.memory: stage \"train\" can never be placed on this cluster, even "
        "empty: 0/3 nodes: 3 insufficient memory" +
            kAdvice);
  CHECK(never(nodes, "resources: {cpu: 33}") ==
        "stages[1].resources.cpu: stage \"train\" can never be placed on this cluster, even "
        "empty: 0/3 nodes: 3 insufficient cpu" +
            kAdvice);
  CHECK(never(nodes, "resources: {cpu: 1}, fabric: efa") ==
        "stages[1].fabric: stage \"train\" can never be placed on this cluster, even empty: "
        "0/3 nodes: 3 missing fabric efa" +
            kAdvice);
  CHECK(never(nodes, "resources: {cpu: 1}, node_selector: {zone: b}") ==
        "stages[1].node_selector: stage \"train\" can never be placed on this cluster, even "
        "empty: 0/3 nodes: 3 node selector mismatch" +
            kAdvice);
  // Every rank of the gang fits somewhere, but 7 GPUs' worth never fits at once.
  CHECK(never(nodes, "device: gpu, resources: {gpu: 1}, collective: nccl, replicas: 7") ==
        "stages[1].replicas: stage \"train\" can never be placed: its 7 ranks run together and "
        "the whole cluster (3 nodes) holds at most 6" +
            kAdvice);
}

TEST_CASE("a node is judged by its inventory alone, as if empty and ready") {
  // The coordinator passes every known node, cordoned, draining or lost alike.
  CHECK(never({make_node("lost", 4000, 8)}, "device: gpu, resources: {gpu: 8}") == "");
  CHECK(never({make_node("lost", 4000, 8)}, "device: gpu, resources: {gpu: 9}") != "");
}
