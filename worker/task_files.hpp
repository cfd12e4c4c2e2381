#pragma once
// Retention of finished tasks' files on a worker (--retain-task-files): a task's directory
// (<data_dir>/tasks/<task id>/: its log and scratch files) is removed once the task ended
// longer ago than the retention. The supervisor stamps the directory's modification time when
// the task ends, so the rule needs no state and holds across worker restarts.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace gantry {

// How long a finished task's directory stays unless told otherwise (--retain-task-files).
constexpr int64_t kDefaultRetainTaskFilesMs = 7 * 24 * 3'600'000LL;

// Marks the task directory `dir` as ended now (its modification time). Best effort.
void mark_task_ended(const std::string& dir);

// Removes every directory under tasks_dir whose modification time is before `now - keep_ms`,
// except those `running` says are running. Returns how many it removed. keep_ms 0 removes
// nothing (files are kept forever).
size_t remove_expired_task_dirs(const std::string& tasks_dir, int64_t keep_ms,
                                std::chrono::system_clock::time_point now,
                                const std::function<bool(const std::string&)>& running);

}  // namespace gantry
