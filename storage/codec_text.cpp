// JSON writer and pull reader (RFC 8259), for the codec's own records.
#include "storage/codec_text.hpp"

#include <charconv>
#include <limits>

namespace gantry::codec {

// ---- writer

void json_writer::separate() {
  if (need_comma_) out_ += ',';
}

void json_writer::begin_object() {
  separate();
  out_ += '{';
  need_comma_ = false;
}

void json_writer::end_object() {
  out_ += '}';
  need_comma_ = true;
}

void json_writer::begin_array() {
  separate();
  out_ += '[';
  need_comma_ = false;
}

void json_writer::end_array() {
  out_ += ']';
  need_comma_ = true;
}

void json_writer::key(std::string_view name) {
  separate();
  quoted(name);
  out_ += ':';
  need_comma_ = false;
}

void json_writer::value(std::string_view s) {
  separate();
  quoted(s);
  need_comma_ = true;
}

void json_writer::value(int64_t v) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
}

void json_writer::value(uint64_t v) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
}

void json_writer::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  need_comma_ = true;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if there is none.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

}  // namespace

void json_writer::quoted(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out_ += '"';
  size_t run = 0;  // start of the pending run of bytes copied as they are
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_length(s, i)) {
        i += n;
        continue;
      }
    }
    out_.append(s.substr(run, i - run));
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      default:
        if (c < 0x20) {
          out_ += "\\u00";
          out_ += hex[c >> 4];
          out_ += hex[c & 0xf];
        } else {
          out_ += "\xEF\xBF\xBD";  // an invalid UTF-8 byte
        }
    }
    run = ++i;
  }
  out_.append(s.substr(run));
  out_ += '"';
}

// ---- reader

void json_reader::fail(const std::string& expected) {
  std::string got;
  switch (pos_ < text_.size() ? text_[pos_] : '\0') {
    case '\0':
      got = pos_ < text_.size() ? "a NUL byte" : "the end";
      break;
    case '{':
      got = "an object";
      break;
    case '[':
      got = "an array";
      break;
    case '"':
      got = "a string";
      break;
    case 't':
    case 'f':
      got = "a boolean";
      break;
    case 'n':
      got = "null";
      break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      got = "a number";
      break;
    default:
      got = "'" + std::string(1, text_[pos_]) + "'";
  }
  throw decode_failure(
      "", "expected " + expected + ", got " + got + " at offset " + std::to_string(pos_));
}

char json_reader::peek() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c;
    ++pos_;
  }
  return '\0';
}

void json_reader::expect(char c, const char* what) {
  if (peek() != c || pos_ >= text_.size()) fail(what);
  ++pos_;
}

bool json_reader::begin_object() {
  expect('{', "an object");
  if (peek() != '}') return true;
  ++pos_;
  return false;
}

std::string_view json_reader::key() {
  if (peek() != '"') fail("a member name");
  auto k = read_string(key_scratch_);
  expect(':', "':'");
  return k;
}

bool json_reader::more_in_object() {
  const char c = peek();
  if (c == ',') return ++pos_, true;
  if (c == '}') return ++pos_, false;
  fail("',' or '}'");
}

bool json_reader::begin_array() {
  expect('[', "an array");
  if (peek() != ']') return true;
  ++pos_;
  return false;
}

bool json_reader::more_in_array() {
  const char c = peek();
  if (c == ',') return ++pos_, true;
  if (c == ']') return ++pos_, false;
  fail("',' or ']'");
}

bool json_reader::null() {
  if (peek() != 'n') return false;
  if (text_.substr(pos_, 4) != "null") fail("a value");
  pos_ += 4;
  return true;
}

bool json_reader::boolean() {
  const char c = peek();
  if (c == 't' && text_.substr(pos_, 4) == "true") return pos_ += 4, true;
  if (c == 'f' && text_.substr(pos_, 5) == "false") return pos_ += 5, false;
  fail("true or false");
}

int64_t json_reader::integer(int64_t min, int64_t max) {
  peek();
  const char* begin = text_.data() + pos_;
  const char* end = text_.data() + text_.size();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec == std::errc::result_out_of_range) fail("an integer in range");
  if (ec != std::errc() || (p < end && (*p == '.' || *p == 'e' || *p == 'E'))) fail("an integer");
  if (v < min || v > max)
    fail("an integer from " + std::to_string(min) + " to " + std::to_string(max));
  pos_ += p - begin;
  return v;
}

uint64_t json_reader::unsigned_integer() {
  peek();
  const char* begin = text_.data() + pos_;
  const char* end = text_.data() + text_.size();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec == std::errc::result_out_of_range) fail("an integer in range");
  if (ec != std::errc() || (p < end && (*p == '.' || *p == 'e' || *p == 'E')))
    fail("a non-negative integer");
  pos_ += p - begin;
  return v;
}

std::string_view json_reader::string() {
  if (peek() != '"') fail("a string");
  return read_string(scratch_);
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

// REQUIRES: text_[pos_] == '"'.
std::string_view json_reader::read_string(std::string& scratch) {
  const size_t start = ++pos_;
  // Most strings have no escapes: return a view of the input itself.
  while (pos_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') return text_.substr(start, pos_++ - start);
    if (c == '\\') break;
    if (c < 0x20) fail("a string without control characters");
    ++pos_;
  }
  scratch.assign(text_.substr(start, pos_ - start));
  auto hex4 = [&]() -> uint32_t {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = pos_ < text_.size() ? hex_digit(text_[pos_]) : -1;
      if (d < 0) fail("a hex digit");
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    return v;
  };
  while (true) {
    if (pos_ >= text_.size()) fail("the end of the string");
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c < 0x20) fail("a string without control characters");
    ++pos_;
    if (c == '"') return scratch;
    if (c != '\\') {
      scratch += static_cast<char>(c);
      continue;
    }
    if (pos_ >= text_.size()) fail("an escape");
    switch (text_[pos_++]) {
      case '"':
        scratch += '"';
        break;
      case '\\':
        scratch += '\\';
        break;
      case '/':
        scratch += '/';
        break;
      case 'b':
        scratch += '\b';
        break;
      case 'f':
        scratch += '\f';
        break;
      case 'n':
        scratch += '\n';
        break;
      case 'r':
        scratch += '\r';
        break;
      case 't':
        scratch += '\t';
        break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xdc00 && cp <= 0xdfff) fail("a high surrogate before a low one");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (text_.substr(pos_, 2) != "\\u") fail("a low surrogate");
          pos_ += 2;
          const uint32_t low = hex4();
          if (low < 0xdc00 || low > 0xdfff) fail("a low surrogate");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(scratch, cp);
        break;
      }
      default:
        --pos_;
        fail("an escape");
    }
  }
}

void json_reader::skip_value() {
  skip(0);
}

void json_reader::skip(int depth) {
  if (depth > 64) fail("less nesting");
  switch (peek()) {
    case '{':
      if (begin_object()) do {
          key();
          skip(depth + 1);
        } while (more_in_object());
      return;
    case '[':
      if (begin_array()) do
          skip(depth + 1);
        while (more_in_array());
      return;
    case '"':
      read_string(scratch_);
      return;
    case 't':
    case 'f':
      boolean();
      return;
    case 'n':
      null();
      return;
    default: {
      // A number, per the JSON grammar's character set; its form matters not when skipped.
      const size_t start = pos_;
      while (pos_ < text_.size() &&
             std::string_view("+-.0123456789eE").find(text_[pos_]) != std::string_view::npos)
        ++pos_;
      if (pos_ == start) fail("a value");
    }
  }
}

void json_reader::end() {
  if (peek() != '\0' || pos_ < text_.size()) fail("the end of the input");
}

}  // namespace gantry::codec
