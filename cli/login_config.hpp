#pragma once
// Where a client's credentials come from, and the config `gantry login` writes:
//   token: --token-file F, else $GANTRY_TOKEN (the token itself), else the config;
//   CA:    --ca F, else $GANTRY_CA (a path), else the config;
//   coordinator: --coordinator, else $GANTRY_COORDINATOR, else the config, else the default.
// The config is $XDG_CONFIG_HOME/gantry/config (default ~/.config/gantry/config), mode 0600,
// lines of KEY=VALUE: coordinator, token, ca.
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "core/result.hpp"
#include "protocol/client.hpp"

namespace gantry::cli {

struct login_config {
  std::string coordinator;
  std::string token;
  std::string ca;  // an absolute path
};

std::string login_config_path();
// nullopt when there is none; errors name the file (e.g. readable by others).
result<std::optional<login_config>> read_login_config();
result<void> write_login_config(const login_config& config);

// The credentials for a client verb. errc::unauthenticated says what is missing and where it
// may come from.
// The credentials for a client verb; an empty token or CA when none is found (client::connect
// then says what is missing). Errors: an unreadable --token-file, a malformed $GANTRY_TOKEN, an
// unusable config.
result<client_credentials> credentials_for(const client_options& c);

}  // namespace gantry::cli
