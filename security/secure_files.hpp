#pragma once
// Files that hold credentials. Every error names the path and says what to do.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gantry::security {

// Reads a file that holds a secret (a private key, a token). Refused, with
// errc::failed_precondition: a symbolic link, anything but a regular file, a file that group
// or others may read or write (its mode must be 0600 or 0400), a file owned by another user.
// errc::not_found when it does not exist, errc::io_error when it cannot be read.
result<std::string> read_secret_file(const std::filesystem::path& path);

// Reads a regular file that holds nothing secret (a certificate). Same not_found and io_error.
result<std::string> read_public_file(const std::filesystem::path& path);

// Replaces `path` atomically with `content` and exactly `mode` (umask does not apply): writes
// `path`.tmp, fsyncs it, renames it over `path`, fsyncs the directory. After a crash `path`
// holds either its old or its new content.
result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   mode_t mode);

// Creates `path` (and missing parents) as a directory with `mode` unless it exists; an
// existing non-directory is an error.
result<void> ensure_directory(const std::filesystem::path& path, mode_t mode);

// Whether something (a file, a link, a directory) exists at `path`.
bool exists_at(const std::filesystem::path& path);

// Flushes a directory's entries (after a rename or a new file in it) to disk.
result<void> sync_directory(const std::filesystem::path& path);

}  // namespace gantry::security
