#include "http/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace gantry::http {
namespace {

void append_escaped(std::string& out, const std::string& v, bool label) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && label)
      out += "\\\"";
    else
      out += c;
  }
}

void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void prometheus_text::family(const std::string& name, const char* type, const std::string& help) {
  out_ += "# HELP " + name + " ";
  append_escaped(out_, help, false);
  out_ += "\n# TYPE " + name + " " + type + "\n";
}

void prometheus_text::sample(const std::string& name, const labels& l, double value) {
  out_ += name;
  if (!l.empty()) {
    out_ += '{';
    for (size_t i = 0; i < l.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += l[i].first + "=\"";
      append_escaped(out_, l[i].second, true);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  append_number(out_, value);
  out_ += '\n';
}

void prometheus_text::histogram(const std::string& name, const std::string& help,
                                const histogram::snapshot& s) {
  family(name, "histogram", help);
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    std::string le;
    append_number(le, s.bounds[i]);
    sample(name + "_bucket", {{"le", le}}, static_cast<double>(s.cumulative[i]));
  }
  sample(name + "_bucket", {{"le", "+Inf"}}, static_cast<double>(s.count));
  sample(name + "_sum", s.sum_seconds);
  sample(name + "_count", static_cast<double>(s.count));
}

}  // namespace gantry::http
