// `gantry login`, `token create|list|revoke`, `nodes remove`: credentials and their holders.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/client_session.hpp"
#include "cli/login_config.hpp"
#include "security/credential_files.hpp"

namespace gantry::cli {
namespace {

// "30d", "12h", "90m", "45s" -> milliseconds; "" -> 0 (no expiry).
result<int64_t> parse_ttl(const std::string& text) {
  if (text.empty()) return int64_t{0};
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    used = 0;
  }
  std::string unit = text.substr(used);
  int64_t per = unit == "d"   ? 86400000
                : unit == "h" ? 3600000
                : unit == "m" ? 60000
                : unit == "s" ? 1000
                              : 0;
  if (used == 0 || n <= 0 || per == 0)
    return fail(errc::invalid_argument,
                "--ttl: expected a positive number and a unit, such as 30d, 12h, 90m or 45s, "
                "got \"" +
                    text + "\"");
  return n * per;
}

std::string date(int64_t ms) {
  if (ms == 0) return "never";
  std::time_t t = ms / 1000;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::gmtime(&t));
  return buf;
}

}  // namespace

int run_remove_node(const client_options& c, const std::string& node) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  if (auto r = (*cl)->remove_node(node); !r) return report(r.error());
  std::cout << node << ": removed (its credential is revoked; it may join again)\n";
  return kExitOk;
}

int run_token_create(const client_options& c, const std::string& user, const std::string& role,
                     const std::string& ttl) {
  auto ms = parse_ttl(ttl);
  if (!ms) return report(ms.error());
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto token = (*cl)->create_token(user, role, *ms);
  if (!token) return report(token.error());
  std::cout << *token << std::endl;
  return kExitOk;
}

int run_token_list(const client_options& c) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto tokens = (*cl)->list_tokens();
  if (!tokens) return report(tokens.error());
  if (c.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : *tokens) {
      nlohmann::json j = {{"id", t.id},
                          {"user", t.user},
                          {"role", t.role},
                          {"created_ms", t.created_ms},
                          {"expires_ms", t.expires_ms}};
      if (!t.node.empty()) j["node"] = t.node;
      out.push_back(j);
    }
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::printf("%-14s %-20s %-6s %-17s %s\n", "ID", "USER", "ROLE", "CREATED", "EXPIRES");
  for (const auto& t : *tokens)
    std::printf("%-14s %-20s %-6s %-17s %s\n", t.id.c_str(), t.user.c_str(), t.role.c_str(),
                date(t.created_ms).c_str(), date(t.expires_ms).c_str());
  return kExitOk;
}

int run_token_revoke(const client_options& c, const std::string& id) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  if (auto r = (*cl)->revoke_token(id); !r) return report(r.error());
  std::cout << "token " << id << " revoked\n";
  return kExitOk;
}

int run_login(const login_options& o) {
  client_options c;
  c.coordinator = o.coordinator;
  c.token_file = o.token_file;
  std::error_code ec;
  c.ca = std::filesystem::absolute(o.ca, ec).string();
  auto address = coordinator_address(c.coordinator);
  if (!address) return report(address.error());
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto who = (*cl)->whoami();
  if (!who) return report(who.error());
  auto token = security::read_token_file(o.token_file);
  if (!token) return report(token.error());
  if (auto ok = write_login_config({*address, token->text, c.ca}); !ok) return report(ok.error());
  std::cout << "logged in to " << *address << " as " << describe(*who) << "; config in "
            << login_config_path() << "\n";
  return kExitOk;
}

}  // namespace gantry::cli
