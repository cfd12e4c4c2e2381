#pragma once
// Capped task logs (--max-log-bytes): a task's output.log keeps only its newest output. The
// worker drops the head of the file in place and writes one marker line where it was:
//   [gantry: 123456 earlier bytes dropped (--max-log-bytes 64MiB)]
// Readers address the task's output by its logical offset (bytes the task wrote since it
// started); the marker says how many were dropped, so the file alone maps logical offsets to
// its bytes, whoever reads it (a restarted worker included).
//
// Why in place: the task writes to the file through its own O_APPEND descriptor, which it
// keeps for its whole life and the worker cannot replace. A pipe read by the worker would cost
// a reader per task and lose the task's output whenever the worker is not reading; copying the
// tail to a new file and renaming it would leave the task writing to the old one; truncating
// after copying loses what the task appends in between. fallocate(FALLOC_FL_COLLAPSE_RANGE)
// removes whole blocks from the head atomically with respect to the task's appends (both hold
// the inode's lock), so the task never blocks and never loses output. It needs ext4 or xfs;
// elsewhere trim_log fails with errc::failed_precondition and the log grows uncapped.
// The marker is recognised by its text alone: a task that prints one as its first line
// misleads only the readers of its own log.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/records.hpp"
#include "core/result.hpp"

namespace gantry {

// What the head of a log says: `dropped` bytes of output are gone and the marker line takes
// the file's first `marker_bytes` bytes (both 0 when nothing was dropped).
struct log_head {
  uint64_t dropped = 0;
  uint64_t marker_bytes = 0;
};

// Reads the marker, if any, at the head of the open log `fd`.
log_head read_log_head(int fd);

// The smallest cap trim_log accepts: the marker and a few file-system blocks.
constexpr int64_t kMinLogCap = 64 * 1024;
// A worker's cap unless told otherwise (gantry worker --max-log-bytes).
constexpr int64_t kDefaultMaxLogBytes = 64LL << 20;

// Drops the oldest output of the log at `path` so that it holds at most `cap` bytes (at least
// kMinLogCap), rewriting the marker; a log of at most `cap` bytes, or none, is left alone.
// Returns how many more bytes of output this call dropped. Fails with
// errc::failed_precondition where the file system cannot collapse ranges.
result<uint64_t> trim_log(const std::string& path, int64_t cap);

// Up to max_bytes of the log open as `fd` from logical `offset`. A reader whose offset was
// dropped gets the marker line (after a newline when it had read something, which may have
// ended mid-line) and continues at the oldest output kept. finished: `ended` and nothing
// follows.
log_chunk read_capped_log(int fd, uint64_t offset, uint32_t max_bytes, bool ended);

// Holds running tasks' logs to a cap on a thread of its own, so that the file system's work
// (a collapse writes the file's dirty pages back first) never delays the worker's actor, and
// serves reads under the same lock, so that a read never sees a half-done trim.
class log_trimmer {
 public:
  // Trims every log it holds each `period` to `cap` (0: never: add and finish do nothing).
  log_trimmer(int64_t cap, std::chrono::milliseconds period);
  ~log_trimmer();
  log_trimmer(const log_trimmer&) = delete;
  log_trimmer& operator=(const log_trimmer&) = delete;

  // Starts holding the log at `path` (of task `task_id`, for messages) to the cap.
  void add(const std::string& path, const std::string& task_id);
  // Stops holding it, after trimming it once more now: a log within the cap when this returns.
  void finish(const std::string& path);
  // read_capped_log, never during a trim.
  log_chunk read(int fd, uint64_t offset, uint32_t max_bytes, bool ended);

 private:
  void run();
  void trim(const std::string& path);  // with trim_mu_ held; says once when it cannot
  int64_t cap_;
  std::chrono::milliseconds period_;
  std::mutex trim_mu_;  // held by a trim and a read
  std::mutex mu_;       // logs_, stop_
  std::condition_variable wake_;
  struct held {
    std::string task_id;
    bool uncapped = false;  // trimming failed and was said; not tried again
  };
  std::map<std::string, held> logs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gantry
