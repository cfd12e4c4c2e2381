// Reading a manifest: YAML -> job_spec with shape and type errors, then the semantic rules of
// manifest_validate.cpp, all errors merged into document order.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <optional>

#include "core/manifest.hpp"
#include "core/quantity.hpp"

namespace gantry {
namespace {

constexpr int64_t kDefaultCpuMilli = 1000;            // one core
constexpr int64_t kDefaultMemoryBytes = 256LL << 20;  // 256MiB

const std::vector<std::string> kJobFields{
    "name", "queue", "priority", "max_restarts", "time_limit", "restart_on_time_limit", "stages"};
const std::vector<std::string> kStageFields{
    "name",          "device", "replicas",      "resources",           "env",
    "command",       "after",  "collective",    "placement",           "checkpoint",
    "colocate_with", "fabric", "node_selector", "no_retry_exit_codes", "working_dir",
    "time_limit"};
const std::vector<std::string> kResourceFields{"cpu",        "memory",    "gpu",
                                               "gpu_memory", "gpu_model", "dpu"};
const std::vector<std::string> kCheckpointFields{"dir", "signal", "grace"};

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "12", "-3", "+4", "1.5": printed bare in messages; anything else is quoted.
bool looks_numeric(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "1" : s.substr(dot + 1);
  return !whole.empty() && !frac.empty() && all_digits(whole) && all_digits(frac);
}

// What a node holds, for "got ..." in messages.
std::string describe(const YAML::Node& n) {
  if (n.IsScalar()) return looks_numeric(n.Scalar()) ? n.Scalar() : detail::quote(n.Scalar());
  return n.IsMap() ? "a map" : n.IsSequence() ? "a list" : "null";
}

// A decimal integer with an optional sign; nothing else (no 0x, no 1e3, no 2.0).
std::optional<int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || (s[0] == '-' && s.size() == 1)) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Collects a job_spec and the errors found on the way, each with its offset in the text.
class reader {
 public:
  job_spec read_job(const YAML::Node& root) {
    job_spec spec;
    bool has_name = false, has_stages = false;
    for_each_field(root, "", kJobFields,
                   [&](const std::string& key, const YAML::Node& v, const std::string& p) {
                     if (key == "name") {
                       has_name = true;
                       if (auto t = read_text(v, p, "a job name")) spec.name = *t;
                     } else if (key == "queue") {
                       if (auto t = read_text(v, p, "a queue name")) spec.queue = *t;
                     } else if (key == "priority") {
                       if (auto i = read_int(v, p, -1000, 1000)) spec.priority = *i;
                     } else if (key == "max_restarts") {
                       if (auto i = read_int(v, p, 0, 1000)) spec.max_restarts = *i;
                     } else if (key == "time_limit") {
                       if (auto d = read_duration(v, p)) spec.time_limit_ms = *d;
                     } else if (key == "restart_on_time_limit") {
                       if (auto b = read_choice(
                               v, p, "true or false",
                               {std::pair<std::string_view, bool>{"true", true}, {"false", false}}))
                         spec.restart_on_time_limit = *b;
                     } else if (key == "stages") {
                       has_stages = true;
                       if (!v.IsSequence())
                         return report(p, v, "expected a list of stages, got " + describe(v));
                       for (size_t k = 0; k < v.size(); ++k) {
                         std::string sp = p + "[" + std::to_string(k) + "]";
                         note(sp, v[k]);
                         spec.stages.push_back(read_stage(v[k], sp));
                       }
                     }
                   });
    if (!has_name) report("name", root, "required");
    if (!has_stages) report("stages", root, "required");
    return spec;
  }

  const std::set<std::string>& reported() const { return reported_; }

  // These errors plus the semantic ones, in document order.
  std::vector<manifest_error> finish(std::vector<manifest_error> semantic) {
    for (auto& e : semantic) {
      int64_t pos = position_of(e.path);
      errors_.push_back({std::move(e), pos});
    }
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const located& a, const located& b) { return a.pos < b.pos; });
    std::vector<manifest_error> out;
    for (auto& e : errors_) out.push_back(std::move(e.error));
    return out;
  }

 private:
  struct located {
    manifest_error error;
    int64_t pos;
  };

  static int64_t pos(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().pos; }

  void note(const std::string& path, const YAML::Node& n) { positions_[path] = pos(n); }

  // Offset of `path`, else of the nearest path above it that was seen.
  int64_t position_of(const std::string& path) const {
    if (auto it = positions_.find(path); it != positions_.end()) return it->second;
    for (size_t k = path.size(); k-- > 0;) {
      if (path[k] != '.' && path[k] != '[') continue;
      if (auto it = positions_.find(path.substr(0, k)); it != positions_.end()) return it->second;
    }
    return 0;
  }

  // Records an error at `path`, placed where the path was noted (its key or list item), else at
  // `at`; the validator then stays silent about that path.
  void report(const std::string& path, const YAML::Node& at, std::string message) {
    auto it = positions_.find(path);
    errors_.push_back({{path, std::move(message)}, it != positions_.end() ? it->second : pos(at)});
    reported_.insert(path);
  }

  // Calls fn(key, value, path) for each entry of a map with a text key, in document order;
  // reports keys that are not text or repeat an earlier one.
  template <class F>
  void for_each_entry(const YAML::Node& map, const std::string& path, F&& fn) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      // Copies: yaml-cpp's iterator hands out a proxy that dies with the expression.
      const YAML::Node key = entry.first, value = entry.second;
      if (!key.IsScalar()) {
        std::string hint =
            key.IsNull() ? " (quote a key that YAML reads as null, e.g. \"NULL\")" : "";
        errors_.push_back({{path, "expected text keys, got " + describe(key) + hint}, pos(key)});
        continue;
      }
      std::string p = detail::key_path(path, key.Scalar());
      if (!seen.insert(key.Scalar()).second) {
        errors_.push_back({{p, "repeated key (it is already set above)"}, pos(key)});
        continue;
      }
      note(p, key);
      fn(key.Scalar(), value, p);
    }
  }

  // for_each_entry over a map of fields; unknown fields are reported, with a hint.
  template <class F>
  void for_each_field(const YAML::Node& map, const std::string& path,
                      const std::vector<std::string>& known, F&& fn) {
    for_each_entry(map, path,
                   [&](const std::string& key, const YAML::Node& v, const std::string& p) {
                     if (std::find(known.begin(), known.end(), key) == known.end())
                       report(p, v, "unknown field" + detail::did_you_mean(key, known));
                     else
                       fn(key, v, p);
                   });
  }

  std::optional<std::string> read_text(const YAML::Node& n, const std::string& path,
                                       std::string_view expected) {
    if (n.IsScalar()) return n.Scalar();
    report(path, n, "expected " + std::string(expected) + ", got " + describe(n));
    return std::nullopt;
  }

  std::optional<int32_t> read_int(const YAML::Node& n, const std::string& path, int64_t lo,
                                  int64_t hi) {
    std::optional<int64_t> v = n.IsScalar() ? parse_int(n.Scalar()) : std::nullopt;
    if (v && *v >= lo && *v <= hi) return static_cast<int32_t>(*v);
    std::string expected =
        hi == std::numeric_limits<int32_t>::max()
            ? "an integer of " + std::to_string(lo) + " or more"
            : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    report(path, n, "expected " + expected + ", got " + describe(n));
    return std::nullopt;
  }

  // A positive duration: "2h", "90m", "30s".
  std::optional<int64_t> read_duration(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar())
      if (auto d = parse_time_limit_ms(n.Scalar())) return *d;
    report(path, n, "expected a duration like 2h, 90m or 30s, got " + describe(n));
    return std::nullopt;
  }

  // One of the named values of an enum.
  template <class E>
  std::optional<E> read_choice(const YAML::Node& n, const std::string& path,
                               std::string_view expected,
                               std::initializer_list<std::pair<std::string_view, E>> choices) {
    if (n.IsScalar())
      for (const auto& [name, value] : choices)
        if (n.Scalar() == name) return value;
    report(path, n, "expected " + std::string(expected) + ", got " + describe(n));
    return std::nullopt;
  }

  // A list of texts; an item that is not text is reported and kept as "" so indexes match.
  std::vector<std::string> read_text_list(const YAML::Node& n, const std::string& path,
                                          std::string_view expected_list,
                                          std::string_view expected_item) {
    std::vector<std::string> out;
    if (!n.IsSequence()) {
      report(path, n, "expected " + std::string(expected_list) + ", got " + describe(n));
      return out;
    }
    for (size_t k = 0; k < n.size(); ++k) {
      std::string p = path + "[" + std::to_string(k) + "]";
      note(p, n[k]);
      out.push_back(read_text(n[k], p, expected_item).value_or(""));
    }
    return out;
  }

  std::map<std::string, std::string> read_text_map(const YAML::Node& n, const std::string& path,
                                                   std::string_view expected_map,
                                                   std::string_view expected_value) {
    std::map<std::string, std::string> out;
    if (!n.IsMap()) {
      report(path, n, "expected " + std::string(expected_map) + ", got " + describe(n));
      return out;
    }
    for_each_entry(n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
      if (auto t = read_text(v, p, expected_value)) out[key] = *t;
    });
    return out;
  }

  stage_spec read_stage(const YAML::Node& n, const std::string& path);
  void read_resources(const YAML::Node& n, const std::string& path, resource_request& r);
  void read_gpu(const YAML::Node& n, const std::string& path, resource_request& r);
  void read_grace(const YAML::Node& n, const std::string& path, checkpoint_spec& c);

  std::vector<located> errors_;
  std::set<std::string> reported_;
  std::map<std::string, int64_t> positions_;  // path -> offset of its node in the text
};

stage_spec reader::read_stage(const YAML::Node& n, const std::string& path) {
  stage_spec s;
  s.resources.cpu_milli = kDefaultCpuMilli;
  s.resources.memory_bytes = kDefaultMemoryBytes;
  if (!n.IsMap()) {
    report(path, n,
           "expected a map with the stage's name, command and other fields, got " + describe(n));
    return s;
  }
  bool has_name = false, has_command = false;
  for_each_field(
      n, path, kStageFields,
      [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        if (key == "name") {
          has_name = true;
          if (auto t = read_text(v, p, "a stage name")) s.name = *t;
        } else if (key == "device") {
          if (auto d = read_choice<device_kind>(v, p, "cpu, gpu or dpu",
                                                {{"cpu", device_kind::cpu},
                                                 {"gpu", device_kind::gpu},
                                                 {"dpu", device_kind::dpu}}))
            s.device = *d;
        } else if (key == "replicas") {
          if (auto i = read_int(v, p, 1, 10000)) s.replicas = *i;
        } else if (key == "resources") {
          read_resources(v, p, s.resources);
        } else if (key == "env") {
          s.env =
              read_text_map(v, p, "a map of variable names to values", "a string, number or bool");
        } else if (key == "command") {
          has_command = true;
          s.command =
              read_text_list(v, p, "a list of strings like [\"prog\", \"--flag\"]", "a string");
        } else if (key == "after") {
          s.after = read_text_list(v, p, "a list of stage names like [prepare]", "a stage name");
        } else if (key == "collective") {
          if (auto c = read_choice<collective_kind>(v, p, "nccl (leave collective out for none)",
                                                    {{"nccl", collective_kind::nccl}}))
            s.collective = *c;
        } else if (key == "placement") {
          if (auto c = read_choice<placement_pref>(
                  v, p, "pack or spread",
                  {{"pack", placement_pref::pack}, {"spread", placement_pref::spread}}))
            s.placement = *c;
        } else if (key == "checkpoint") {
          s.checkpoint = checkpoint_spec{};
          if (!v.IsMap())
            return report(p, v, "expected a map like {dir: /shared/ckpt}, got " + describe(v));
          bool has_dir = false;
          for_each_field(v, p, kCheckpointFields,
                         [&](const std::string& ck, const YAML::Node& dv, const std::string& dp) {
                           if (ck == "signal") {
                             if (auto t = read_text(dv, dp, "a signal name such as SIGUSR1"))
                               s.checkpoint->signal = *t;
                           } else if (ck == "grace") {
                             read_grace(dv, dp, *s.checkpoint);
                           } else {
                             has_dir = true;
                             if (auto t = read_text(dv, dp, "an absolute path"))
                               s.checkpoint->dir = *t;
                           }
                         });
          if (!has_dir) report(p + ".dir", v, "required");
        } else if (key == "time_limit") {
          if (auto d = read_duration(v, p)) s.time_limit_ms = *d;
        } else if (key == "working_dir") {
          if (auto t = read_text(v, p, "an absolute path")) s.working_dir = *t;
          if (v.IsScalar() && v.Scalar().empty())
            report(p, v, "expected an absolute path, got \"\"");
        } else if (key == "colocate_with") {
          if (auto t = read_text(v, p, "a stage name")) s.colocate_with = *t;
          if (v.IsScalar() && v.Scalar().empty()) report(p, v, "expected a stage name, got \"\"");
        } else if (key == "fabric") {
          if (auto t = read_text(v, p, "a libfabric provider name")) s.fabric = *t;
          if (v.IsScalar() && v.Scalar().empty())
            report(p, v,
                   "expected a libfabric provider name (e.g. tcp or verbs;ofi_rxm), got \"\"");
        } else if (key == "node_selector") {
          s.node_selector = read_text_map(v, p, "a map of node labels to values", "a string");
        } else if (key == "no_retry_exit_codes") {
          if (!v.IsSequence())
            return report(p, v, "expected a list of exit codes like [2, 3], got " + describe(v));
          for (size_t k = 0; k < v.size(); ++k) {
            std::string cp = p + "[" + std::to_string(k) + "]";
            note(cp, v[k]);
            s.no_retry_exit_codes.push_back(read_int(v[k], cp, 0, 255).value_or(0));
          }
        }
      });
  if (!has_name) report(path + ".name", n, "required");
  if (!has_command) report(path + ".command", n, "required");
  return s;
}

void reader::read_grace(const YAML::Node& n, const std::string& path, checkpoint_spec& c) {
  if (!n.IsScalar())
    return report(path, n, "expected a duration like 30s or 2m, got " + describe(n));
  auto ms = parse_duration_ms(n.Scalar());
  if (!ms) return report(path, n, ms.error().message);
  if (*ms <= 0) return report(path, n, "expected a duration above 0, got " + describe(n));
  c.grace_ms = *ms;
}

void reader::read_resources(const YAML::Node& n, const std::string& path, resource_request& r) {
  if (!n.IsMap())
    return report(path, n, "expected a map like {cpu: 2, memory: 1GiB}, got " + describe(n));
  for_each_field(
      n, path, kResourceFields,
      [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        if (key == "cpu") {
          if (!v.IsScalar())
            return report(p, v, "expected a CPU amount like 2, 0.5 or 500m, got " + describe(v));
          if (auto milli = parse_cpu_milli(v.Scalar()))
            r.cpu_milli = *milli;
          else
            report(p, v, milli.error().message);
        } else if (key == "memory" || key == "gpu_memory") {
          if (!v.IsScalar())
            return report(p, v, "expected a size like 512MiB or 8GiB, got " + describe(v));
          auto bytes = parse_bytes(v.Scalar());
          if (!bytes) return report(p, v, bytes.error().message);
          if (key == "memory") {
            r.memory_bytes = *bytes;
          } else if (*bytes > 0) {
            r.gpu_memory_bytes = *bytes;
          } else {
            report(p, v,
                   "must be more than 0 bytes (leave gpu_memory out for no requirement), got " +
                       describe(v));
          }
        } else if (key == "gpu") {
          read_gpu(v, p, r);
        } else if (key == "gpu_model") {
          if (v.IsScalar()) {
            r.gpu_models = {v.Scalar()};
          } else if (v.IsSequence() && v.size() == 0) {
            report(p, v, "expected a GPU model name or a list of them, got an empty list");
          } else {
            r.gpu_models =
                read_text_list(v, p, "a GPU model name or a list of them", "a model name");
          }
        } else if (key == "dpu") {
          if (auto i = read_int(v, p, 0, std::numeric_limits<int32_t>::max())) r.dpus = *i;
        }
      });
}

// `gpu: 2` -> {2, 1000}; `gpu: 0.25` -> {1, 250}; 1.5, 0, -1 and 0.0001 are rejected.
void reader::read_gpu(const YAML::Node& n, const std::string& path, resource_request& r) {
  if (!n.IsScalar())
    return report(path, n, "expected a whole GPU count or a fraction below 1, got " + describe(n));
  std::string_view text = n.Scalar();
  std::string wrong = describe(n) + " is not a whole count or a fraction below 1";
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (!all_digits(whole) || !all_digits(frac) || (whole.empty() && frac.empty()) ||
      (dot != std::string_view::npos && frac.empty()))
    return report(path, n, wrong);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  int64_t count = 0;
  if (!whole.empty()) {
    auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), count);
    if (ec != std::errc() || count > std::numeric_limits<int32_t>::max())
      return report(path, n, wrong);
  }
  if (frac.empty()) {
    if (count < 1) return report(path, n, wrong);
    r.gpu_count = static_cast<int32_t>(count);
    r.gpu_milli = kGpuMilliWhole;
    return;
  }
  if (count != 0) return report(path, n, wrong);
  if (frac.size() > 3) return report(path, n, wrong + " with at most 3 decimals");
  int32_t milli = 0;
  for (size_t k = 0; k < 3; ++k) milli = milli * 10 + (k < frac.size() ? frac[k] - '0' : 0);
  r.gpu_count = 1;
  r.gpu_milli = milli;
}

std::unexpected<std::vector<manifest_error>> document_error(std::string message) {
  return std::unexpected(std::vector<manifest_error>{{"", std::move(message)}});
}

}  // namespace

std::expected<job_spec, std::vector<manifest_error>> parse_manifest(std::string_view yaml_text,
                                                                    uint64_t max_bytes) {
  if (yaml_text.size() > max_bytes)
    return document_error("the manifest has " + std::to_string(yaml_text.size()) +
                          " bytes; at most " + std::to_string(max_bytes) + " (" +
                          format_bytes(static_cast<int64_t>(max_bytes)) +
                          ") are accepted (the coordinator's --max-manifest-bytes)");
  try {
    if (auto problem = detail::yaml_documents_problem(yaml_text, max_bytes); !problem.empty())
      return document_error(problem);
    std::vector<YAML::Node> docs;
    for (auto& doc : YAML::LoadAll(std::string(yaml_text)))
      if (!doc.IsNull()) docs.push_back(doc);
    if (docs.empty())
      return document_error("the manifest is empty (expected a map with name and stages)");
    if (!docs[0].IsMap())
      return document_error("expected a map with name and stages, got " + describe(docs[0]));
    reader r;
    job_spec spec = r.read_job(docs[0]);
    auto errors = r.finish(detail::validate_spec(spec, r.reported()));
    if (!errors.empty()) return std::unexpected(std::move(errors));
    return spec;
  } catch (const YAML::DeepRecursion& e) {
    return document_error("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                          std::to_string(e.mark.column + 1) + ": nested too deeply");
  } catch (const YAML::ParserException& e) {
    if (e.mark.is_null()) return document_error("invalid YAML: " + e.msg);
    return document_error("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                          std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return document_error(std::string("cannot read the manifest: ") + e.what());
  }
}

}  // namespace gantry
