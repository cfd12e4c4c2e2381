#pragma once
// Internal to storage/codec*.cpp: a minimal JSON writer and pull reader, several times faster
// than building a DOM, for the records the state store loads at start-up.
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace gantry::codec {

// Thrown inside the codec only, caught where a result<T> is returned. `path` names the field
// (".stages[1].name"); callers prepend their part while it unwinds.
struct decode_failure : std::exception {
  decode_failure(std::string p, std::string m) : path(std::move(p)), message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
  std::string path;
  std::string message;
};

// Appends compact JSON to `out`. Invalid UTF-8 in strings becomes U+FFFD, so the output is
// always valid JSON. The caller keeps the structure balanced.
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}
  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);
  void value(std::string_view s);
  void value(int64_t v);
  void value(uint64_t v);
  void value(bool v);

 private:
  void separate();
  void quoted(std::string_view s);
  std::string& out_;
  bool need_comma_ = false;
};

// Reads JSON from text front to back; every method throws decode_failure (with the offset)
// when the input is not what it expects.
class json_reader {
 public:
  explicit json_reader(std::string_view text) : text_(text) {}
  // Consumes '{'; false when the object is empty (the '}' is consumed too).
  bool begin_object();
  // Reads a member's name and the ':' after it. The view lasts until the next key() call.
  std::string_view key();
  // After a member's value: consumes ',' and returns true, or consumes '}' and returns false.
  bool more_in_object();
  bool begin_array();
  bool more_in_array();
  // Consumes `null` and returns true when it comes next.
  bool null();
  // The view lasts until the next string read.
  std::string_view string();
  int64_t integer(int64_t min, int64_t max);
  uint64_t unsigned_integer();
  bool boolean();
  // Skips one value of any kind (unknown fields from a newer version).
  void skip_value();
  // REQUIRES: the top-level value has been read. Only whitespace may follow.
  void end();

 private:
  [[noreturn]] void fail(const std::string& expected);
  char peek();  // the next non-space character, '\0' at the end; consumes the spaces
  void expect(char c, const char* what);
  std::string_view read_string(std::string& scratch);
  void skip(int depth);
  std::string_view text_;
  size_t pos_ = 0;
  std::string scratch_, key_scratch_;
};

}  // namespace gantry::codec
