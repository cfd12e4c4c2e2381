#pragma once
// Internal to the simulator's readers (trace.cpp, queue_trace.cpp): a CSV file with a header
// row whose rows address columns by header name, and errors that name file:line:column.
#include <charconv>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gantry::sched::csv {

struct csv_field {
  std::string_view text;
  size_t column;  // 1-based character column
};

inline std::vector<csv_field> split_line(std::string_view line) {
  std::vector<csv_field> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    const size_t end = comma == std::string_view::npos ? line.size() : comma;
    std::string_view f = line.substr(start, end - start);
    size_t col = start + 1;
    while (!f.empty() && (f.front() == ' ' || f.front() == '"')) {
      f.remove_prefix(1);
      ++col;
    }
    while (!f.empty() && (f.back() == ' ' || f.back() == '"')) f.remove_suffix(1);
    fields.push_back({f, col});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

// A CSV file with a header row; rows address columns by header name.
class csv_file {
 public:
  result<void> open(const std::string& path, const std::vector<std::string>& required) {
    path_ = path;
    std::ifstream in(path);
    if (!in) return fail(errc::invalid_argument, path + ": cannot open file");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines_.push_back(line);
    }
    if (lines_.empty() || lines_[0].empty())
      return fail(errc::invalid_argument, path + ":1:1: missing header row");
    const auto header = split_line(lines_[0]);
    for (size_t i = 0; i < header.size(); ++i) columns_[std::string(header[i].text)] = i;
    for (const auto& name : required) {
      if (!columns_.contains(name))
        return fail(errc::invalid_argument, path + ":1:1: header lacks column '" + name + "'");
    }
    return {};
  }
  size_t rows() const { return lines_.size(); }  // line numbers 2..rows()
  bool has(const std::string& name) const { return columns_.contains(name); }

  // Field `name` of line `line` (1-based); empty when the row is short and `optional`.
  result<csv_field> field(size_t line, const std::string& name, bool optional = false) const {
    const auto fields = split_line(lines_[line - 1]);
    auto it = columns_.find(name);
    if (it == columns_.end() || it->second >= fields.size()) {
      if (optional) return csv_field{{}, 1};
      return fail(errc::invalid_argument,
                  where(line, lines_[line - 1].size() + 1) + ": " + name + ": missing field");
    }
    return fields[it->second];  // views into lines_, which outlive the caller's use
  }

  result<int64_t> integer(size_t line, const std::string& name, int64_t lo, int64_t hi) const {
    auto f = field(line, name);
    if (!f) return fail(f.error());
    int64_t v = 0;
    const auto [p, ec] = std::from_chars(f->text.data(), f->text.data() + f->text.size(), v);
    if (f->text.empty() || ec != std::errc() || p != f->text.data() + f->text.size() || v < lo ||
        v > hi)
      return fail(errc::invalid_argument, where(line, f->column) + ": " + name +
                                              ": expected an integer in [" + std::to_string(lo) +
                                              ", " + std::to_string(hi) + "], got '" +
                                              std::string(f->text) + "'");
    return v;
  }

  // An optional number: `fallback` when the column is absent or the field empty.
  result<double> real(size_t line, const std::string& name, double lo, double hi,
                      double fallback) const {
    if (!has(name)) return fallback;
    auto f = field(line, name, true);
    if (!f) return fail(f.error());
    if (f->text.empty()) return fallback;
    double v = 0;
    const auto [p, ec] = std::from_chars(f->text.data(), f->text.data() + f->text.size(), v);
    if (ec != std::errc() || p != f->text.data() + f->text.size() || !(v >= lo) || !(v <= hi))
      return fail(errc::invalid_argument, where(line, f->column) + ": " + name +
                                              ": expected a number in [" + fmt(lo) + ", " +
                                              fmt(hi) + "], got '" + std::string(f->text) + "'");
    return v;
  }

  std::string where(size_t line, size_t column) const {
    return path_ + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  bool blank(size_t line) const { return lines_[line - 1].empty(); }

 private:
  static std::string fmt(double v) {
    std::string s = std::to_string(v);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  }

  std::string path_;
  std::vector<std::string> lines_;
  std::map<std::string, size_t> columns_;
};

}  // namespace gantry::sched::csv
