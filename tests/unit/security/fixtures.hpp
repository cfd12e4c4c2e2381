#pragma once
// Shared by the security tests: temporary directories, credentials made in them, and a TLS
// handshake over an in-process pipe on the caller's KJ event loop.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <kj/async-io.h>

#include "core/log.hpp"
#include "security/credential_files.hpp"
#include "security/server_names.hpp"
#include "security/tls.hpp"

namespace gantry::security::testing {

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/gantry-security-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The names a coordinator listening on 127.0.0.1 with the machine's hostname would use.
inline std::vector<std::string> default_names(std::vector<std::string> advertise = {}) {
  auto names = coordinator_server_names("127.0.0.1", advertise, local_hostname());
  REQUIRE(names.has_value());
  return *names;
}

inline coordinator_credentials make_credentials(const std::filesystem::path& dir,
                                                const std::vector<std::string>& names) {
  auto c = ensure_coordinator_credentials(dir, names, now_ms());
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message));
  return *c;
}

inline tls_server server_for(const coordinator_credentials& c) {
  auto s = tls_server::create(c.server_cert_pem, c.server_key_pem);
  REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
  return std::move(*s);
}

inline tls_client client_trusting(std::string_view ca_pem) {
  auto c = tls_client::create(ca_pem);
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message));
  return std::move(*c);
}

struct handshake_result {
  kj::Own<kj::AsyncIoStream> client;  // null when the client refused or failed
  kj::Own<kj::AsyncIoStream> server;  // null when the client failed
  kj::Maybe<kj::Exception> client_error;
};

// Both ends of a handshake over kj::newTwoWayPipe(): the server's side runs while the client
// waits; when the client succeeds, the server's stream is awaited too.
inline handshake_result handshake(kj::WaitScope& ws, tls_server& server, tls_client& client,
                                  std::string_view server_name) {
  auto pipe = kj::newTwoWayPipe();
  auto server_side = server.wrap(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
  handshake_result r;
  r.client_error = kj::runCatchingExceptions(
      [&] { r.client = client.wrap(kj::mv(pipe.ends[1]), server_name).wait(ws); });
  if (r.client_error == nullptr) r.server = server_side.wait(ws);
  return r;
}

inline std::string message_of(const kj::Maybe<kj::Exception>& e) {
  KJ_IF_MAYBE (ex, e) {
    return ex->getDescription().cStr();
  }
  return "";
}

}  // namespace gantry::security::testing
