// Canonical YAML output for job specs, and helpers shared by the manifest reader and validator.
#include "core/manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "core/quantity.hpp"

namespace gantry {

std::string manifest_error::to_string() const {
  return path.empty() ? message : path + ": " + message;
}

std::string to_string(const std::vector<manifest_error>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.to_string();
  }
  return out;
}

namespace detail {

std::string quote(std::string_view text) {
  constexpr size_t kMax = 80;
  bool cut = text.size() > kMax;
  if (cut) {
    size_t n = kMax;
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    text = text.substr(0, n);
  }
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

namespace {

// Case-insensitive edit distance (insert, delete, substitute, each 1).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty() || word.size() > 64) return "";
  // Short words tolerate one typo, longer ones two or three.
  size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  const std::string* best = nullptr;
  size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    if (c.size() > 64) continue;
    size_t d = edit_distance(word, c);
    if (d < best_distance && d < word.size() && d < c.size()) {
      best_distance = d;
      best = &c;
    }
  }
  return best ? *best : "";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = closest_match(word, candidates);
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

bool is_plain_key(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80           ? 0
                   : (c >> 5) == 0x6  ? 1
                   : (c >> 4) == 0xE  ? 2
                   : (c >> 3) == 0x1E ? 3
                                      : 9;
    if (extra > 3 || s.size() - i <= extra) return false;
    uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string text_problem(std::string_view s) {
  if (s.find('\0') != std::string_view::npos) return "must not contain a NUL character";
  if (!valid_utf8(s)) return "must be valid UTF-8";
  return "";
}

std::string key_path(const std::string& parent, std::string_view key) {
  if (!is_plain_key(key)) return parent + "[" + quote(key) + "]";
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace detail

namespace {

// True when `s` reads back as the same string from a plain (unquoted) YAML scalar in any YAML
// reader: an identifier-like word that YAML 1.1 does not read as a null, bool or number.
bool plain_safe(const std::string& s) {
  if (s.empty()) return false;
  unsigned char first = static_cast<unsigned char>(s[0]);
  if (!std::isalpha(first) && first != '_' && first != '/') return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '-' && c != '.' && c != '/') return false;
  }
  static constexpr std::array<std::string_view, 10> kReserved{
      "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kReserved.begin(), kReserved.end(), lower) == kReserved.end() && lower != ".nan";
}

// A word: plain when safe, else double-quoted.
void emit_word(YAML::Emitter& out, const std::string& s) {
  if (plain_safe(s))
    out << s;
  else
    out << YAML::DoubleQuoted << s;
}

// Free text (commands, environment values, paths): always double-quoted.
void emit_text(YAML::Emitter& out, const std::string& s) {
  out << YAML::DoubleQuoted << s;
}

std::string cpu_text(int64_t milli) {
  std::string text = format_cpu(milli);
  auto back = parse_cpu_milli(text);
  return back && *back == milli ? text : std::to_string(milli) + "m";
}

std::string memory_text(int64_t bytes) {
  std::string text = format_bytes(bytes);
  auto back = parse_bytes(text);
  return back && *back == bytes ? text : std::to_string(bytes);
}

// `gpu:` as written: a whole count, or 0.25 for a 250-milli share.
std::string gpu_text(const resource_request& r) {
  if (r.gpu_milli == kGpuMilliWhole) return std::to_string(r.gpu_count);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%03d", r.gpu_milli);
  std::string digits = buf;
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return "0." + digits;
}

void emit_resources(YAML::Emitter& out, const resource_request& r) {
  out << YAML::Key << "resources" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "cpu" << YAML::Value << cpu_text(r.cpu_milli);
  out << YAML::Key << "memory" << YAML::Value << memory_text(r.memory_bytes);
  if (r.gpu_count > 0) out << YAML::Key << "gpu" << YAML::Value << gpu_text(r);
  if (r.gpu_memory_bytes > 0)
    out << YAML::Key << "gpu_memory" << YAML::Value << memory_text(r.gpu_memory_bytes);
  if (!r.gpu_models.empty()) {
    out << YAML::Key << "gpu_model" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& m : r.gpu_models) emit_word(out, m);
    out << YAML::EndSeq;
  }
  if (r.dpus > 0) out << YAML::Key << "dpu" << YAML::Value << r.dpus;
  out << YAML::EndMap;
}

void emit_string_map(YAML::Emitter& out, const char* key,
                     const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m) {
    out << YAML::Key;
    emit_word(out, k);
    out << YAML::Value;
    emit_text(out, v);
  }
  out << YAML::EndMap;
}

void emit_stage(YAML::Emitter& out, const stage_spec& s) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  emit_word(out, s.name);
  out << YAML::Key << "device" << YAML::Value << to_string(s.device);
  if (!s.after.empty()) {
    out << YAML::Key << "after" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& a : s.after) emit_word(out, a);
    out << YAML::EndSeq;
  }
  out << YAML::Key << "replicas" << YAML::Value << s.replicas;
  if (s.collective != collective_kind::none)
    out << YAML::Key << "collective" << YAML::Value << to_string(s.collective);
  if (s.placement != placement_pref::none)
    out << YAML::Key << "placement" << YAML::Value << to_string(s.placement);
  if (!s.colocate_with.empty()) {
    out << YAML::Key << "colocate_with" << YAML::Value;
    emit_word(out, s.colocate_with);
  }
  if (!s.fabric.empty()) {
    out << YAML::Key << "fabric" << YAML::Value;
    emit_word(out, s.fabric);
  }
  emit_string_map(out, "node_selector", s.node_selector);
  emit_resources(out, s.resources);
  emit_string_map(out, "env", s.env);
  if (!s.working_dir.empty()) {
    out << YAML::Key << "working_dir" << YAML::Value;
    emit_text(out, s.working_dir);
  }
  if (s.checkpoint) {
    out << YAML::Key << "checkpoint" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "dir" << YAML::Value;
    emit_text(out, s.checkpoint->dir);
    if (!s.checkpoint->signal.empty()) {
      out << YAML::Key << "signal" << YAML::Value;
      emit_text(out, s.checkpoint->signal);
    }
    if (s.checkpoint->grace_ms != 0)
      out << YAML::Key << "grace" << YAML::Value << format_duration_ms(s.checkpoint->grace_ms);
    out << YAML::EndMap;
  }
  if (s.time_limit_ms > 0)
    out << YAML::Key << "time_limit" << YAML::Value << format_duration(s.time_limit_ms);
  if (!s.no_retry_exit_codes.empty()) {
    out << YAML::Key << "no_retry_exit_codes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (int32_t code : s.no_retry_exit_codes) out << code;
    out << YAML::EndSeq;
  }
  out << YAML::Key << "command" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& arg : s.command) emit_text(out, arg);
  out << YAML::EndSeq;
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const job_spec& spec) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  emit_word(out, spec.name);
  if (spec.queue != job_spec{}.queue) {
    out << YAML::Key << "queue" << YAML::Value;
    emit_word(out, spec.queue);
  }
  out << YAML::Key << "priority" << YAML::Value << spec.priority;
  out << YAML::Key << "max_restarts" << YAML::Value << spec.max_restarts;
  if (spec.time_limit_ms > 0)
    out << YAML::Key << "time_limit" << YAML::Value << format_duration(spec.time_limit_ms);
  if (spec.restart_on_time_limit)
    out << YAML::Key << "restart_on_time_limit" << YAML::Value << true;
  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : spec.stages) emit_stage(out, s);
  out << YAML::EndSeq;
  out << YAML::EndMap;
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace gantry
