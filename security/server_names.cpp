#include "security/server_names.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>

namespace gantry::security {
namespace {

bool is_label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), is_label_char)) return false;
    start = end + 1;
  }
  return true;
}

bool is_wildcard(std::string_view host) {
  return host.empty() || host == "*" || canonical_ip(host) == "0.0.0.0" ||
         canonical_ip(host) == "::";
}

}  // namespace

std::optional<std::string> canonical_ip(std::string_view name) {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  if (name.empty() || name.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string text(name);
  unsigned char raw[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), raw) == 1) {
    return std::string(inet_ntop(AF_INET, raw, out, sizeof out));
  }
  if (inet_pton(AF_INET6, text.c_str(), raw) == 1) {
    return std::string(inet_ntop(AF_INET6, raw, out, sizeof out));
  }
  return std::nullopt;
}

result<std::string> canonical_server_name(std::string_view name) {
  if (auto ip = canonical_ip(name)) return *ip;
  std::string dns(name);
  if (dns.size() > 1 && dns.back() == '.') dns.pop_back();
  std::transform(dns.begin(), dns.end(), dns.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!is_dns_name(dns)) {
    return fail(errc::invalid_argument,
                "'" + std::string(name) + "' is not a hostname or an IP address");
  }
  return dns;
}

result<std::vector<std::string>> coordinator_server_names(std::string_view listen_host,
                                                          const std::vector<std::string>& advertise,
                                                          std::string_view hostname) {
  std::vector<std::string> names{"localhost"};
  if (is_wildcard(listen_host)) {
    names.push_back("127.0.0.1");
    names.push_back("::1");
  } else {
    auto n = canonical_server_name(listen_host);
    if (!n) return fail(errc::invalid_argument, "listen address: " + n.error().message);
    names.push_back(*n);
  }
  if (auto n = canonical_server_name(hostname)) names.push_back(*n);
  for (const auto& a : advertise) {
    auto n = canonical_server_name(a);
    if (!n) return fail(errc::invalid_argument, "--advertise: " + n.error().message);
    names.push_back(*n);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

}  // namespace gantry::security
