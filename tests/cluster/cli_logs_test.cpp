// `gantry logs`: a stage or rank the job does not have is a usage error naming what it has;
// `--attempt N` reads an earlier attempt's output, kept by the worker that ran it.
#include <doctest/doctest.h>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

TEST_CASE("logs refuses ranks and stages the job lacks, and --attempt reads earlier attempts") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "2", "--memory", "2GiB"}, {"--restart-backoff-ms", "10"});
  // Rank 0 fails its first two attempts; rank 1 succeeds at once.
  std::string job = c.submit("flaky.yaml", R"(
name: flaky
max_restarts: 2
stages:
  - name: s
    replicas: 2
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "sh", "-c", "echo rank $GANTRY_RANK attempt $GANTRY_ATTEMPT; [ $GANTRY_RANK != 0 ] || [ $GANTRY_ATTEMPT -ge 2 ] || exit 3" ]
)");
  auto w = c.cli({"watch", job});
  REQUIRE_MESSAGE(w.exit_code == 0, w.out);
  auto d = c.cli({"describe", job, "--json"}).json();
  REQUIRE(d["stages"][0]["ranks"][0]["attempt"] == 2);
  REQUIRE(d["stages"][0]["ranks"][1]["attempt"] == 0);

  auto rank7 = c.cli({"logs", job, "--rank", "7"});
  CHECK(rank7.exit_code == 2);
  CHECK(rank7.out.empty());
  CHECK_MESSAGE(rank7.err == "gantry: job " + job + " has no rank 7 (s: ranks 0..1)\n", rank7.err);
  auto stage = c.cli({"logs", job, "--stage", "train"});
  CHECK(stage.exit_code == 2);
  CHECK(stage.err == "gantry: job " + job + " has no stage \"train\" (stages: s)\n");
  auto negative = c.cli({"logs", job, "--attempt", "-1"});
  CHECK(negative.exit_code == 2);

  // The current attempt by default; every earlier one on request.
  CHECK(c.cli({"logs", job, "--rank", "0"}).out == "rank 0 attempt 2\n");
  CHECK(c.cli({"logs", "flaky", "--stage", "s", "--rank", "0", "--attempt", "0"}).out ==
        "rank 0 attempt 0\n");
  CHECK(c.cli({"logs", job, "--rank", "0", "--attempt", "1"}).out == "rank 0 attempt 1\n");
  // Only rank 0 reached attempt 1; both ran attempt 0.
  CHECK(c.cli({"logs", job, "--attempt", "1"}).out == "rank 0 attempt 1\n");
  auto first = c.cli({"logs", job, "--attempt", "0"});
  CHECK(first.exit_code == 0);
  CHECK(first.out == "[s/0] rank 0 attempt 0\n[s/1] rank 1 attempt 0\n");
  auto beyond = c.cli({"logs", job, "--attempt", "3"});
  CHECK(beyond.exit_code == 2);
  CHECK(beyond.err == "gantry: no rank reached attempt 3 (the newest attempt is 2)\n");
  auto beyond_rank1 = c.cli({"logs", job, "--rank", "1", "--attempt", "1"});
  CHECK(beyond_rank1.exit_code == 2);
  CHECK(beyond_rank1.err == "gantry: no rank reached attempt 1 (the newest attempt is 0)\n");

  // The files stay on the workers under each attempt's task id.
  int logs_kept = 0;
  for (const std::string worker : {"w1", "w2"})
    for (int attempt = 0; attempt <= 2; ++attempt)
      logs_kept += !read_file(c.dir() + "/" + worker + "/tasks/" + job + ".s.0." +
                              std::to_string(attempt) + "/output.log")
                        .empty();
  CHECK(logs_kept == 3);
}
