#pragma once
// Job manifests: YAML text <-> job_spec, and the rules a spec must satisfy.
// The YAML form, every field, its default and its unit are documented in docs/manifest.md.
// Nothing here throws: yaml-cpp's exceptions are caught and become manifest_errors.
#include <expected>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/spec.hpp"

namespace gantry {

// One problem in a manifest, located by the path of the field it concerns.
struct manifest_error {
  std::string path;  // "stages[1].resources.gpu", "name", "stages[0].after[2]"; "" = the document
  std::string message;  // what is wrong and what was expected, without the path
  // "path: message", or the message alone when the path is empty.
  std::string to_string() const;
  friend bool operator==(const manifest_error&, const manifest_error&) = default;
};

// All errors, one per line (each as manifest_error::to_string()).
std::string to_string(const std::vector<manifest_error>& errors);

// The coordinator's default --max-manifest-bytes, and the most that flag accepts.
inline constexpr uint64_t kDefaultMaxManifestBytes = 1 << 20;
inline constexpr uint64_t kMaxManifestBytesCeiling = 64 << 20;

// Parses YAML text into a job_spec, fills in defaults and validates it. On failure returns every
// error found (not only the first), in document order; a YAML syntax error is one error with an
// empty path whose message gives the line and column.
// The text, and the text as its YAML aliases expand it (every alias counts as a copy of the node
// it names: the reader would copy it), must each fit in max_bytes; otherwise the one error
// (empty path) names the limit, before any node tree is built.
std::expected<job_spec, std::vector<manifest_error>> parse_manifest(
    std::string_view yaml_text, uint64_t max_bytes = kDefaultMaxManifestBytes);

// Checks an already-built spec against every manifest rule (the coordinator re-validates specs
// that arrive over RPC). Returns the errors in stage order; empty = valid. Defaults are not
// filled in: a spec whose resources.cpu or resources.memory is 0 is invalid.
std::vector<manifest_error> validate_spec(const job_spec& spec);

// Canonical YAML for a spec: every field that differs from its default, plus name, priority,
// max_restarts, device, replicas, resources.cpu and resources.memory always.
// For every spec s with validate_spec(s) empty, parse_manifest(to_yaml(s)) == s.
std::string to_yaml(const job_spec& spec);

namespace detail {

// validate_spec that stays silent about `reported` paths, paths below them ("stages[1]" covers
// "stages[1].name"), and rules that depend on them. parse_manifest passes the paths whose YAML
// it already rejected, so one mistake gives one error.
std::vector<manifest_error> validate_spec(const job_spec& spec,
                                          const std::set<std::string>& reported);

// `text` in double quotes with \" \\ and control characters escaped, cut at 80 characters.
std::string quote(std::string_view text);

// The candidate closest to `word` when it is a likely typo (short words tolerate one edit,
// longer ones two or three), else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean X?)" with X = closest_match(word, candidates), or "" when there is none.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view s);

// Why free text (an argument, a value, a path) cannot be passed to a process and printed back as
// YAML, or "" when it can: it holds a NUL character or is not valid UTF-8.
std::string text_problem(std::string_view s);

// Why YAML text cannot be loaded as a single document within max_expanded_bytes, or "" when
// it can (syntax errors inside a document are left for the loader). Guards against yaml-cpp
// 0.7's LoadAll, which loops forever on some malformed input, and against alias bombs: the
// expanded weight is 1 per node plus the bytes of every scalar, an alias weighing what its
// anchored node weighs (core/manifest_scan.cpp).
std::string yaml_documents_problem(std::string_view text, uint64_t max_expanded_bytes);

// True for a path segment that prints bare after a dot (letters, digits, '_', '-').
bool is_plain_key(std::string_view key);

// `parent` + ".key", or `parent` + "[\"key\"]" when the key is not plain.
std::string key_path(const std::string& parent, std::string_view key);

}  // namespace detail
}  // namespace gantry
