// nlohmann-json ADL hooks, through the same field lists as the string codec.
#include "core/codec_json.hpp"

#include <nlohmann/json.hpp>

#include "core/codec_fields.hpp"
#include "core/codec_text.hpp"

namespace gantry {

using nlohmann::json;

namespace {

// nlohmann messages start with "[json.exception.type_error.302] "; users need only the rest.
std::string clean(const char* what) {
  std::string_view s(what);
  if (s.starts_with("[json.exception.")) {
    if (auto end = s.find("] "); end != std::string_view::npos) s.remove_prefix(end + 2);
  }
  return std::string(s);
}

struct field_writer {
  json& j;
  template <class T>
  void operator()(const char* name, const T& v, bool = false) {
    j[name] = v;
  }
  template <class T>
  void operator()(const char* name, const std::optional<T>& v, bool = false) {
    if (v) j[name] = *v;
  }
};

template <class T>
void read_value(const json& j, T& out) {
  j.get_to(out);
}

template <class T>
void read_value(const json& j, std::optional<T>& out) {
  read_value(j, out.emplace());
}

template <class T>
void read_value(const json& j, std::vector<T>& out) {
  if (!j.is_array())
    throw codec::decode_failure("", std::string("expected an array, got ") + j.type_name());
  out.clear();
  for (const auto& e : j) {
    try {
      read_value(e, out.emplace_back());
    } catch (codec::decode_failure& f) {
      f.path = "[" + std::to_string(out.size() - 1) + "]" + f.path;
      throw;
    } catch (const json::exception& x) {
      throw codec::decode_failure("[" + std::to_string(out.size() - 1) + "]", clean(x.what()));
    }
  }
}

struct field_reader {
  const json& j;
  template <class T>
  void operator()(const char* name, T& v, bool required = false) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) {
      if (required) throw codec::decode_failure(std::string(".") + name, "missing");
      return;
    }
    try {
      read_value(*it, v);
    } catch (codec::decode_failure& f) {
      f.path = std::string(".") + name + f.path;
      throw;
    } catch (const json::exception& x) {
      throw codec::decode_failure(std::string(".") + name, clean(x.what()));
    }
    if constexpr (std::is_same_v<T, std::string>)
      if (required && v.empty()) throw codec::decode_failure(std::string(".") + name, "empty");
  }
};

template <class T>
void to_json_record(json& j, const T& v) {
  j = json::object();
  field_writer w{j};
  codec::fields(w, v);
}

template <class T>
void from_json_record(const json& j, T& v) {
  if (!j.is_object())
    throw codec::decode_failure("", std::string("expected an object, got ") + j.type_name());
  field_reader r{j};
  codec::fields(r, v);
}

template <class E>
void from_json_enum(const json& j, E& v) {
  if (!j.is_string())
    throw codec::decode_failure("", std::string("expected a ") + codec::enum_names<E>::what +
                                        " name, got " + j.type_name());
  const auto& s = j.get_ref<const std::string&>();
  auto parsed = codec::parse_name<E>(s);
  if (!parsed)
    throw codec::decode_failure(
        "", std::string("unknown ") + codec::enum_names<E>::what + " '" + s + "'");
  v = *parsed;
}

}  // namespace

#define GANTRY_JSON_ENUM(E)             \
  void to_json(json& j, E v) {          \
    j = to_string(v);                   \
  }                                     \
  void from_json(const json& j, E& v) { \
    from_json_enum(j, v);               \
  }
#define GANTRY_JSON_RECORD(T)           \
  void to_json(json& j, const T& v) {   \
    to_json_record(j, v);               \
  }                                     \
  void from_json(const json& j, T& v) { \
    from_json_record(j, v);             \
  }

GANTRY_JSON_ENUM(device_kind)
GANTRY_JSON_ENUM(collective_kind)
GANTRY_JSON_ENUM(placement_pref)
GANTRY_JSON_ENUM(job_state)
GANTRY_JSON_ENUM(stage_state)
GANTRY_JSON_ENUM(rank_state)
GANTRY_JSON_ENUM(node_state)
GANTRY_JSON_ENUM(event_kind)
GANTRY_JSON_RECORD(resource_request)
GANTRY_JSON_RECORD(checkpoint_spec)
GANTRY_JSON_RECORD(stage_spec)
GANTRY_JSON_RECORD(job_spec)
GANTRY_JSON_RECORD(rank_record)
GANTRY_JSON_RECORD(stage_record)
GANTRY_JSON_RECORD(job_record)
GANTRY_JSON_RECORD(job_event)
GANTRY_JSON_RECORD(gpu_info)
GANTRY_JSON_RECORD(dpu_info)
GANTRY_JSON_RECORD(node_inventory)
GANTRY_JSON_RECORD(node_record)
GANTRY_JSON_RECORD(rendezvous_scope)
GANTRY_JSON_RECORD(gang_coordinates)
GANTRY_JSON_RECORD(task_spec)

}  // namespace gantry
