#pragma once
// The Prometheus text exposition format 0.0.4: families (# HELP, # TYPE) and their samples.
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.hpp"

namespace gantry::http {

using labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

class prometheus_text {
 public:
  // Starts a family; its samples follow. type: counter, gauge, histogram.
  void family(const std::string& name, const char* type, const std::string& help);
  void sample(const std::string& name, const labels& l, double value);
  void sample(const std::string& name, double value) { sample(name, {}, value); }
  // A whole histogram family: _bucket, _sum, _count.
  void histogram(const std::string& name, const std::string& help, const histogram::snapshot& s);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace gantry::http
