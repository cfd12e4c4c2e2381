// Manifest limits against hostile input: the size cap and the bound on YAML alias expansion
// (issue 9, attack 7: 1 MB of YAML with an alias used 100 times cost 330 MB).
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <string>

#include "core/manifest.hpp"
#include "manifest_check.hpp"

using namespace gantry;
using namespace gantry::test;

namespace {

std::string only_error(std::string_view yaml, uint64_t max_bytes) {
  auto r = parse_manifest(yaml, max_bytes);
  if (r) return "valid";
  REQUIRE(r.error().size() == 1);
  CHECK(r.error()[0].path == "");
  return r.error()[0].message;
}

// Peak resident set of this process so far, in bytes.
uint64_t peak_rss() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

// A manifest whose env holds `uses` aliases of one anchored string of `anchor_bytes`.
std::string alias_fanout(size_t anchor_bytes, int uses) {
  std::string y = "name: j\nx-blob: &blob \"" + std::string(anchor_bytes, 'a') + "\"\n";
  y += "stages:\n  - name: s\n    command: [run]\n    env:\n";
  for (int i = 0; i < uses; ++i) y += "      V" + std::to_string(i) + ": *blob\n";
  return y;
}

}  // namespace

TEST_CASE("a manifest over the size cap is refused, naming the limit") {
  std::string big = std::string(kMinimal) + "# " + std::string(2000, 'x') + "\n";
  CHECK(only_error(big, 1024) ==
        "the manifest has " + std::to_string(big.size()) +
            " bytes; at most 1024 (1KiB) are accepted (the coordinator's --max-manifest-bytes)");
  CHECK(only_error(big, big.size()) == "valid");
  CHECK(kDefaultMaxManifestBytes == 1 << 20);
  // The default applies when no limit is given.
  std::string over = std::string(kMinimal) + "# " + std::string(kDefaultMaxManifestBytes, 'x');
  auto r = parse_manifest(over);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error()[0].message.find("at most 1048576 (1MiB)") != std::string::npos);
}

TEST_CASE("the alias bomb of issue 9 is refused before it is expanded") {
  // About 1 MB of YAML: a 10 KB anchor used 100 times (1 MB expanded) fits 2 MiB, not 512 KiB.
  std::string y = alias_fanout(10000, 100);
  auto fits = parse_manifest(y, 2 << 20);  // within the budget: only the unknown field is wrong
  REQUIRE_FALSE(fits.has_value());
  CHECK(to_string(fits.error()).starts_with("x-blob: unknown field"));
  std::string e = only_error(y, 512 << 10);
  CHECK(e.starts_with("the manifest's YAML aliases expand it beyond 512KiB (by line "));
  CHECK(e.ends_with("at most 512KiB is accepted (the coordinator's --max-manifest-bytes)"));

  // The attack itself: 1 MB of anchor, 100 aliases. Refused without building the copies.
  uint64_t before = peak_rss();
  std::string bomb = alias_fanout(1 << 20, 100);
  CHECK(bomb.size() < (1 << 20) + 4096);
  e = only_error(bomb, 4 << 20);  // even a generous cap stays far below 100 MB
  CHECK(e.starts_with("the manifest's YAML aliases expand it beyond 4MiB"));
  uint64_t grown = peak_rss() - before;
  CAPTURE(grown);
  CHECK(grown < 64u << 20);  // was 330 MB
}

TEST_CASE("nested aliases multiply and are refused (billion laughs)") {
  std::string y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) y += std::string(i ? ", " : "") + "*" + prev;
    y += "]\n";
    prev = c;
  }
  CHECK(y.size() < 1024);  // 10^10 nodes once expanded
  CHECK(only_error(y, kDefaultMaxManifestBytes)
            .starts_with("the manifest's YAML aliases expand it beyond 1MiB (by line "));
}

TEST_CASE("a few aliases within the budget still work") {
  std::string y = std::string(kMinimal) + "    env: &e {A: \"1\"}\n" +
                  "  - name: t\n    command: [run]\n    env: *e\n";
  auto r = parse_manifest(y);
  std::string why = r ? "" : to_string(r.error());
  INFO(why);
  REQUIRE(r.has_value());
  REQUIRE(r->stages.size() == 2);
  CHECK(r->stages[1].env.at("A") == "1");
}
