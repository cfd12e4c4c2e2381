// --max-log-bytes: a task that prints 10x the cap leaves a log of at most the cap, starting
// with the marker and ending with its last line; `gantry logs` and a follower show them.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fstream>
#include <regex>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

// Whether the workers' data dirs can drop a file's head (ext4, xfs).
bool cluster_dir_collapses(const std::string& dir) {
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && (fs.f_type == 0xEF53 || fs.f_type == 0x58465342);
}

// Prints "first line", waits for a line on its fifo, prints 10240 lines of 64 bytes (10x a
// 64KiB cap), then "last line".
constexpr const char* kChatty = R"SH(
mkfifo "$GANTRY_OUTPUT_DIR/go"
echo first line
read go < "$GANTRY_OUTPUT_DIR/go"
i=0
while [ $i -lt 10240 ]; do printf 'line %07d %50s\n' $i ''; i=$((i+1)); done
echo last line
)SH";

}  // namespace

TEST_CASE("a task printing 10x --max-log-bytes keeps its tail behind a marker, logs -f follows") {
  cluster c;
  INFO(c.logs());
  if (!cluster_dir_collapses(c.dir())) {
    MESSAGE("skipped: " << c.dir() << " is not on ext4 or xfs, which logs need to be capped");
    return;
  }
  c.start({"w"}, {"--max-log-bytes", "64KiB"});
  std::string script = c.dir() + "/chatty.sh";
  std::ofstream(script) << kChatty;
  std::string job = c.submit("chatty.yaml", R"(name: chatty
stages:
  - name: s
    resources: { cpu: 0.1, memory: 64MiB }
    command: [ "sh", ")" + script + R"(" ]
)");
  std::vector<std::string> follow = {bin("gantry"), "logs",          job,
                                     "--follow",    "--coordinator", c.address()};
  for (const auto& flag : c.local().client_flags()) follow.push_back(flag);
  process follower(follow, c.dir() + "/logs-follow.err");
  REQUIRE(follower.read_line(30000) == "first line");
  std::ofstream(c.shared_dir() + "/" + job + "/go") << "go\n";  // opens once the task reads

  // The follower prints whole lines only: the task's, or the marker when it fell behind.
  std::regex task_line("line [0-9]{7} {51}");
  std::regex marker(R"(\[gantry: [0-9]+ earlier bytes dropped \(--max-log-bytes 64KiB\)\] *)");
  int64_t deadline = now_ms() + 60000;
  std::string line;
  std::string odd;  // lines neither the task's nor the marker, a blank one included
  int markers = 0;
  while (now_ms() < deadline && line != "last line") {
    line = follower.read_line(static_cast<int>(deadline - now_ms()));
    if (line.empty() && !follower.running()) break;
    if (std::regex_match(line, marker))
      ++markers;
    else if (line != "last line" && !std::regex_match(line, task_line))
      odd += "\"" + line + "\" ";
  }
  CHECK(line == "last line");
  CHECK_MESSAGE(odd.empty(), "the follower printed " << odd);
  MESSAGE("the follower fell behind what was kept " << markers << " times");
  CHECK(follower.wait(20000) == 0);  // it ends with the task
  REQUIRE(c.cli({"watch", job}).exit_code == 0);

  std::string log = read_file(c.dir() + "/w/tasks/" + job + ".s.0.0/output.log");
  CHECK(log.size() <= 64 * 1024);
  CHECK(log.size() >= 32 * 1024);
  std::string first = log.substr(0, log.find('\n'));
  CHECK_MESSAGE(std::regex_match(first, marker), first);
  CHECK(log.find("first line") == std::string::npos);
  CHECK(log.substr(log.size() - 10) == "last line\n");

  auto logs = c.cli({"logs", job});
  REQUIRE(logs.exit_code == 0);
  CHECK(logs.out == log);
}
