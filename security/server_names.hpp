#pragma once
// The names a coordinator's certificate carries, and the form a client checks them in.
//
// A name is a DNS name (lowercase, without a trailing dot) or an IP literal in canonical text
// form ("127.0.0.1", "::1"; brackets and non-canonical spellings such as "0:0::1" are
// normalised). kj-tls checks the server's certificate against the name a client dials as a
// DNS name only (X509_VERIFY_PARAM_set1_host): it never matches an IP SAN. So every name,
// IP literals included, goes into the certificate as a DNS SAN, and IP literals also as an IP
// SAN for other TLS clients. Clients must dial with canonical_server_name() of what they were
// given, so "0:0::1" and "::1" both match.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gantry::security {

// The canonical text of an IPv4 or IPv6 literal (brackets allowed); nullopt when `name` is none.
std::optional<std::string> canonical_ip(std::string_view name);

// A DNS name or IP literal in canonical form. errc::invalid_argument when it is neither
// (DNS names: labels of letters, digits, '-' and '_' of 1-63 characters, 253 at most).
result<std::string> canonical_server_name(std::string_view name);

// The names for a coordinator that listens on `listen_host` (the host part of --listen) and is
// advertised as each of `advertise`: the listen host unless it is a wildcard ("", "*",
// "0.0.0.0", "::"; those add 127.0.0.1 and ::1, which they include), `hostname` when it is a
// valid DNS name, "localhost", and every advertised name. Sorted, without repeats. An invalid
// listen host or advertised name is an error naming it.
result<std::vector<std::string>> coordinator_server_names(std::string_view listen_host,
                                                          const std::vector<std::string>& advertise,
                                                          std::string_view hostname);

// This machine's hostname (gethostname), "" when it has none.
std::string local_hostname();

}  // namespace gantry::security
