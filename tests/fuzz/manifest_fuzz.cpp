// libFuzzer harness for the manifest parser: any bytes in, a job_spec or errors out; never a
// crash, a hang or an unbounded allocation. A spec that parses must validate, and its
// canonical YAML must parse back to a spec with the same canonical YAML.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // A small cap keeps alias expansion (bounded by the same number) fast under the fuzzer.
  constexpr uint64_t kMaxBytes = 64 << 10;
  auto spec = gantry::parse_manifest(text, kMaxBytes);
  if (!spec) return 0;
  if (!gantry::validate_spec(*spec).empty()) std::abort();  // parsed means valid
  std::string yaml = gantry::to_yaml(*spec);
  auto again = gantry::parse_manifest(yaml, gantry::kMaxManifestBytesCeiling);
  if (!again || gantry::to_yaml(*again) != yaml) std::abort();  // the round trip holds
  return 0;
}
