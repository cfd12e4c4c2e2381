#include "security/secure_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gantry::security {
namespace {

constexpr size_t max_credential_file = 1 << 20;  // credentials are a few KiB

std::unexpected<error> io_failure(const std::filesystem::path& path, const char* what) {
  return fail(errc::io_error, path.string() + ": " + what + ": " + std::strerror(errno));
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens without following a final symbolic link, then checks what was opened (no window
// between the check and the read).
result<std::string> read_regular_file(const std::filesystem::path& path, bool secret) {
  fd_guard fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return fail(errc::not_found, path.string() + ": does not exist");
    if (errno == ELOOP) {
      return fail(errc::failed_precondition,
                  path.string() + ": is a symbolic link; credentials must be regular files");
    }
    return io_failure(path, "cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_failure(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) {
    return fail(errc::failed_precondition, path.string() + ": is not a regular file");
  }
  if (secret && (st.st_mode & 077) != 0) {
    return fail(errc::failed_precondition,
                path.string() + ": has mode " + octal(st.st_mode) +
                    "; a file with a secret must be readable by its owner only (chmod 600 " +
                    path.string() + ")");
  }
  if (secret && st.st_uid != ::geteuid()) {
    return fail(errc::failed_precondition,
                path.string() + ": is owned by uid " + std::to_string(st.st_uid) +
                    ", not by this process's user (uid " + std::to_string(::geteuid()) + ")");
  }
  if (static_cast<size_t>(st.st_size) > max_credential_file) {
    return fail(errc::failed_precondition, path.string() + ": is too large to be a credential (" +
                                               std::to_string(st.st_size) + " bytes)");
  }
  std::string content;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure(path, "cannot read");
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > max_credential_file) {
      return fail(errc::failed_precondition, path.string() + ": is too large to be a credential");
    }
  }
  return content;
}

}  // namespace

result<std::string> read_secret_file(const std::filesystem::path& path) {
  return read_regular_file(path, true);
}

result<std::string> read_public_file(const std::filesystem::path& path) {
  return read_regular_file(path, false);
}

result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());  // left by a crash mid-write, if at all
  {
    fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_failure(tmp, "cannot create");
    if (::fchmod(fd.get(), mode) != 0) return io_failure(tmp, "cannot set the mode");
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        auto e = io_failure(tmp, "cannot write");
        ::unlink(tmp.c_str());
        return e;
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      auto e = io_failure(tmp, "cannot sync");
      ::unlink(tmp.c_str());
      return e;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = io_failure(path, "cannot replace");
    ::unlink(tmp.c_str());
    return e;
  }
  return sync_directory(path.parent_path().empty() ? "." : path.parent_path());
}

result<void> ensure_directory(const std::filesystem::path& path, mode_t mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return fail(errc::failed_precondition, path.string() + ": exists and is not a directory");
    }
    return {};
  }
  if (path.has_parent_path() && path.parent_path() != path) {
    if (auto ok = ensure_directory(path.parent_path(), 0755); !ok) return ok;
  }
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST) return ensure_directory(path, mode);  // made meanwhile: check it
    return io_failure(path, "cannot create");
  }
  if (::chmod(path.c_str(), mode) != 0) return io_failure(path, "cannot set the mode");
  return {};
}

bool exists_at(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

result<void> sync_directory(const std::filesystem::path& path) {
  fd_guard fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return io_failure(path, "cannot open the directory");
  if (::fsync(fd.get()) != 0) return io_failure(path, "cannot sync the directory");
  return {};
}

}  // namespace gantry::security
