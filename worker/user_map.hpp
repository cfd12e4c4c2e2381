#pragma once
// Which Unix user a task runs as (docs/isolation.md, "Users"). A worker running as root runs
// each task as the user its map gives for the job's owner; owners the map does not name, and
// an empty owner, run as the map's default: `nobody` (with its own group and no supplementary
// groups) unless the file's `*` line says otherwise. Users and groups are resolved once, when
// the map is loaded: the launcher's child switches to the numbers with raw syscalls only.
//
// The file: one `OWNER USER[:GROUP]` per line, `#` to the end of a line is a comment, blank
// lines are ignored; OWNER `*` sets the default. Without GROUP the user's primary group and
// its supplementary groups (from the group database) apply.
//   alice    alice
//   ci-bot   svc-ci:gpu
//   *        nobody
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace gantry {

// A resolved Unix identity.
struct unix_user {
  std::string name;  // as the map names it (for logs)
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups; empty clears them
  friend bool operator==(const unix_user&, const unix_user&) = default;
};

// Looks the user up in the password and group databases: "alice", "alice:gpu". Without a
// group: the user's primary group and the groups it belongs to.
result<unix_user> resolve_unix_user(const std::string& user_and_group);

class user_map {
 public:
  // Everyone runs as `nobody` (uid and gid 65534 where the system has no such user).
  user_map();
  // Parses and resolves the map file's text. Errors name FILE:LINE and say how to fix it:
  //   users.map:3: expected "OWNER USER[:GROUP]", got "alice" (add the Unix user after the owner)
  //   users.map:4: no such user "bob" (create it, or map the owner to a user that exists)
  static result<user_map> parse(const std::string& text, const std::string& file);
  static result<user_map> load(const std::string& path);

  // The identity a task of `owner` runs as.
  const unix_user& user_for(const std::string& owner) const;
  // "owner -> root" lines for every mapping (default included) to uid or gid 0, so that the
  // worker can warn loudly at start.
  std::vector<std::string> root_mappings() const;

 private:
  unix_user default_;
  std::string default_origin_;  // where the default was set ("built in" or FILE:LINE)
  std::map<std::string, unix_user> owners_;
  std::map<std::string, std::string> origins_;  // owner -> FILE:LINE
};

// Makes the worker's data dir (and its tasks/ dir) reachable but not listable by tasks
// (0711): a task finds its own directory by name, owned by its user and closed to others,
// and nothing else. Creates them when missing.
result<void> close_data_dir(const std::string& data_dir);

// The first existing directory on the way to `path` (itself included) that `user` may not
// search, or "" when it can reach as far as exists.
std::string unreachable_for(const std::string& path, const unix_user& user);

// Hands a directory the worker created for a task to the task's user (chown); with
// mode != 0 also sets its permissions.
result<void> hand_over(const std::string& dir, const unix_user& user, mode_t mode = 0);

}  // namespace gantry
