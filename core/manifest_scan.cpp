// A first pass over manifest text that builds nothing: yaml-cpp's event parser walks the
// documents, so a stalled parser or an alias bomb is refused before YAML::LoadAll builds a
// node tree (and before the manifest reader copies what aliases point to).
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <map>
#include <sstream>
#include <vector>

#include "core/manifest.hpp"
#include "core/quantity.hpp"

namespace gantry::detail {
namespace {

// Thrown from the handler to stop the scan at the event that went over the budget.
struct over_budget {
  YAML::Mark mark;
};

// Sees one document's events: how many, where the first one is, whether the document holds
// anything but null, and what the document weighs once every alias is expanded.
// Weight: 1 per node plus the bytes of every scalar; an alias weighs what its anchored node
// weighs (so nested aliases multiply), which is what the manifest reader would copy.
class document_probe : public YAML::EventHandler {
 public:
  document_probe(uint64_t& expanded, uint64_t budget) : expanded_(expanded), budget_(budget) {}

  int events = 0;
  YAML::Mark first;
  bool empty = true;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, true, a, 1); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    auto it = anchors_.find(a);
    leaf(m, false, 0, it == anchors_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                const std::string& value) override {
    leaf(m, false, a, 1 + value.size());
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                       YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnMapEnd() override { close(); }

 private:
  struct frame {
    YAML::anchor_t anchor;
    uint64_t weight;
  };
  static uint64_t sum(uint64_t a, uint64_t b) {
    return a > UINT64_MAX / 2 - b ? UINT64_MAX / 2 : a + b;
  }

  void seen(const YAML::Mark& m, bool null) {
    if (events++ == 0) first = m;
    if (!null) empty = false;
  }
  // Counts `weight` for the whole document and for the collections around it.
  void add(const YAML::Mark& m, uint64_t weight) {
    expanded_ = sum(expanded_, weight);
    if (expanded_ > budget_) throw over_budget{m};
  }
  void leaf(const YAML::Mark& m, bool null, YAML::anchor_t anchor, uint64_t weight) {
    seen(m, null);
    add(m, weight);
    if (anchor) anchors_[anchor] = weight;
    if (!stack_.empty()) stack_.back().weight = sum(stack_.back().weight, weight);
  }
  void open(const YAML::Mark& m, YAML::anchor_t anchor) {
    seen(m, false);
    add(m, 1);
    stack_.push_back({anchor, 1});
  }
  void close() {
    if (stack_.empty()) return;
    frame f = stack_.back();
    stack_.pop_back();
    if (f.anchor) anchors_[f.anchor] = f.weight;
    if (!stack_.empty()) stack_.back().weight = sum(stack_.back().weight, f.weight);
  }

  uint64_t& expanded_;
  uint64_t budget_;
  std::vector<frame> stack_;
  std::map<YAML::anchor_t, uint64_t> anchors_;
};

}  // namespace

// yaml-cpp 0.7's parser can stall on some malformed input (",a", "- a\n, b"): it hands out the
// same empty document forever, so YAML::LoadAll never returns. This walks the documents without
// building them and stops at a stall, as soon as a second non-empty document shows up, or as
// soon as the expanded weight passes max_expanded_bytes.
std::string yaml_documents_problem(std::string_view text, uint64_t max_expanded_bytes) {
  constexpr int kMaxDocuments = 10000;
  uint64_t expanded = 0;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    int non_empty = 0, last_pos = -2;
    for (int i = 0; i < kMaxDocuments; ++i) {
      document_probe probe(expanded, max_expanded_bytes);
      if (!parser.HandleNextDocument(probe)) return "";
      int pos = probe.events > 0 ? probe.first.pos : -1;
      if (pos == last_pos) {
        std::string what = "unexpected character";
        if (pos >= 0 && static_cast<size_t>(pos) < text.size() &&
            std::isgraph(static_cast<unsigned char>(text[pos])))
          what = std::string("unexpected '") + text[pos] + "'";
        return "invalid YAML at line " + std::to_string(probe.first.line + 1) + ", column " +
               std::to_string(probe.first.column + 1) + ": " + what;
      }
      last_pos = pos;
      if (!probe.empty && ++non_empty > 1) return "expected one YAML document, found more";
    }
    return "expected one YAML document, found more than " + std::to_string(kMaxDocuments);
  } catch (const over_budget& e) {
    return "the manifest's YAML aliases expand it beyond " +
           format_bytes(static_cast<int64_t>(max_expanded_bytes)) + " (by line " +
           std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) +
           "; every *alias counts as a copy of what it names); at most " +
           format_bytes(static_cast<int64_t>(max_expanded_bytes)) +
           " is accepted (the coordinator's --max-manifest-bytes)";
  } catch (const YAML::Exception&) {
    return "";  // YAML::LoadAll meets the same error first and reports it with its position
  }
}

}  // namespace gantry::detail
