// `gantry submit FILE...` (issue 13): several manifests over one connection, one id per line
// in order; one bad manifest among them and nothing is submitted.
#include <doctest/doctest.h>

#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

std::string named_job(const std::string& name) {
  return "name: " + name + R"(
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("submit FILE... prints one id per manifest in order, and a bad one submits none") {
  cluster c;
  INFO(c.logs());
  c.start({"w"});
  std::vector<std::string> args{"submit"};
  for (int i = 0; i < 70; ++i)  // more than one window of 64 calls in flight
    args.push_back(c.write_manifest("m" + std::to_string(i) + ".yaml",
                                    named_job("batch-" + std::to_string(i))));
  auto r = c.cli(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto ids = lines_of(r.out);
  REQUIRE(ids.size() == 70);
  for (int i : {0, 37, 69}) {
    auto d = c.cli({"describe", ids[i], "--json"});
    REQUIRE_MESSAGE(d.exit_code == 0, d.err);
    CHECK(d.json()["name"] == "batch-" + std::to_string(i));
  }

  auto before = c.cli({"jobs", "--json"});
  REQUIRE(before.exit_code == 0);
  std::string good = c.write_manifest("good.yaml", named_job("never-sent"));
  std::string bad = c.write_manifest("bad.yaml", "name: bad\nstages: []\n");
  auto refused = c.cli({"submit", good, bad, c.dir() + "/missing.yaml"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  CHECK(refused.err.find(bad + ": ") != std::string::npos);
  CHECK(refused.err.find("missing.yaml") != std::string::npos);
  CHECK(refused.err.find("gantry submit: nothing submitted") != std::string::npos);
  auto after = c.cli({"jobs", "--json"});
  REQUIRE(after.exit_code == 0);
  CHECK(after.json().size() == before.json().size());

  auto watch_two = c.cli({"submit", "--watch", good, good});
  CHECK(watch_two.exit_code == 2);
  CHECK(watch_two.err.find("--watch follows one job; got 2 manifests") != std::string::npos);
}
