#include "cli/client_session.hpp"

#include <cstdlib>
#include <iostream>

#include "cli/login_config.hpp"

namespace gantry::cli {

result<std::string> coordinator_address(const std::string& flag) {
  std::string address, source;
  if (!flag.empty()) {
    address = flag;
    source = "--coordinator";
  } else if (const char* env = std::getenv("GANTRY_COORDINATOR"); env && *env) {
    address = env;
    source = "$GANTRY_COORDINATOR";
  } else {
    auto config = read_login_config();
    if (!config || !*config || (*config)->coordinator.empty())
      return std::string(kDefaultCoordinator);
    address = (*config)->coordinator;
    source = login_config_path();
  }
  if (auto ok = check_host_port(address); !ok)
    return fail(errc::invalid_argument, source + ": " + ok.error().message);
  return address;
}

int report(const error& e) {
  std::cerr << "gantry: " << e.message << "\n";
  switch (e.code) {
    case errc::unavailable:
      return kExitUnreachable;
    case errc::unauthenticated:
    case errc::permission_denied:
      return kExitNotPermitted;
    case errc::invalid_argument:
    case errc::not_found:
    case errc::failed_precondition:
    case errc::version_mismatch:
      return kExitUsage;
    default:
      return kExitJobFailed;
  }
}

result<std::unique_ptr<client>> connect(const client_options& c) {
  auto address = coordinator_address(c.coordinator);
  if (!address) return fail(address.error());
  auto creds = credentials_for(c);
  if (!creds) return fail(creds.error());
  return client::connect(*address, *creds);
}

bool is_job_id(const std::string& text) {
  if (text.size() < 3 || text.compare(0, 2, "j-") != 0) return false;
  for (size_t i = 2; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return true;
}

result<std::string> resolve_job(client& cl, const std::string& job) {
  if (is_job_id(job)) return job;
  job_filter by_name;
  by_name.name = job;
  auto jobs = cl.list_jobs(by_name);
  if (!jobs) return fail(jobs.error());
  if (jobs->empty())
    return fail(errc::not_found,
                "no job has the id or name \"" + job + "\" (gantry jobs lists them)");
  const job_summary& newest = jobs->back();
  if (jobs->size() > 1) {
    std::string older;  // the next three, newest first
    size_t i = jobs->size() - 1;
    for (size_t shown = 0; i > 0 && shown < 3; ++shown)
      older += (older.empty() ? "" : ", ") + (*jobs)[--i].id;
    if (i > 0) older += ", ...";
    std::cerr << "gantry: " << jobs->size() << " jobs are named " << job << "; using the newest, "
              << newest.id << " (" << to_string(newest.state) << "; older: " << older << ")\n";
  }
  return newest.id;
}

}  // namespace gantry::cli
