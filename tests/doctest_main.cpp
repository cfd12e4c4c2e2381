// The doctest main shared by every test binary. One addition to doctest's own: a run with a
// --test-case filter that matches no test case fails. ctest runs one case per test, by name,
// and CMake's doctest discovery splits a name at ';' — a split name would otherwise "pass"
// without running anything.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>
#include <iostream>

namespace {

int cases_started = 0;
bool queried = false;  // --list-test-cases, --count, --help...: nothing is meant to run

struct counting_listener : doctest::IReporter {
  explicit counting_listener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override { queried = true; }
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("gantry_case_counter", 1, counting_listener);

bool has_test_case_filter(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0)
      return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit() || queried) return rc;
  if (cases_started == 0 && has_test_case_filter(argc, argv)) {
    std::cerr << "no test case matches the --test-case filter; if ctest ran this, the test's "
                 "name probably holds a ';' (CMake splits names there): use ',' instead\n";
    return 1;
  }
  return rc;
}
