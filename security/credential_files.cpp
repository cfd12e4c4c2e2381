#include "security/credential_files.hpp"

#include <algorithm>
#include <ctime>
#include <system_error>

#include "security/pki.hpp"
#include "security/secure_files.hpp"
#include "security/server_names.hpp"

namespace gantry::security {
namespace {

namespace fs = std::filesystem;
constexpr int64_t ms_per_day = 86'400'000;

std::string utc_date(int64_t ms) {
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::unexpected<error> unusable(const fs::path& path, const std::string& why) {
  return fail(errc::failed_precondition, path.string() + ": " + why);
}

std::string new_ca_remedy(const coordinator_credential_paths& p) {
  return "restore it from a backup, or remove " + p.tls_dir.string() +
         " to create a new CA (every worker and client then needs the new ca.crt)";
}

// "added a, b; removed c"
std::string name_changes(const std::vector<std::string>& had,
                         const std::vector<std::string>& want) {
  std::vector<std::string> added, removed;
  std::set_difference(want.begin(), want.end(), had.begin(), had.end(), std::back_inserter(added));
  std::set_difference(had.begin(), had.end(), want.begin(), want.end(),
                      std::back_inserter(removed));
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  std::string out;
  if (!added.empty()) out += "added " + join(added);
  if (!removed.empty()) out += (out.empty() ? "removed " : "; removed ") + join(removed);
  return out;
}

result<void> write_pair(const fs::path& key_path, const fs::path& cert_path,
                        const key_and_cert& pair) {
  // The key first: a crash between the two leaves a key that does not match the old
  // certificate, which the next start notices and reissues.
  if (auto ok = write_file_atomically(key_path, pair.key_pem, 0600); !ok) return ok;
  return write_file_atomically(cert_path, pair.cert_pem, 0644);
}

// First start: everything in a staging directory renamed into place, so a crash never
// leaves a tls/ directory with half a CA.
result<key_and_cert> create_tls_dir(const coordinator_credential_paths& p,
                                    const std::vector<std::string>& names, int64_t now_ms,
                                    const credential_lifetimes& life) {
  fs::path staging = p.tls_dir;
  staging += ".new";
  std::error_code ec;
  fs::remove_all(staging, ec);
  if (ec) return fail(errc::io_error, staging.string() + ": cannot remove: " + ec.message());
  if (auto ok = ensure_directory(staging, 0755); !ok) return fail(ok.error());
  auto ca = create_ca(now_ms, life.ca_days);
  if (!ca) return fail(ca.error());
  auto server = issue_server_cert(*ca, names, now_ms, life.server_days);
  if (!server) return fail(server.error());
  if (auto ok = write_pair(staging / p.ca_key.filename(), staging / p.ca_cert.filename(), *ca);
      !ok) {
    return fail(ok.error());
  }
  if (auto ok = write_pair(staging / p.server_key.filename(), staging / p.server_cert.filename(),
                           *server);
      !ok) {
    return fail(ok.error());
  }
  fs::rename(staging, p.tls_dir, ec);
  if (ec) return fail(errc::io_error, p.tls_dir.string() + ": cannot create: " + ec.message());
  if (auto ok = sync_directory(p.tls_dir.parent_path()); !ok) return fail(ok.error());
  return *server;
}

// A later start: the CA as it is, or an error that says how to recover.
result<key_and_cert> load_ca(const coordinator_credential_paths& p, int64_t now_ms) {
  bool has_cert = exists_at(p.ca_cert), has_key = exists_at(p.ca_key);
  if (!has_cert && !has_key) {
    return unusable(p.tls_dir, "holds no CA (ca.crt and ca.key are missing); " + new_ca_remedy(p));
  }
  if (!has_cert || !has_key) {
    return unusable(has_cert ? p.ca_key : p.ca_cert, "is missing; " + new_ca_remedy(p));
  }
  auto key = read_secret_file(p.ca_key);
  if (!key) return fail(key.error());
  auto cert = read_public_file(p.ca_cert);
  if (!cert) return fail(cert.error());
  auto info = inspect_cert(*cert);
  if (!info) return unusable(p.ca_cert, info.error().message);
  if (!info->is_ca) return unusable(p.ca_cert, "is not a CA certificate; " + new_ca_remedy(p));
  if (auto ok = check_key_matches(*cert, *key); !ok) {
    bool mismatch = ok.error().code == errc::failed_precondition;
    return unusable(
        p.ca_key, (mismatch ? std::string("is not the key of ca.crt") : ok.error().message) + "; " +
                      new_ca_remedy(p));
  }
  if (info->not_after_ms <= now_ms) {
    return unusable(p.ca_cert, "the CA expired on " + utc_date(info->not_after_ms) + "; remove " +
                                   p.tls_dir.string() +
                                   " to create a new CA (every worker and client then needs the "
                                   "new ca.crt)");
  }
  return key_and_cert{std::move(*key), std::move(*cert)};
}

// Why the server certificate must be issued anew, or "" when it serves as it is. Files that
// are present but unreadable are errors, not reasons.
result<std::string> server_cert_problem(const coordinator_credential_paths& p,
                                        const key_and_cert& ca,
                                        const std::vector<std::string>& names, int64_t now_ms,
                                        const credential_lifetimes& life) {
  if (!exists_at(p.server_cert)) return std::string("server.crt is missing");
  if (!exists_at(p.server_key)) return std::string("server.key is missing");
  auto key = read_secret_file(p.server_key);
  if (!key) return fail(key.error());
  auto cert = read_public_file(p.server_cert);
  if (!cert) return fail(cert.error());
  auto info = inspect_cert(*cert);
  if (!info) return unusable(p.server_cert, info.error().message);
  if (auto ok = check_key_matches(*cert, *key); !ok) {
    if (ok.error().code != errc::failed_precondition) {
      return unusable(p.server_key, ok.error().message);
    }
    return std::string("server.key does not belong to server.crt");
  }
  if (auto ok = verify_server_cert(*cert, ca.cert_pem, now_ms); !ok) {
    return "server.crt does not verify under ca.crt: " + ok.error().message;
  }
  if (info->not_after_ms - now_ms < life.renew_days * ms_per_day) {
    return "server.crt expires on " + utc_date(info->not_after_ms);
  }
  if (info->dns_names != names) return "names changed: " + name_changes(info->dns_names, names);
  return std::string();
}

result<void> ensure_server_cert(const coordinator_credential_paths& p, const key_and_cert& ca,
                                const std::vector<std::string>& names, int64_t now_ms,
                                const credential_lifetimes& life, coordinator_credentials& out) {
  auto problem = server_cert_problem(p, ca, names, now_ms, life);
  if (!problem) return fail(problem.error());
  if (!problem->empty()) {
    auto server = issue_server_cert(ca, names, now_ms, life.server_days);
    if (!server) return fail(server.error());
    if (auto ok = write_pair(p.server_key, p.server_cert, *server); !ok) return ok;
    out.server_cert_issued = std::move(*problem);
  }
  return {};
}

// The token in `path`, created when the file does not exist; `created` says which.
result<std::string> ensure_token_file(const fs::path& path, bool& created) {
  created = false;
  if (exists_at(path)) {
    auto token = read_token_file(path);
    if (!token) return fail(token.error());
    return token->text;
  }
  auto token = generate_token();
  if (!token) return fail(token.error());
  if (auto ok = write_file_atomically(path, token->text + "\n", 0600); !ok) return fail(ok.error());
  created = true;
  return token->text;
}

}  // namespace

coordinator_credential_paths credential_paths(const fs::path& data_dir) {
  coordinator_credential_paths p;
  p.tls_dir = data_dir / "tls";
  p.ca_cert = p.tls_dir / "ca.crt";
  p.ca_key = p.tls_dir / "ca.key";
  p.server_cert = p.tls_dir / "server.crt";
  p.server_key = p.tls_dir / "server.key";
  p.tokens_dir = data_dir / "tokens";
  p.admin_token = p.tokens_dir / "admin";
  p.join_token = p.tokens_dir / "join";
  return p;
}

result<coordinator_credentials> ensure_coordinator_credentials(
    const fs::path& data_dir, const std::vector<std::string>& server_names, int64_t now_ms,
    const credential_lifetimes& lifetimes) {
  if (server_names.empty()) {
    return fail(errc::invalid_argument, "the server certificate needs at least one name");
  }
  std::vector<std::string> names;
  for (const auto& n : server_names) {
    auto c = canonical_server_name(n);
    if (!c) return fail(c.error());
    names.push_back(*c);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  coordinator_credentials out;
  out.paths = credential_paths(data_dir);
  const auto& p = out.paths;
  if (auto ok = ensure_directory(data_dir, 0700); !ok) return fail(ok.error());

  if (!exists_at(p.tls_dir)) {
    auto server = create_tls_dir(p, names, now_ms, lifetimes);
    if (!server) return fail(server.error());
    out.ca_created = true;
    out.server_cert_issued = "first start";
  } else {
    if (auto ok = ensure_directory(p.tls_dir, 0755); !ok) return fail(ok.error());
    auto ca = load_ca(p, now_ms);
    if (!ca) return fail(ca.error());
    if (auto ok = ensure_server_cert(p, *ca, names, now_ms, lifetimes, out); !ok) {
      return fail(ok.error());
    }
  }

  // Read back what is on disk now, so the result is exactly what a restart would load.
  for (auto [path, pem] :
       {std::pair{&p.ca_cert, &out.ca_cert_pem}, std::pair{&p.server_cert, &out.server_cert_pem}}) {
    auto text = read_public_file(*path);
    if (!text) return fail(text.error());
    *pem = std::move(*text);
  }
  auto key = read_secret_file(p.server_key);
  if (!key) return fail(key.error());
  out.server_key_pem = std::move(*key);
  auto ca_info = inspect_cert(out.ca_cert_pem);
  auto server_info = inspect_cert(out.server_cert_pem);
  if (!ca_info) return unusable(p.ca_cert, ca_info.error().message);
  if (!server_info) return unusable(p.server_cert, server_info.error().message);
  out.ca_fingerprint = ca_info->fingerprint;
  out.ca_expires_ms = ca_info->not_after_ms;
  out.server_names = server_info->dns_names;
  out.server_expires_ms = server_info->not_after_ms;

  if (auto ok = ensure_directory(p.tokens_dir, 0700); !ok) return fail(ok.error());
  auto admin = ensure_token_file(p.admin_token, out.admin_token_created);
  if (!admin) return fail(admin.error());
  out.admin_token = std::move(*admin);
  auto join = ensure_token_file(p.join_token, out.join_token_created);
  if (!join) return fail(join.error());
  out.join_token = std::move(*join);
  return out;
}

result<parsed_token> read_token_file(const fs::path& path) {
  auto text = read_secret_file(path);
  if (!text) return fail(text.error());
  auto token = parse_token(*text);
  if (!token) return fail(token.error().code, path.string() + ": " + token.error().message);
  return token;
}

}  // namespace gantry::security
