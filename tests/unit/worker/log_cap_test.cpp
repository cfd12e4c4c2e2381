// --max-log-bytes: a task's log keeps its newest output behind one marker line, and readers
// that address the output by logical offset read it whole, across trims.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "harness/process.hpp"
#include "worker/log_cap.hpp"

using namespace gantry;

namespace {

constexpr int64_t kTestLogCap = 64 * 1024;

// Numbered lines: "line 0000042 ......\n", 64 bytes each.
std::string numbered_line(uint64_t n) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "line %07llu %50s\n", static_cast<unsigned long long>(n), "");
  return buf;
}

// Whether the directory's file system can drop a file's head (ext4, xfs).
bool collapse_supported(const std::string& dir) {
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && (fs.f_type == 0xEF53 || fs.f_type == 0x58465342);
}

void append_or_fail(int fd, const std::string& s) {
  REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
}

}  // namespace

TEST_CASE("a log written to 10x its cap while trimmed keeps its newest lines behind a marker") {
  harness::temp_dir tmp{"gantry-log-cap-test"};
  std::string path = tmp.path() + "/output.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  append_or_fail(fd, std::string(kTestLogCap, 'x'));
  if (!collapse_supported(tmp.path())) {
    auto r = trim_log(path, kTestLogCap + 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::failed_precondition);
    MESSAGE("skipped: /tmp cannot collapse ranges (not ext4 or xfs)");
    ::close(fd);
    return;
  }
  ::close(fd);
  ::truncate(path.c_str(), 0);
  fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  REQUIRE(fd >= 0);
  // A writer appends as a task does while this thread trims, as the worker does.
  constexpr uint64_t kLines = 10 * kTestLogCap / 64;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kLines; ++i) append_or_fail(fd, numbered_line(i));
    done = true;
  });
  uint64_t dropped = 0;
  int trims = 0;
  while (!done) {
    auto r = trim_log(path, kTestLogCap);
    REQUIRE(r);
    dropped += *r;
    trims += *r > 0;
  }
  writer.join();
  auto last = trim_log(path, kTestLogCap);
  REQUIRE(last);
  dropped += *last;
  ::close(fd);
  CHECK(trims >= 1);
  std::string text = harness::read_file(path);
  CHECK(text.size() <= static_cast<size_t>(kTestLogCap));
  std::string marker =
      "[gantry: " + std::to_string(dropped) + " earlier bytes dropped (--max-log-bytes 64KiB)]";
  REQUIRE_MESSAGE(text.rfind(marker, 0) == 0, text.substr(0, 200));
  size_t body = text.find('\n') + 1;
  // Everything after the marker is the writer's output, whole lines, none lost or doubled:
  // exactly the lines after the dropped bytes.
  CHECK(dropped + (text.size() - body) == kLines * 64);
  CHECK(dropped % 64 == 0);
  std::string expected;
  for (uint64_t i = dropped / 64; i < kLines; ++i) expected += numbered_line(i);
  CHECK(text.substr(body) == expected);
  CHECK(text.substr(text.size() - 64) == numbered_line(kLines - 1));
}

TEST_CASE("a follower reading a log by offset across trims sees the marker and every later line") {
  harness::temp_dir tmp{"gantry-log-cap-test"};
  if (!collapse_supported(tmp.path())) {
    MESSAGE("skipped: /tmp cannot collapse ranges (not ext4 or xfs)");
    return;
  }
  std::string path = tmp.path() + "/output.log";
  int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(out >= 0);
  uint64_t next_line = 0;
  auto write_lines = [&](uint64_t n) {
    std::string s;
    for (uint64_t i = 0; i < n; ++i) s += numbered_line(next_line++);
    append_or_fail(out, s);
  };
  auto read = [&](uint64_t offset, uint32_t max, bool ended) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    log_chunk c = read_capped_log(fd, offset, max, ended);
    ::close(fd);
    return c;
  };

  write_lines(100);  // 6400 bytes, under the cap: read as written
  log_chunk first = read(0, 1000, false);
  CHECK(first.data == std::string(harness::read_file(path), 0, 1000));
  CHECK(first.next_offset == 1000);  // mid-line
  CHECK_FALSE(first.finished);

  // The follower's offset is dropped: it gets a newline (it stopped mid-line), the marker,
  // then the oldest output kept.
  write_lines(5000);
  auto t = trim_log(path, kTestLogCap);
  REQUIRE(t);
  REQUIRE(*t > 1000);
  log_chunk jumped = read(first.next_offset, 1 << 20, false);
  std::string marker = "\n[gantry: " + std::to_string(*t) + " earlier bytes dropped";
  REQUIRE_MESSAGE(jumped.data.rfind(marker, 0) == 0, jumped.data.substr(0, 200));
  size_t body = jumped.data.find('\n', 1) + 1;
  CHECK(jumped.next_offset == *t + (jumped.data.size() - body));
  CHECK(jumped.data.substr(body, 64) == numbered_line(*t / 64));
  CHECK(jumped.data.substr(jumped.data.size() - 64) == numbered_line(next_line - 1));

  // Caught up, it reads on by offset across another trim: exactly the new lines.
  write_lines(500);  // past the cap by less than the follower has read since
  auto again = trim_log(path, kTestLogCap);
  REQUIRE(again);
  CHECK(*again > 0);
  write_lines(1);
  log_chunk on = read(jumped.next_offset, 1 << 20, true);
  std::string expected;
  for (uint64_t i = 5100; i < next_line; ++i) expected += numbered_line(i);
  CHECK(on.data == expected);
  CHECK(on.finished);
  CHECK(on.next_offset == next_line * 64);

  // A new reader from 0 gets the marker line alone, then the kept output.
  log_chunk fresh = read(0, 1 << 20, true);
  CHECK(fresh.data.rfind("[gantry: ", 0) == 0);
  CHECK(fresh.data.substr(fresh.data.size() - 64) == numbered_line(next_line - 1));
  CHECK(fresh.data == harness::read_file(path));
  CHECK(fresh.finished);
  ::close(out);
}

TEST_CASE("a log under its cap is left alone and a cap below 64KiB is refused") {
  harness::temp_dir tmp{"gantry-log-cap-test"};
  std::string path = tmp.path() + "/output.log";
  auto none = trim_log(path, kTestLogCap);  // no log yet
  REQUIRE(none);
  CHECK(*none == 0);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::string s(kTestLogCap, 'a');
  append_or_fail(fd, s);
  ::close(fd);
  auto r = trim_log(path, kTestLogCap);
  REQUIRE(r);
  CHECK(*r == 0);
  CHECK(harness::read_file(path) == s);
  CHECK_FALSE(trim_log(path, 4096));
}

TEST_CASE("the log trimmer holds a running task's log to the cap and trims it once more at exit") {
  harness::temp_dir tmp{"gantry-log-cap-test"};
  if (!collapse_supported(tmp.path())) {
    MESSAGE("skipped: /tmp cannot collapse ranges (not ext4 or xfs)");
    return;
  }
  std::string path = tmp.path() + "/output.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  log_trimmer trimmer(kTestLogCap, std::chrono::milliseconds(10));
  trimmer.add(path, "j-000001.s.0.0");
  std::string burst;
  for (uint64_t i = 0; i < 10 * kTestLogCap / 64; ++i) burst += numbered_line(i);
  append_or_fail(fd, burst);
  // Its thread trims within a few periods; 10 s allows for a loaded machine.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto size = [&] { return std::filesystem::file_size(path); };
  while (size() > static_cast<uint64_t>(kTestLogCap) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(size() <= static_cast<uint64_t>(kTestLogCap));
  int head_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(head_fd >= 0);
  CHECK(trimmer.read(head_fd, 0, 100, false).data.rfind("[gantry: ", 0) == 0);  // never mid-trim
  ::close(head_fd);

  append_or_fail(fd, burst);  // then the task ends: finish trims it at once
  trimmer.finish(path);
  ::close(fd);
  std::string text = harness::read_file(path);
  CHECK(text.size() <= static_cast<size_t>(kTestLogCap));
  CHECK(text.substr(text.size() - 64) == numbered_line(10 * kTestLogCap / 64 - 1));
  int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(rfd >= 0);
  log_chunk all = trimmer.read(rfd, 0, 1 << 20, true);
  ::close(rfd);
  CHECK(all.data == text);
  CHECK(all.finished);
  CHECK(all.next_offset == 2 * burst.size());
}
