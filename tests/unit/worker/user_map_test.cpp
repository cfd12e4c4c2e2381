// Who tasks run as (worker/user_map.hpp): the map file, its errors, and the default.
#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "worker/user_map.hpp"

using namespace gantry;

namespace {
uid_t uid_of(const char* name) {
  struct passwd* pw = getpwnam(name);
  REQUIRE(pw != nullptr);
  return pw->pw_uid;
}
}  // namespace

TEST_CASE("without a map every owner, the empty one too, runs as nobody with no extra groups") {
  user_map m;
  CHECK(m.user_for("").name == "nobody");
  CHECK(m.user_for("alice").uid == uid_of("nobody"));
  CHECK(m.user_for("alice").gid == getpwnam("nobody")->pw_gid);
  CHECK(m.user_for("alice").groups.empty());
  CHECK(m.root_mappings().empty());
}

TEST_CASE("a map sends owners to users and groups, and * sets the default") {
  auto m = user_map::parse(
      "# owner  user[:group]\n"
      "alice  daemon        # a comment\n"
      "\n"
      "bob    nobody:daemon\n"
      "*      bin\n",
      "users.map");
  REQUIRE_MESSAGE(m.has_value(), m.error().message);
  CHECK(m->user_for("alice").uid == uid_of("daemon"));
  CHECK(m->user_for("bob").uid == uid_of("nobody"));
  CHECK(m->user_for("bob").gid == getpwnam("daemon")->pw_gid);
  CHECK(m->user_for("bob").groups.empty());  // an explicit group: that group alone
  CHECK(m->user_for("carol").uid == uid_of("bin"));
  CHECK(m->user_for("").uid == uid_of("bin"));
  CHECK(m->root_mappings().empty());
}

TEST_CASE("a map to root is explicit and listed for the worker's warning") {
  auto m = user_map::parse("ops root\n* nobody:root\n", "users.map");
  REQUIRE(m.has_value());
  CHECK(m->user_for("ops").uid == 0);
  auto roots = m->root_mappings();
  REQUIRE(roots.size() == 2);
  CHECK(roots[0] == "every unmapped owner -> nobody:root (users.map:2)");
  CHECK(roots[1] == "ops -> root (users.map:1)");
}

TEST_CASE("the map's errors name the line and the fix") {
  struct bad {
    const char* text;
    const char* error;
  };
  for (const auto& b : {
           bad{"alice\n",
               "users.map:1: expected \"OWNER USER[:GROUP]\", got \"alice\" (one owner and one "
               "Unix user per line, separated by blanks)"},
           bad{"# x\nalice nobody extra\n",
               "users.map:2: expected \"OWNER USER[:GROUP]\", got \"alice nobody extra\" (one "
               "owner and one Unix user per line, separated by blanks)"},
           bad{"alice gantry-no-such-user\n",
               "users.map:1: no such user \"gantry-no-such-user\" (create it, or map the owner "
               "to a user and group that exist)"},
           bad{"alice nobody:gantry-no-such-group\n",
               "users.map:1: no such group \"gantry-no-such-group\" (create it, or map the "
               "owner to a user and group that exist)"},
           bad{"alice nobody:\n",
               "users.map:1: \"nobody:\" has an empty user or group (write USER or "
               "USER:GROUP)"},
           bad{"alice nobody\n\nalice daemon\n",
               "users.map:3: owner \"alice\" is mapped twice, first on line 1 (keep one line "
               "per owner)"},
           bad{"* nobody\n* daemon\n",
               "users.map:2: a second default (\"*\"), the first is on line 1 (keep one \"*\" "
               "line)"},
       }) {
    CAPTURE(b.text);
    auto m = user_map::parse(b.text, "users.map");
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().message == b.error);
  }
  auto missing = user_map::load("/nonexistent/users.map");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message ==
        "cannot read the user map /nonexistent/users.map: No such file or directory");
}

TEST_CASE("a directory on the way that the task user may not search is named") {
  if (geteuid() != 0) return;  // needs a directory owned by someone else than the user
  namespace fs = std::filesystem;
  fs::path top = fs::temp_directory_path() / ("gantry-user-map-" + std::to_string(getpid()));
  fs::create_directories(top / "inner");
  user_map m;
  const unix_user& nobody = m.user_for("");
  REQUIRE(chmod(top.c_str(), 0700) == 0);
  CHECK(unreachable_for((top / "inner" / "not-yet").string(), nobody) == top.string());
  REQUIRE(chmod(top.c_str(), 0711) == 0);
  CHECK(unreachable_for((top / "inner" / "not-yet").string(), nobody) == "");
  fs::remove_all(top);
}
