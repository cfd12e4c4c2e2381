// The codec: records to and from JSON text through the field lists of
// storage/codec_fields.hpp, with a writer and pull reader instead of a DOM (see
// docs/storage.md for why: the coordinator decodes every job at start-up).
#include "storage/codec.hpp"

#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "storage/codec_fields.hpp"
#include "storage/codec_text.hpp"

namespace gantry {

const char* to_string(event_kind v) {
  switch (v) {
    case event_kind::job:
      return "job";
    case event_kind::stage:
      return "stage";
    case event_kind::rank:
      return "rank";
  }
  return "?";
}

namespace codec {
namespace {

using string_map = std::map<std::string, std::string>;
using string_pair = std::pair<std::string, std::string>;

// Every overload is declared before any is defined: the calls between them are resolved
// where the templates are defined, not by ADL.
void write_value(json_writer& w, int32_t v);
void write_value(json_writer& w, int64_t v);
void write_value(json_writer& w, uint64_t v);
void write_value(json_writer& w, bool v);
void write_value(json_writer& w, const std::string& v);
void write_value(json_writer& w, const string_map& v);
void write_value(json_writer& w, const string_pair& v);
template <named_enum E>
void write_value(json_writer& w, E v);
template <class T>
void write_value(json_writer& w, const std::vector<T>& v);
template <record T>
void write_value(json_writer& w, const T& v);

void read_value(json_reader& r, int32_t& v);
void read_value(json_reader& r, int64_t& v);
void read_value(json_reader& r, uint64_t& v);
void read_value(json_reader& r, bool& v);
void read_value(json_reader& r, std::string& v);
void read_value(json_reader& r, string_map& v);
void read_value(json_reader& r, string_pair& v);
template <named_enum E>
void read_value(json_reader& r, E& v);
template <class T>
void read_value(json_reader& r, std::optional<T>& v);
template <class T>
void read_value(json_reader& r, std::vector<T>& v);
template <record T>
void read_value(json_reader& r, T& v);

// ---- writing

void write_value(json_writer& w, int32_t v) {
  w.value(static_cast<int64_t>(v));
}
void write_value(json_writer& w, int64_t v) {
  w.value(v);
}
void write_value(json_writer& w, uint64_t v) {
  w.value(v);
}
void write_value(json_writer& w, bool v) {
  w.value(v);
}
void write_value(json_writer& w, const std::string& v) {
  w.value(std::string_view(v));
}

void write_value(json_writer& w, const string_map& v) {
  w.begin_object();
  for (const auto& [k, s] : v) {
    w.key(k);
    w.value(std::string_view(s));
  }
  w.end_object();
}

void write_value(json_writer& w, const string_pair& v) {
  w.begin_array();
  w.value(std::string_view(v.first));
  w.value(std::string_view(v.second));
  w.end_array();
}

template <named_enum E>
void write_value(json_writer& w, E v) {
  w.value(std::string_view(to_string(v)));
}

template <class T>
void write_value(json_writer& w, const std::vector<T>& v) {
  w.begin_array();
  for (const auto& x : v) write_value(w, x);
  w.end_array();
}

struct field_writer {
  json_writer& w;
  template <class T>
  void operator()(const char* name, const T& v, bool = false) {
    w.key(name);
    write_value(w, v);
  }
  template <class T>
  void operator()(const char* name, const std::optional<T>& v, bool = false) {
    if (v) (*this)(name, *v);
  }
};

template <record T>
void write_value(json_writer& w, const T& v) {
  w.begin_object();
  field_writer fw{w};
  fields(fw, v);
  w.end_object();
}

// ---- reading

void read_value(json_reader& r, int32_t& v) {
  v = static_cast<int32_t>(
      r.integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}
void read_value(json_reader& r, int64_t& v) {
  v = r.integer(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}
void read_value(json_reader& r, uint64_t& v) {
  v = r.unsigned_integer();
}
void read_value(json_reader& r, bool& v) {
  v = r.boolean();
}
void read_value(json_reader& r, std::string& v) {
  v = r.string();
}

void read_value(json_reader& r, string_map& v) {
  v.clear();
  if (!r.begin_object()) return;
  do {
    std::string k(r.key());
    try {
      v.insert_or_assign(std::move(k), std::string(r.string()));
    } catch (decode_failure& f) {
      f.path = "." + k + f.path;
      throw;
    }
  } while (r.more_in_object());
}

void read_value(json_reader& r, string_pair& v) {
  if (!r.begin_array()) throw decode_failure("", "expected a pair, got an empty array");
  v.first = r.string();
  if (!r.more_in_array()) throw decode_failure("", "expected a pair, got one string");
  v.second = r.string();
  if (r.more_in_array()) throw decode_failure("", "expected a pair, got more strings");
}

template <named_enum E>
void read_value(json_reader& r, E& v) {
  const auto name = r.string();
  auto parsed = parse_name<E>(name);
  if (!parsed)
    throw decode_failure(
        "", std::string("unknown ") + enum_names<E>::what + " '" + std::string(name) + "'");
  v = *parsed;
}

template <class T>
void read_value(json_reader& r, std::optional<T>& v) {
  read_value(r, v.emplace());
}

template <class T>
void read_value(json_reader& r, std::vector<T>& v) {
  v.clear();
  if (!r.begin_array()) return;
  do {
    try {
      read_value(r, v.emplace_back());
    } catch (decode_failure& f) {
      f.path = "[" + std::to_string(v.size() - 1) + "]" + f.path;
      throw;
    }
  } while (r.more_in_array());
}

// Reads the value of the member named `key` into the field of that name, if there is one.
struct field_reader {
  json_reader& r;
  std::string_view key;
  uint64_t& seen;  // bit i: field i was present
  int index = 0;
  bool matched = false;
  template <size_t N, class T>
  void operator()(const char (&name)[N], T& v, bool = false) {
    const int i = index++;
    if (matched || key.size() != N - 1 || std::memcmp(key.data(), name, N - 1) != 0) return;
    matched = true;
    seen |= uint64_t{1} << i;
    if (r.null()) return;  // null: keep the default
    try {
      read_value(r, v);
    } catch (decode_failure& f) {
      f.path = std::string(".") + name + f.path;
      throw;
    }
  }
};

struct required_checker {
  uint64_t seen;
  int index = 0;
  template <class T>
  void operator()(const char* name, const T& v, bool required = false) {
    const int i = index++;
    if (!required) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (v.empty()) throw decode_failure(std::string(".") + name, "missing or empty");
    } else if (!(seen >> i & 1)) {
      throw decode_failure(std::string(".") + name, "missing");
    }
  }
};

template <record T>
void read_value(json_reader& r, T& v) {
  uint64_t seen = 0;
  if (r.begin_object()) do {
      field_reader fr{r, r.key(), seen};
      fields(fr, v);
      if (!fr.matched) r.skip_value();  // a field of a newer version: ignored
    } while (r.more_in_object());
  required_checker check{seen};
  fields(check, v);
}

template <class T>
std::string encode_as(const T& v) {
  std::string out;
  out.reserve(512);
  json_writer w(out);
  write_value(w, v);
  return out;
}

template <class T>
result<T> decode_as(std::string_view text, const char* what) {
  try {
    json_reader r(text);
    T v;
    read_value(r, v);
    r.end();
    return v;
  } catch (const decode_failure& f) {
    std::string where = f.path.starts_with('.') ? f.path.substr(1) : f.path;
    return fail(errc::invalid_argument,
                std::string(what) + (where.empty() ? "" : " " + where) + ": " + f.message);
  } catch (const std::exception& e) {
    return fail(errc::invalid_argument, std::string(what) + ": " + e.what());
  }
}

}  // namespace
}  // namespace codec

std::string encode(const job_record& v) {
  return codec::encode_as(v);
}
result<job_record> decode_job_record(std::string_view t) {
  return codec::decode_as<job_record>(t, "job_record");
}
std::string encode(const job_event& v) {
  return codec::encode_as(v);
}
result<job_event> decode_job_event(std::string_view t) {
  return codec::decode_as<job_event>(t, "job_event");
}
std::string encode(const node_record& v) {
  return codec::encode_as(v);
}
result<node_record> decode_node_record(std::string_view t) {
  return codec::decode_as<node_record>(t, "node_record");
}
std::string encode(const job_spec& v) {
  return codec::encode_as(v);
}
result<job_spec> decode_job_spec(std::string_view t) {
  return codec::decode_as<job_spec>(t, "job_spec");
}
std::string encode(const task_spec& v) {
  return codec::encode_as(v);
}
result<task_spec> decode_task_spec(std::string_view t) {
  return codec::decode_as<task_spec>(t, "task_spec");
}

}  // namespace gantry
