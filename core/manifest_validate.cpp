// The rules every job spec satisfies, whether it came from YAML or over RPC.
#include <algorithm>
#include <cctype>
#include <limits>
#include <map>

#include "core/manifest.hpp"
#include "core/quantity.hpp"

namespace gantry {
namespace {

constexpr size_t kMaxNameLength = 63;
constexpr std::string_view kReservedEnvPrefix = "GANTRY_";
// The one GANTRY_ variable a manifest sets: how long a task "runs" on a simulated fleet worker
// (gantry worker --fleet); real workers pass it on like any other.
constexpr std::string_view kFleetSecondsEnv = "GANTRY_FLEET_SECONDS";

// Job and stage names: 1..63 of [a-z0-9-], not starting with '-'.
bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength || s[0] == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_env_key(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool valid_fabric(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ';';
  });
}

std::string name_expectation(const std::string& got) {
  if (got.size() > kMaxNameLength)
    return "expected at most 63 characters, got " + std::to_string(got.size());
  return "expected lowercase letters, digits or '-', starting with a letter or digit, got " +
         detail::quote(got);
}

// A share in milli-GPU as a manifest writes it: 500 -> "0.5", 250 -> "0.25".
std::string format_gpu_share(int32_t milli) {
  std::string frac = std::to_string(1000 + milli % 1000).substr(1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::to_string(milli / 1000) + (frac.empty() ? "" : "." + frac);
}

std::string int_range(int64_t lo, int64_t hi, int64_t got) {
  return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
         std::to_string(got);
}

class validator {
 public:
  validator(const job_spec& spec, const std::set<std::string>& reported)
      : spec_(spec), reported_(reported) {}

  std::vector<manifest_error> run() {
    check_job();
    for (size_t i = 0; i < spec_.stages.size(); ++i) check_stage(i);
    check_after_cycles();
    check_colocate_cycles();
    return std::move(errors_);
  }

 private:
  // True when `path` or a path above it was already reported.
  bool reported(const std::string& path) const {
    if (reported_.empty()) return false;
    if (reported_.count(path)) return true;
    for (size_t k = path.size(); k-- > 0;)
      if ((path[k] == '.' || path[k] == '[') && reported_.count(path.substr(0, k))) return true;
    return false;
  }

  void fail(const std::string& path, std::string message) {
    if (!reported(path)) errors_.push_back({path, std::move(message)});
  }

  static std::string stage_path(size_t i) { return "stages[" + std::to_string(i) + "]"; }

  void check_job() {
    if (spec_.name.empty())
      fail("name", "required");
    else if (!valid_name(spec_.name))
      fail("name", name_expectation(spec_.name));
    if (spec_.priority < -1000 || spec_.priority > 1000)
      fail("priority", int_range(-1000, 1000, spec_.priority));
    if (spec_.max_restarts < 0 || spec_.max_restarts > 1000)
      fail("max_restarts", int_range(0, 1000, spec_.max_restarts));
    if (spec_.stages.empty()) fail("stages", "expected at least one stage");
    for (size_t i = 0; i < spec_.stages.size(); ++i) {
      const auto& name = spec_.stages[i].name;
      if (!name.empty()) first_index_.try_emplace(name, i);
    }
  }

  void check_stage(size_t i) {
    const stage_spec& s = spec_.stages[i];
    const std::string p = stage_path(i);
    if (s.name.empty()) {
      fail(p + ".name", "required");
    } else if (!valid_name(s.name)) {
      fail(p + ".name", name_expectation(s.name));
    } else if (size_t first = first_index_.at(s.name); first != i) {
      fail(p + ".name",
           "duplicate stage name " + detail::quote(s.name) + " (also " + stage_path(first) + ")");
    }
    bool device_ok = !reported(p + ".device");
    if (s.device != device_kind::cpu && s.device != device_kind::gpu &&
        s.device != device_kind::dpu) {
      fail(p + ".device", "expected cpu, gpu or dpu");
      device_ok = false;
    }
    if (s.replicas < 1 || s.replicas > 10000)
      fail(p + ".replicas", int_range(1, 10000, s.replicas));
    check_resources(s, p, device_ok);
    check_env(s, p);
    check_command(s, p);
    check_after(s, p);
    if (s.collective != collective_kind::none && s.collective != collective_kind::nccl)
      fail(p + ".collective", "expected nccl");
    else if (s.is_gang() && device_ok && s.device == device_kind::dpu)
      fail(p + ".collective", "a collective stage cannot run on device dpu");
    else if (s.is_gang() && s.resources.fractional_gpu())
      fail(p + ".resources.gpu", "stage " + detail::quote(s.name) + " is collective: its ranks " +
                                     "need whole GPUs (NCCL rejects two ranks of one " +
                                     "communicator on one GPU), got a share of " +
                                     format_gpu_share(s.resources.gpu_milli));
    if (s.placement != placement_pref::none && s.placement != placement_pref::pack &&
        s.placement != placement_pref::spread)
      fail(p + ".placement", "expected pack or spread");
    if (s.checkpoint) {
      const std::string& dir = s.checkpoint->dir;
      if (dir.empty())
        fail(p + ".checkpoint.dir", "required");
      else if (auto why = detail::text_problem(dir); !why.empty())
        fail(p + ".checkpoint.dir", why);
      else if (dir[0] != '/')
        fail(p + ".checkpoint.dir", "expected an absolute path, got " + detail::quote(dir));
      check_checkpoint_signal(*s.checkpoint, p + ".checkpoint");
    }
    if (!s.working_dir.empty()) {
      if (auto why = detail::text_problem(s.working_dir); !why.empty())
        fail(p + ".working_dir", why);
      else if (s.working_dir[0] != '/')
        fail(p + ".working_dir", "expected an absolute path, got " + detail::quote(s.working_dir));
    }
    check_colocate(s, p);
    if (!s.fabric.empty() && !valid_fabric(s.fabric))
      fail(p + ".fabric",
           "expected a libfabric provider name of letters, digits, '_' and ';' (e.g. tcp or "
           "verbs;ofi_rxm), got " +
               detail::quote(s.fabric));
    for (const auto& [key, value] : s.node_selector) {
      std::string kp = detail::key_path(p + ".node_selector", key);
      if (key.empty())
        fail(kp, "expected a label name, got an empty string");
      else if (auto why = detail::text_problem(key); !why.empty())
        fail(kp, "the label name " + why);
      else if (auto why_value = detail::text_problem(value); !why_value.empty())
        fail(kp, why_value);
    }
    for (size_t k = 0; k < s.no_retry_exit_codes.size(); ++k)
      if (int32_t code = s.no_retry_exit_codes[k]; code < 0 || code > 255)
        fail(p + ".no_retry_exit_codes[" + std::to_string(k) + "]", int_range(0, 255, code));
  }

  void check_resources(const stage_spec& s, const std::string& stage, bool device_ok) {
    const resource_request& r = s.resources;
    const std::string p = stage + ".resources";
    if (r.cpu_milli <= 0) fail(p + ".cpu", "must be more than 0, got " + format_cpu(r.cpu_milli));
    if (r.memory_bytes <= 0)
      fail(p + ".memory", "must be more than 0 bytes, got " + std::to_string(r.memory_bytes));
    const std::string gpu = p + ".gpu";
    bool gpu_ok = !reported(gpu);
    if (r.gpu_count < 0 || (r.gpu_count == 0 && r.gpu_milli != 0)) {
      fail(gpu, "expected a GPU count of 1 or more or a fraction below 1, got gpu_count " +
                    std::to_string(r.gpu_count) + " and gpu_milli " + std::to_string(r.gpu_milli));
      gpu_ok = false;
    } else if (r.gpu_count == 1 && (r.gpu_milli < 1 || r.gpu_milli > kGpuMilliWhole)) {
      fail(gpu, "a GPU share must be from 1 to 1000 milli-GPU, got " + std::to_string(r.gpu_milli));
      gpu_ok = false;
    } else if (r.gpu_count > 1 && r.gpu_milli != kGpuMilliWhole) {
      fail(gpu, "only a single GPU can be shared: " + std::to_string(r.gpu_count) +
                    " GPUs need gpu_milli 1000, got " + std::to_string(r.gpu_milli));
      gpu_ok = false;
    }
    if (device_ok && gpu_ok) {
      if (s.device == device_kind::gpu && !r.wants_gpu())
        fail(gpu, "required when device is gpu");
      else if (s.device != device_kind::gpu && r.wants_gpu())
        fail(gpu, std::string("GPUs need device: gpu (this stage's device is ") +
                      to_string(s.device) + ")");
    }
    // gpu_memory and gpu_model without a GPU: silent when the gpu field itself was rejected.
    bool no_gpu = !r.wants_gpu() && gpu_ok;
    if (r.gpu_memory_bytes < 0)
      fail(p + ".gpu_memory", "must not be negative");
    else if (r.gpu_memory_bytes > 0 && no_gpu)
      fail(p + ".gpu_memory", "only allowed with resources.gpu");
    if (!r.gpu_models.empty() && no_gpu) fail(p + ".gpu_model", "only allowed with resources.gpu");
    for (size_t k = 0; k < r.gpu_models.size(); ++k) {
      std::string mp = p + ".gpu_model[" + std::to_string(k) + "]";
      if (r.gpu_models[k].empty())
        fail(mp, "expected a GPU model name, got an empty string");
      else if (auto why = detail::text_problem(r.gpu_models[k]); !why.empty())
        fail(mp, why);
    }
    if (r.dpus < 0)
      fail(p + ".dpu", "expected an integer of 0 or more, got " + std::to_string(r.dpus));
    else if (device_ok && s.device == device_kind::dpu && r.dpus < 1)
      fail(p + ".dpu", "at least 1 required when device is dpu");
  }

  void check_env(const stage_spec& s, const std::string& stage) {
    for (const auto& [key, value] : s.env) {
      std::string kp = detail::key_path(stage + ".env", key);
      if (!valid_env_key(key))
        fail(kp, "expected a variable name of letters, digits and '_', not starting with a digit");
      else if (key.starts_with(kReservedEnvPrefix) && key != kFleetSecondsEnv)
        fail(kp, "names starting with GANTRY_ are reserved for variables gantry sets (except " +
                     std::string(kFleetSecondsEnv) + ", for simulated workers)");
      else if (auto why = detail::text_problem(value); !why.empty())
        fail(kp, why);
    }
  }

  void check_command(const stage_spec& s, const std::string& stage) {
    const std::string p = stage + ".command";
    if (s.command.empty()) {
      fail(p, "expected a list with at least the program to run");
      return;
    }
    if (s.command[0].empty()) fail(p + "[0]", "the program name must not be empty");
    for (size_t k = 0; k < s.command.size(); ++k)
      if (auto why = detail::text_problem(s.command[k]); !why.empty())
        fail(p + "[" + std::to_string(k) + "]", why);
  }

  std::vector<std::string> stage_names() const {
    std::vector<std::string> names;
    for (const auto& st : spec_.stages) names.push_back(st.name);
    return names;
  }

  // Unknown and self references; the graph's cycles are checked once all stages are seen.
  void check_after(const stage_spec& s, const std::string& stage) {
    std::set<std::string> seen;
    for (size_t k = 0; k < s.after.size(); ++k) {
      const std::string& name = s.after[k];
      std::string ap = stage + ".after[" + std::to_string(k) + "]";
      if (name.empty())
        fail(ap, "expected a stage name, got an empty string");
      else if (name == s.name)
        fail(ap, "a stage cannot run after itself");
      else if (!first_index_.count(name))
        fail(ap,
             "unknown stage " + detail::quote(name) + detail::did_you_mean(name, stage_names()));
      else if (!seen.insert(name).second)
        fail(ap, detail::quote(name) + " is listed twice");
    }
  }

  void check_checkpoint_signal(const checkpoint_spec& c, const std::string& p) {
    if (!c.signal.empty() && signal_number(c.signal) == 0)
      fail(p + ".signal",
           "unknown signal " + detail::quote(c.signal) + "; use a name such as SIGUSR1");
    if (c.grace_ms < 0 || c.grace_ms > kMaxCheckpointGraceMs)
      fail(p + ".grace", "expected a duration above 0 and at most " +
                             format_duration_ms(kMaxCheckpointGraceMs) + ", got " +
                             format_duration_ms(c.grace_ms));
    else if (c.grace_ms > 0 && c.signal.empty())
      fail(p + ".grace", "is how long a drain waits after the signal; declare a signal too");
  }

  void check_colocate(const stage_spec& s, const std::string& stage) {
    const std::string& target = s.colocate_with;
    if (target.empty()) return;
    if (target == s.name)
      fail(stage + ".colocate_with", "a stage cannot colocate with itself");
    else if (!first_index_.count(target))
      fail(stage + ".colocate_with",
           "unknown stage " + detail::quote(target) + detail::did_you_mean(target, stage_names()));
  }

  // Edges i -> j where stage j is in stage i's `after` (i waits for j); self and unknown
  // references are left out (reported above).
  std::vector<std::vector<size_t>> after_graph() const {
    std::vector<std::vector<size_t>> g(spec_.stages.size());
    for (size_t i = 0; i < spec_.stages.size(); ++i)
      for (const auto& name : spec_.stages[i].after)
        if (auto it = first_index_.find(name); it != first_index_.end() && it->second != i)
          g[i].push_back(it->second);
    return g;
  }

  // Strongly connected components (iterative Tarjan); returns the component id of each stage.
  static std::vector<size_t> components(const std::vector<std::vector<size_t>>& g) {
    constexpr size_t kUnseen = std::numeric_limits<size_t>::max();
    size_t n = g.size(), next_index = 0, next_comp = 0;
    std::vector<size_t> index(n, kUnseen), low(n), comp(n, kUnseen), stack;
    std::vector<bool> on_stack(n);
    std::vector<std::pair<size_t, size_t>> work;  // (node, next edge to follow)
    for (size_t root = 0; root < n; ++root) {
      if (index[root] != kUnseen) continue;
      work.push_back({root, 0});
      while (!work.empty()) {
        auto& [v, edge] = work.back();
        if (edge == 0 && index[v] == kUnseen) {
          index[v] = low[v] = next_index++;
          stack.push_back(v);
          on_stack[v] = true;
        }
        if (edge < g[v].size()) {
          size_t w = g[v][edge++];
          if (index[w] == kUnseen)
            work.push_back({w, 0});
          else if (on_stack[w])
            low[v] = std::min(low[v], index[w]);
          continue;
        }
        if (low[v] == index[v]) {
          size_t w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            comp[w] = next_comp;
          } while (w != v);
          ++next_comp;
        }
        size_t done = v;
        work.pop_back();
        if (!work.empty()) low[work.back().first] = std::min(low[work.back().first], low[done]);
      }
    }
    return comp;
  }

  // "cycle a -> b -> c -> a" for the loop a, b, c; long loops keep their ends.
  std::string cycle_text(const std::vector<size_t>& loop) const {
    constexpr size_t kHead = 5, kTail = 2;
    std::string text = "cycle ";
    for (size_t k = 0; k < loop.size(); ++k) {
      if (loop.size() > kHead + kTail + 1 && k == kHead) {
        text += "... (" + std::to_string(loop.size() - kHead - kTail) + " more) -> ";
        k = loop.size() - kTail;
      }
      text += spec_.stages[loop[k]].name + " -> ";
    }
    return text + spec_.stages[loop.front()].name;
  }

  // One error per cycle group: the shortest cycle through its first stage, reported at the
  // stage whose `after` closes it, e.g. "stages[2].after: cycle a -> b -> c -> a".
  void check_after_cycles() {
    auto g = after_graph();
    auto comp = components(g);
    std::set<size_t> done;
    for (size_t s = 0; s < g.size(); ++s) {
      if (!done.insert(comp[s]).second) continue;
      // Breadth-first from s inside its component until an edge leads back to s.
      std::vector<size_t> parent(g.size(), g.size());
      std::vector<size_t> queue{s};
      size_t last = g.size();
      for (size_t q = 0; q < queue.size() && last == g.size(); ++q) {
        size_t v = queue[q];
        for (size_t w : g[v]) {
          if (comp[w] != comp[s]) continue;
          if (w == s) {
            last = v;
            break;
          }
          if (parent[w] == g.size() && w != s) {
            parent[w] = v;
            queue.push_back(w);
          }
        }
      }
      if (last == g.size()) continue;  // a single stage with no cycle
      std::vector<size_t> path;
      for (size_t v = last; v != s; v = parent[v]) path.push_back(v);
      path.push_back(s);
      std::reverse(path.begin(), path.end());
      fail(stage_path(last) + ".after", cycle_text(path));
    }
  }

  // The stage that stage v colocates with, or n when none (empty, unknown or itself).
  size_t colocate_target(size_t v) const {
    auto it = first_index_.find(spec_.stages[v].colocate_with);
    return it == first_index_.end() || it->second == v ? spec_.stages.size() : it->second;
  }

  // colocate_with chains that loop (a -> b -> a) can never be placed; one error per loop, at the
  // stage whose colocate_with closes it.
  void check_colocate_cycles() {
    size_t n = spec_.stages.size();
    std::vector<int> state(n, 0);  // 0 unseen, 1 on the chain being walked, 2 finished
    for (size_t start = 0; start < n; ++start) {
      std::vector<size_t> chain;
      size_t v = start;
      while (v < n && state[v] == 0) {
        state[v] = 1;
        chain.push_back(v);
        v = colocate_target(v);
      }
      if (v < n && state[v] == 1) {
        std::vector<size_t> loop(std::find(chain.begin(), chain.end(), v), chain.end());
        std::rotate(loop.begin(), std::min_element(loop.begin(), loop.end()), loop.end());
        fail(stage_path(loop.back()) + ".colocate_with", cycle_text(loop));
      }
      for (size_t m : chain) state[m] = 2;
    }
  }

  const job_spec& spec_;
  const std::set<std::string>& reported_;
  std::map<std::string, size_t> first_index_;  // stage name -> index of its first stage
  std::vector<manifest_error> errors_;
};

}  // namespace

std::vector<manifest_error> detail::validate_spec(const job_spec& spec,
                                                  const std::set<std::string>& reported) {
  return validator(spec, reported).run();
}

std::vector<manifest_error> validate_spec(const job_spec& spec) {
  static const std::set<std::string> kNone;
  return detail::validate_spec(spec, kNone);
}

}  // namespace gantry
