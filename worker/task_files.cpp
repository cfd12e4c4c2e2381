#include "worker/task_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/log.hpp"

namespace gantry {

void mark_task_ended(const std::string& dir) {
  ::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);  // both times: now
}

size_t remove_expired_task_dirs(const std::string& tasks_dir, int64_t keep_ms,
                                std::chrono::system_clock::time_point now,
                                const std::function<bool(const std::string&)>& running) {
  namespace fs = std::filesystem;
  if (keep_ms <= 0) return 0;
  auto cutoff = now - std::chrono::milliseconds(keep_ms);
  std::error_code ec;
  fs::directory_iterator it(tasks_dir, ec);
  if (ec) return 0;  // no task ran here yet
  size_t removed = 0;
  for (const auto& entry : it) {
    std::string id = entry.path().filename().string();
    struct stat sb {};
    if (::lstat(entry.path().c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode) || running(id)) continue;
    auto changed = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(sb.st_mtim.tv_sec) +
            std::chrono::nanoseconds(sb.st_mtim.tv_nsec)));
    if (changed >= cutoff) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm)
      log_warn("cannot remove the files of task " + id + ": " + rm.message());
    else
      ++removed;
  }
  return removed;
}

}  // namespace gantry
