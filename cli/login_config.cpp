#include "cli/login_config.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "security/credential_files.hpp"
#include "security/secure_files.hpp"
#include "security/token.hpp"

namespace gantry::cli {
namespace fs = std::filesystem;

std::string login_config_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
    return std::string(xdg) + "/gantry/config";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/gantry/config";
}

result<std::optional<login_config>> read_login_config() {
  std::string path = login_config_path();
  if (!security::exists_at(path)) return std::optional<login_config>();
  auto text = security::read_secret_file(path);
  if (!text) return fail(text.error());
  login_config c;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "coordinator") c.coordinator = value;
    if (key == "token") c.token = value;
    if (key == "ca") c.ca = value;
  }
  return std::optional<login_config>(c);
}

result<void> write_login_config(const login_config& c) {
  fs::path path = login_config_path();
  if (auto ok = security::ensure_directory(path.parent_path(), 0700); !ok) return ok;
  return security::write_file_atomically(
      path, "coordinator=" + c.coordinator + "\ntoken=" + c.token + "\nca=" + c.ca + "\n", 0600);
}

result<client_credentials> credentials_for(const client_options& o) {
  client_credentials c;
  if (o.insecure) {
    c.insecure = true;
    return c;
  }
  std::optional<login_config> config;
  auto need_config = [&]() -> result<void> {
    if (config) return {};
    auto r = read_login_config();
    if (!r) return fail(r.error());
    config = r->value_or(login_config{});
    return {};
  };
  if (!o.token_file.empty()) {
    auto t = security::read_token_file(o.token_file);
    if (!t) return fail(errc::unauthenticated, "--token-file: " + t.error().message);
    c.token = t->text;
  } else if (const char* env = std::getenv("GANTRY_TOKEN"); env && *env) {
    auto t = security::parse_token(env);
    if (!t) return fail(errc::unauthenticated, "$GANTRY_TOKEN: " + t.error().message);
    c.token = t->text;
  } else {
    if (auto ok = need_config(); !ok) return fail(ok.error());
    c.token = config->token;
  }
  // A missing token or CA is reported by client::connect once the address is known to answer.
  if (!o.ca.empty()) {
    c.ca_file = o.ca;
    c.ca_source = "--ca " + o.ca;
  } else if (const char* env = std::getenv("GANTRY_CA"); env && *env) {
    c.ca_file = env;
    c.ca_source = std::string("$GANTRY_CA (") + env + ")";
  } else {
    if (auto ok = need_config(); !ok) return fail(ok.error());
    c.ca_file = config->ca;
    c.ca_source = login_config_path();
  }
  return c;
}

}  // namespace gantry::cli
