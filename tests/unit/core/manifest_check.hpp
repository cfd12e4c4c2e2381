#pragma once
// Helpers shared by the manifest tests.
#include <string>
#include <string_view>

#include "core/manifest.hpp"

namespace gantry::test {

// The smallest valid manifest: one job `j` with one stage `s`.
inline constexpr std::string_view kMinimal =
    "name: j\nstages:\n  - name: s\n    command: [run]\n";

// "valid", or the parse error as a user reads it.
inline std::string errors(std::string_view yaml) {
  auto r = parse_manifest(yaml);
  return r ? "valid" : to_string(r.error());
}

}  // namespace gantry::test
