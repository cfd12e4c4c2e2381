#include <doctest/doctest.h>

#include "security/server_names.hpp"

using namespace gantry;
using namespace gantry::security;
using names = std::vector<std::string>;

TEST_CASE("IP literals are recognised in any spelling and written canonically") {
  CHECK(canonical_ip("127.0.0.1") == "127.0.0.1");
  CHECK(canonical_ip("::1") == "::1");
  CHECK(canonical_ip("[::1]") == "::1");
  CHECK(canonical_ip("0:0:0:0:0:0:0:1") == "::1");
  CHECK(canonical_ip("FE80:0::1") == "fe80::1");
  CHECK_FALSE(canonical_ip("localhost").has_value());
  CHECK_FALSE(canonical_ip("127.0.0.256").has_value());
  CHECK_FALSE(canonical_ip("").has_value());
  CHECK_FALSE(canonical_ip("[]").has_value());
}

TEST_CASE("server names: DNS names lowercased without a final dot, anything else refused") {
  CHECK(canonical_server_name("Coord-1.Example.ORG.") == "coord-1.example.org");
  CHECK(canonical_server_name("gpu_node") == "gpu_node");
  CHECK(canonical_server_name("[0:0::1]") == "::1");
  for (std::string bad : std::vector<std::string>{
           "", "two words", "-lead.example", "trail-.example", "a..b", "a/b", "x:7070",
           std::string(64, 'a') + ".example", std::string(254, 'a')}) {
    CAPTURE(bad);
    auto n = canonical_server_name(bad);
    REQUIRE_FALSE(n.has_value());
    CHECK(n.error().code == errc::invalid_argument);
    CHECK(n.error().message.find("not a hostname or an IP address") != std::string::npos);
  }
}

TEST_CASE("a coordinator's names: listen host, hostname, localhost, advertised, sorted, once") {
  auto n = coordinator_server_names("127.0.0.1", {"Coord.Example.org", "10.0.0.5", "127.0.0.1"},
                                    "gpu-head");
  REQUIRE(n.has_value());
  CHECK(*n == names{"10.0.0.5", "127.0.0.1", "coord.example.org", "gpu-head", "localhost"});
}

TEST_CASE("a wildcard listen host is no name to dial, but covers the loopback addresses") {
  for (std::string wildcard : {"0.0.0.0", "::", "[::]", "", "*"}) {
    CAPTURE(wildcard);
    auto n = coordinator_server_names(wildcard, {}, "head");
    REQUIRE(n.has_value());
    CHECK(*n == names{"127.0.0.1", "::1", "head", "localhost"});
  }
}

TEST_CASE("a bad listen host or --advertise is an error naming it, a bad hostname is left out") {
  auto bad_advertise = coordinator_server_names("127.0.0.1", {"ok.example", "not ok"}, "head");
  REQUIRE_FALSE(bad_advertise.has_value());
  CHECK(bad_advertise.error().message ==
        "--advertise: 'not ok' is not a hostname or an IP address");
  auto bad_listen = coordinator_server_names("a b", {}, "head");
  REQUIRE_FALSE(bad_listen.has_value());
  CHECK(bad_listen.error().message.starts_with("listen address: 'a b'"));
  auto odd_hostname = coordinator_server_names("127.0.0.1", {}, "my host");
  REQUIRE(odd_hostname.has_value());
  CHECK(*odd_hostname == names{"127.0.0.1", "localhost"});
  CHECK_FALSE(local_hostname().empty());
}
