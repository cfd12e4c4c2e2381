#pragma once
// The coordinator's credential files in its data directory, created on the first start and
// loaded on every later one:
//
//   DATA/tls/            0755  (certificates are public; keys are not)
//     ca.crt             0644  the cluster CA; workers and clients trust it (--ca)
//     ca.key             0600  signs server certificates; never leaves this directory
//     server.crt         0644  the coordinator's certificate, signed by ca.key
//     server.key         0600
//   DATA/tokens/         0700
//     admin              0600  an admin token (security/token.hpp), one line
//     join               0600  the token workers exchange for a node credential
//
// The CA is never replaced: a tls/ directory without a usable CA is an error that says how to
// recover. The server certificate is reissued from the same CA when the names asked for differ
// from the ones it carries, when it does not verify under the CA, when server.key does not
// belong to it, or when it expires within `renew_days`. A missing token file is created anew
// (deleting one rotates it). Files holding secrets are refused when group or others may read
// them (see security/secure_files.hpp).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "security/token.hpp"

namespace gantry::security {

struct coordinator_credential_paths {
  std::filesystem::path tls_dir;
  std::filesystem::path ca_cert;
  std::filesystem::path ca_key;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path tokens_dir;
  std::filesystem::path admin_token;
  std::filesystem::path join_token;
};

coordinator_credential_paths credential_paths(const std::filesystem::path& data_dir);

struct credential_lifetimes {
  int ca_days = 3650;     // 10 years
  int server_days = 730;  // 2 years
  int renew_days = 30;    // reissue a server certificate that expires sooner than this
};

struct coordinator_credentials {
  coordinator_credential_paths paths;
  std::string ca_cert_pem;
  std::string ca_fingerprint;  // "sha256:<hex>" of ca.crt, for logs
  int64_t ca_expires_ms = 0;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::vector<std::string> server_names;  // what server.crt names, sorted
  int64_t server_expires_ms = 0;
  std::string admin_token;  // the token texts, as in the files
  std::string join_token;
  bool ca_created = false;
  std::string server_cert_issued;  // why server.crt was (re)issued now; empty: loaded as it was
  bool admin_token_created = false;
  bool join_token_created = false;
};

// Creates what is missing under `data_dir` and loads the rest. `server_names` are the names
// the server certificate must carry (security/server_names.hpp: coordinator_server_names()).
// REQUIRES: nothing else writes these files meanwhile (the coordinator holds the data
// directory's store lock); server_names is not empty.
// Errors: errc::failed_precondition for files that are present but unusable (wrong mode or
// owner, a key that does not parse or match, a missing or expired CA), each naming the file and
// the remedy; errc::io_error when the disk fails; errc::invalid_argument for a bad name.
result<coordinator_credentials> ensure_coordinator_credentials(
    const std::filesystem::path& data_dir, const std::vector<std::string>& server_names,
    int64_t now_ms, const credential_lifetimes& lifetimes = {});

// Reads a token from a file that only its owner may read (--token-file, --join-token-file,
// DATA/tokens/*); errors name the file, never the token.
result<parsed_token> read_token_file(const std::filesystem::path& path);

}  // namespace gantry::security
