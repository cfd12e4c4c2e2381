#include <charconv>

#include "core/rendezvous.hpp"

namespace gantry {

std::string format_rendezvous(const std::string& address, const rendezvous_scope& scope) {
  return address + "/" + scope.job_id + "/" + scope.stage + "/" + std::to_string(scope.attempt);
}

result<std::pair<std::string, rendezvous_scope>> parse_rendezvous(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "GANTRY_RENDEZVOUS \"" + std::string(text) + "\": " + why +
                                            " (expected HOST:PORT/JOB/STAGE/ATTEMPT)");
  };
  size_t a = text.find('/');
  if (a == std::string_view::npos || a == 0) return bad("no coordinator address");
  size_t b = text.find('/', a + 1);
  if (b == std::string_view::npos || b == a + 1) return bad("no job id");
  size_t c = text.rfind('/');
  if (c == b || c + 1 >= text.size()) return bad("no stage or attempt");
  rendezvous_scope scope;
  scope.job_id = std::string(text.substr(a + 1, b - a - 1));
  scope.stage = std::string(text.substr(b + 1, c - b - 1));
  if (scope.stage.empty() || scope.stage.find('/') != std::string::npos) return bad("bad stage");
  auto attempt = text.substr(c + 1);
  auto [ptr, ec] = std::from_chars(attempt.data(), attempt.data() + attempt.size(), scope.attempt);
  if (ec != std::errc() || ptr != attempt.data() + attempt.size() || scope.attempt < 0)
    return bad("attempt is not a number");
  return std::make_pair(std::string(text.substr(0, a)), std::move(scope));
}

result<void> check_task_scope(const task_ref& task, const rendezvous_scope& scope) {
  if (task.job == scope.job_id && task.stage == scope.stage && task.attempt == scope.attempt)
    return {};
  return fail(errc::permission_denied,
              "the task credential of " + task.job + "/" + task.stage + " attempt " +
                  std::to_string(task.attempt) + " may not use the rendezvous of " + scope.job_id +
                  "/" + scope.stage + " attempt " + std::to_string(scope.attempt));
}

}  // namespace gantry
