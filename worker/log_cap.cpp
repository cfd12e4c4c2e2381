#include "worker/log_cap.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.hpp"
#include "core/quantity.hpp"

namespace gantry {
namespace {

constexpr std::string_view kMarkerStart = "[gantry: ";
constexpr std::string_view kMarkerMiddle = " earlier bytes dropped (--max-log-bytes ";
// The marker line ends at the first line end of the kept output this close to the head (so
// the kept output starts with a whole line), else right after the marker's text.
constexpr size_t kHeadWindow = 8192;

std::string marker_text(uint64_t dropped, int64_t cap) {
  return std::string(kMarkerStart) + std::to_string(dropped) + std::string(kMarkerMiddle) +
         format_bytes(cap) + ")]";
}

std::string pread_string(int fd, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

bool pwrite_all(int fd, const std::string& s, uint64_t offset) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::pwrite(fd, s.data() + done, s.size() - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

log_head read_log_head(int fd) {
  std::string head = pread_string(fd, 0, kHeadWindow);
  if (head.compare(0, kMarkerStart.size(), kMarkerStart) != 0) return {};
  size_t digits = kMarkerStart.size();
  uint64_t dropped = 0;
  size_t i = digits;
  for (; i < head.size() && i - digits < 20 && head[i] >= '0' && head[i] <= '9'; ++i)
    dropped = dropped * 10 + static_cast<uint64_t>(head[i] - '0');
  if (i == digits || head.compare(i, kMarkerMiddle.size(), kMarkerMiddle) != 0) return {};
  size_t nl = head.find('\n', i);
  if (nl == std::string::npos) return {};
  return {dropped, nl + 1};
}

result<uint64_t> trim_log(const std::string& path, int64_t cap) {
  if (cap < kMinLogCap)
    return fail(errc::invalid_argument, "a log cap is at least " + format_bytes(kMinLogCap));
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 || sb.st_size <= cap) return uint64_t{0};
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // not O_APPEND: the marker goes at 0
  if (fd < 0) return fail(errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
  fd_closer closer{fd};
  if (::fstat(fd, &sb) != 0)
    return fail(errc::io_error, "cannot stat " + path + ": " + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(sb.st_size);
  uint64_t block = sb.st_blksize > 0 ? static_cast<uint64_t>(sb.st_blksize) : 4096;
  log_head head = read_log_head(fd);
  // Whole blocks, the old marker with them, leaving at most `cap` bytes; never up to the end
  // (the file system refuses that), which a cap of several blocks cannot reach.
  uint64_t cut = std::max(size - static_cast<uint64_t>(cap), head.marker_bytes);
  cut = (cut + block - 1) / block * block;
  if (cut + kHeadWindow >= size) return uint64_t{0};
  if (::fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, static_cast<off_t>(cut)) != 0) {
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOSYS)
      return fail(errc::failed_precondition,
                  "the file system of " + path + " cannot drop a file's head (ext4 and xfs can)");
    return fail(errc::io_error, "cannot drop the head of " + path + ": " + std::strerror(err));
  }
  // The output now at the file's head starts at logical offset `base`; the marker line takes
  // its first `line` bytes (which are dropped too).
  uint64_t base = head.dropped + (cut - head.marker_bytes);
  std::string kept = pread_string(fd, 0, kHeadWindow);
  size_t line = 0;
  std::string text;
  for (int i = 0; i < 4; ++i) {
    text = marker_text(base + line, cap);
    if (text.size() + 1 <= line) break;
    size_t nl = kept.find('\n', text.size());
    line = nl != std::string::npos ? nl + 1 : text.size() + 1;
  }
  if (text.size() + 1 > line) {  // more digits than the last try: end it after its text
    line = text.size() + 2;
    text = marker_text(base + line, cap);
  }
  text.append(line - text.size() - 1, ' ');
  text += '\n';
  if (!pwrite_all(fd, text, 0))
    return fail(errc::io_error, "cannot write the marker of " + path + ": " + std::strerror(errno));
  return base + line - head.dropped;
}

log_chunk read_capped_log(int fd, uint64_t offset, uint32_t max_bytes, bool ended) {
  struct stat sb {};
  ::fstat(fd, &sb);
  uint64_t size = static_cast<uint64_t>(sb.st_size);
  log_head head = read_log_head(fd);
  std::string data;
  uint64_t at = offset, pos;  // logical and file offsets of what is read next
  if (head.dropped > 0 && offset < head.dropped) {
    if (offset > 0) data = "\n";
    data += pread_string(fd, 0, head.marker_bytes);
    at = head.dropped;
    pos = head.marker_bytes;
  } else {
    pos = head.marker_bytes + (offset - head.dropped);
  }
  uint64_t room = max_bytes > data.size() ? max_bytes - data.size() : 0;
  std::string rest = pread_string(fd, pos, std::min<uint64_t>(room, size > pos ? size - pos : 0));
  data += rest;
  return log_chunk{std::move(data), at + rest.size(), ended && pos + rest.size() >= size};
}

log_trimmer::log_trimmer(int64_t cap, std::chrono::milliseconds period)
    : cap_(cap), period_(period) {
  if (cap_ > 0) thread_ = std::thread([this] { run(); });
}

log_trimmer::~log_trimmer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void log_trimmer::add(const std::string& path, const std::string& task_id) {
  if (cap_ <= 0) return;
  std::lock_guard lock(mu_);
  logs_[path] = held{task_id};
}

void log_trimmer::finish(const std::string& path) {
  if (cap_ <= 0) return;
  std::lock_guard trim_lock(trim_mu_);  // taken first, as run() does
  held h;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(path);
    if (it == logs_.end()) return;
    h = std::move(it->second);
    logs_.erase(it);
  }
  if (h.uncapped) return;  // said already
  if (auto r = trim_log(path, cap_); !r)
    log_warn("the log of task " + h.task_id + " is not capped: " + r.error().message);
}

log_chunk log_trimmer::read(int fd, uint64_t offset, uint32_t max_bytes, bool ended) {
  std::lock_guard lock(trim_mu_);
  return read_capped_log(fd, offset, max_bytes, ended);
}

void log_trimmer::trim(const std::string& path) {
  std::string task_id;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(path);
    if (it == logs_.end() || it->second.uncapped) return;  // finished meanwhile
    task_id = it->second.task_id;
  }
  auto r = trim_log(path, cap_);
  if (r) return;
  log_warn("the log of task " + task_id + " is not capped: " + r.error().message);
  std::lock_guard lock(mu_);
  if (auto it = logs_.find(path); it != logs_.end()) it->second.uncapped = true;
}

void log_trimmer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, period_, [this] { return stop_; });
    if (stop_) break;
    std::vector<std::string> paths;
    for (const auto& [path, h] : logs_)
      if (!h.uncapped) paths.push_back(path);
    lock.unlock();
    for (const std::string& path : paths) {
      struct stat sb {};
      if (::stat(path.c_str(), &sb) != 0 || sb.st_size <= cap_) continue;
      // Written back before the lock, so that the collapse under it has little left to write.
      if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ::fdatasync(fd);
        ::close(fd);
      }
      std::lock_guard trim_lock(trim_mu_);
      trim(path);
    }
    lock.lock();
  }
}

}  // namespace gantry
