#include <doctest/doctest.h>

#include <algorithm>

#include "worker/inventory/probe.hpp"

using namespace gantry;
using namespace gantry::inventory;

TEST_CASE("probe with simulation and overrides reports them as given") {
  probe_options opts;
  opts.name = "sim-1";
  opts.cpu_milli = 8000;
  opts.memory_bytes = 16LL << 30;
  opts.simulate_gpus = "4xH100:80GiB";
  opts.simulate_dpus = 1;
  opts.labels = {{"zone", "a"}};
  std::string notes;
  auto inv = probe(opts, &notes);
  REQUIRE(inv.has_value());
  CHECK(inv->name == "sim-1");
  CHECK_FALSE(inv->hostname.empty());
  CHECK(inv->cpu_milli == 8000);
  CHECK(inv->memory_bytes == 16LL << 30);
  REQUIRE(inv->gpus.size() == 4);
  CHECK(std::all_of(inv->gpus.begin(), inv->gpus.end(),
                    [](const gpu_info& g) { return g.simulated && g.model == "H100"; }));
  REQUIRE(inv->dpus.size() == 1);
  CHECK(inv->dpus[0].simulated);
  CHECK(inv->labels.at("zone") == "a");
  CHECK(std::find(inv->fabrics.begin(), inv->fabrics.end(), "tcp") != inv->fabrics.end());
  CHECK(notes.find("cpu: 8 from --cpus") != std::string::npos);
  CHECK(notes.find("memory: 16GiB from --memory") != std::string::npos);
  CHECK(notes.find("gpus: 4 simulated from --simulate-gpus 4xH100:80GiB") != std::string::npos);
  CHECK(notes.find("dpus: 1 simulated") != std::string::npos);
  MESSAGE(notes);
}

TEST_CASE("probe of this machine finds CPU and memory, and GPUs only where a driver is") {
  std::string notes;
  auto inv = probe(probe_options{}, &notes);
  REQUIRE(inv.has_value());
  MESSAGE(notes);
  CHECK(inv->name == inv->hostname);
  CHECK(inv->cpu_milli > 0);
  CHECK(inv->memory_bytes > 0);
  CHECK(inv->dpus.size() == probe_pci_dpus().size());
  for (const auto& g : inv->gpus) CHECK_FALSE(g.simulated);
  if (inv->gpus.empty()) CHECK(notes.find("gpus: 0 (") != std::string::npos);
  CHECK(probe(probe_options{}, nullptr).has_value());
}

TEST_CASE("probe refuses bad options, naming the flag") {
  probe_options opts;
  opts.simulate_gpus = "4xH100";
  auto r = probe(opts);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::invalid_argument);
  CHECK(r.error().message.starts_with("--simulate-gpus: simulated GPU spec \"4xH100\": missing"));

  opts = {};
  opts.cpu_milli = 0;
  CHECK(probe(opts).error().message == "--cpus: must be above 0 (got 0m)");
  opts = {};
  opts.memory_bytes = -1;
  CHECK(probe(opts).error().message == "--memory: must be above 0 (got -1 bytes)");
  opts = {};
  opts.simulate_dpus = -2;
  CHECK(probe(opts).error().message == "--simulate-dpus: must be 0 or more (got -2)");
}
