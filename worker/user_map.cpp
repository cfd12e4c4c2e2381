#include "worker/user_map.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gantry {
namespace {

constexpr uid_t kNobodyId = 65534;

// getpwnam_r/getgrnam_r with a buffer that grows as they ask.
template <class Entry, class Fn>
bool lookup(const std::string& name, Entry& out, std::vector<char>& buf, Fn fn) {
  buf.resize(1024);
  for (;;) {
    Entry* found = nullptr;
    int rc = fn(name.c_str(), &out, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}

std::string trim_comment(const std::string& line) {
  std::string s = line.substr(0, line.find('#'));
  return s;
}

}  // namespace

result<unix_user> resolve_unix_user(const std::string& user_and_group) {
  auto colon = user_and_group.find(':');
  std::string user = user_and_group.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : user_and_group.substr(colon + 1);
  if (user.empty() || (colon != std::string::npos && group.empty()))
    return fail(errc::invalid_argument,
                "expected USER or USER:GROUP, got \"" + user_and_group + "\"");
  struct passwd pw {};
  std::vector<char> buf;
  if (!lookup(user, pw, buf, getpwnam_r))
    return fail(errc::not_found, "no such user \"" + user + "\"");
  unix_user u{user_and_group, pw.pw_uid, pw.pw_gid, {}};
  if (!group.empty()) {
    struct group gr {};
    std::vector<char> gbuf;
    if (!lookup(group, gr, gbuf, getgrnam_r))
      return fail(errc::not_found, "no such group \"" + group + "\"");
    u.gid = gr.gr_gid;
    return u;  // an explicit group: that group alone
  }
  int n = 32;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  while (getgrouplist(user.c_str(), u.gid, groups.data(), &n) < 0)
    groups.resize(static_cast<size_t>(n));
  groups.resize(static_cast<size_t>(n));
  for (gid_t g : groups)
    if (g != u.gid) u.groups.push_back(g);
  return u;
}

user_map::user_map() : default_origin_("built in") {
  auto nobody = resolve_unix_user("nobody");
  default_ = nobody ? unix_user{"nobody", nobody->uid, nobody->gid, {}}
                    : unix_user{"nobody", kNobodyId, kNobodyId, {}};
}

result<user_map> user_map::parse(const std::string& text, const std::string& file) {
  user_map m;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string where = file + ":" + std::to_string(number);
    auto bad = [&](const std::string& why, const std::string& fix) {
      return fail(errc::invalid_argument, where + ": " + why + " (" + fix + ")");
    };
    std::istringstream words(trim_comment(line));
    std::string owner, user, extra;
    if (!(words >> owner)) continue;
    if (!(words >> user) || (words >> extra))
      return bad("expected \"OWNER USER[:GROUP]\", got \"" + line + "\"",
                 "one owner and one Unix user per line, separated by blanks");
    if (user.front() == ':' || user.back() == ':')
      return bad("\"" + user + "\" has an empty user or group", "write USER or USER:GROUP");
    auto resolved = resolve_unix_user(user);
    if (!resolved)
      return bad(resolved.error().message,
                 "create it, or map the owner to a user and group that exist");
    if (owner == "*") {
      if (m.default_origin_ != "built in")
        return bad("a second default (\"*\"), the first is on line " +
                       m.default_origin_.substr(m.default_origin_.rfind(':') + 1),
                   "keep one \"*\" line");
      m.default_ = *resolved;
      m.default_origin_ = where;
      continue;
    }
    if (auto it = m.origins_.find(owner); it != m.origins_.end())
      return bad("owner \"" + owner + "\" is mapped twice, first on line " +
                     it->second.substr(it->second.rfind(':') + 1),
                 "keep one line per owner");
    m.owners_[owner] = *resolved;
    m.origins_[owner] = where;
  }
  return m;
}

result<user_map> user_map::load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return fail(errc::not_found, "cannot read the user map " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const unix_user& user_map::user_for(const std::string& owner) const {
  auto it = owners_.find(owner);
  return it == owners_.end() ? default_ : it->second;
}

std::vector<std::string> user_map::root_mappings() const {
  std::vector<std::string> out;
  auto privileged = [](const unix_user& u) { return u.uid == 0 || u.gid == 0; };
  if (privileged(default_))
    out.push_back("every unmapped owner -> " + default_.name + " (" + default_origin_ + ")");
  for (const auto& [owner, u] : owners_)
    if (privileged(u)) out.push_back(owner + " -> " + u.name + " (" + origins_.at(owner) + ")");
  return out;
}

result<void> close_data_dir(const std::string& data_dir) {
  for (const std::string& dir : {data_dir, data_dir + "/tasks"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(errc::io_error, "cannot create " + dir + ": " + ec.message());
    if (::chmod(dir.c_str(), 0711) != 0)
      return fail(errc::io_error, "cannot chmod 0711 " + dir + ": " + std::strerror(errno));
  }
  return {};
}

std::string unreachable_for(const std::string& path, const unix_user& user) {
  std::filesystem::path whole = std::filesystem::absolute(path).lexically_normal();
  std::filesystem::path at;
  for (const auto& part : whole) {
    at /= part;
    struct stat sb {};
    if (::stat(at.c_str(), &sb) != 0) return "";  // the rest does not exist yet
    if (!S_ISDIR(sb.st_mode)) return "";
    bool in_group = sb.st_gid == user.gid;
    for (gid_t g : user.groups) in_group = in_group || sb.st_gid == g;
    mode_t bit = sb.st_uid == user.uid ? S_IXUSR : in_group ? S_IXGRP : S_IXOTH;
    if (user.uid != 0 && !(sb.st_mode & bit)) return at.string();
  }
  return "";
}

result<void> hand_over(const std::string& dir, const unix_user& user, mode_t mode) {
  if (::lchown(dir.c_str(), user.uid, user.gid) != 0)
    return fail(errc::io_error, "cannot give " + dir + " to uid " + std::to_string(user.uid) +
                                    ": " + std::strerror(errno));
  if (mode != 0 && ::chmod(dir.c_str(), mode) != 0)
    return fail(errc::io_error, "cannot chmod " + dir + ": " + std::strerror(errno));
  return {};
}

}  // namespace gantry
