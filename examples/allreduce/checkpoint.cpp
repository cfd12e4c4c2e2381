#include "examples/allreduce/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace gantry::example {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader = "gantry-example-allreduce state v1";

// Writes `text` to path.tmp, fsyncs it, and renames it to `path`.
outcome<void> write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failure("checkpoint: cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t k = ::write(fd, text.data() + off, text.size() - off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      return failure("checkpoint: cannot write " + tmp + ": " + why);
    }
    off += static_cast<size_t>(k);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return failure("checkpoint: cannot sync " + tmp + ": " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return failure("checkpoint: cannot rename " + tmp + ": " + std::strerror(errno));
  return {};
}

}  // namespace

std::string step_dir(const std::string& dir, int64_t step) {
  return dir + "/step-" + std::to_string(step);
}
std::string state_path(const std::string& dir, int64_t step, int rank) {
  return step_dir(dir, step) + "/rank-" + std::to_string(rank) + ".state";
}
std::string done_path(const std::string& dir, int64_t step, int rank) {
  return step_dir(dir, step) + "/rank-" + std::to_string(rank) + ".done";
}

outcome<void> write_state(const std::string& dir, int rank, const run_state& state,
                          const run_identity& who) {
  std::error_code ec;
  fs::create_directories(step_dir(dir, state.step), ec);
  if (ec)
    return failure("checkpoint: cannot create " + step_dir(dir, state.step) + ": " + ec.message());
  std::ostringstream text;
  text << kHeader << "\njob " << (who.job.empty() ? "-" : who.job) << "\nworld " << who.world
       << "\nsize " << who.size << "\nstep " << state.step << "\nchecksum " << state.checksum
       << "\nend\n";
  return write_atomically(state_path(dir, state.step, rank), text.str());
}

outcome<void> commit_step(const std::string& dir, int rank, int64_t step) {
  return write_atomically(done_path(dir, step, rank), "committed\n");
}

outcome<void> write_checkpoint(const std::string& dir, int rank, const run_state& state,
                               const run_identity& who) {
  if (auto r = write_state(dir, rank, state, who); !r) return r;
  return commit_step(dir, rank, state.step);
}

outcome<run_state> read_checkpoint(const std::string& dir, int64_t step, int rank,
                                   const run_identity& who, std::string* not_ours) {
  std::string path = state_path(dir, step, rank);
  std::error_code ec;
  if (!fs::exists(done_path(dir, step, rank), ec))
    return failure("checkpoint: step " + std::to_string(step) + " of rank " + std::to_string(rank) +
                   " was never committed (no " + done_path(dir, step, rank) + ")");
  std::ifstream in(path);
  std::string header;
  if (!in || !std::getline(in, header) || header != kHeader)
    return failure("checkpoint: " + path + " is missing or not a state file of this program");
  std::map<std::string, std::string> fields;
  std::string key, value;
  while (in >> key && key != "end" && in >> value) fields[key] = value;
  if (key != "end" || fields.size() != 5) return failure("checkpoint: " + path + " is incomplete");
  run_state state;
  try {
    state.step = std::stoll(fields["step"]);
    state.checksum = std::stoull(fields["checksum"]);
    int world = std::stoi(fields["world"]);
    uint64_t size = std::stoull(fields["size"]);
    if (state.step != step) return failure("checkpoint: " + path + " holds step " + fields["step"]);
    std::string job = fields["job"] == "-" ? "" : fields["job"];
    std::string why;
    if (job != who.job)
      why = "job " + (job.empty() ? std::string("(run by hand)") : job);
    else if (world != who.world || size != who.size)
      why = "a run with world " + fields["world"] + " and size " + fields["size"];
    if (!why.empty()) {
      if (!not_ours)
        return failure("checkpoint: " + path + " was written by " + why + ", not this run");
      *not_ours = why;
    }
  } catch (const std::exception&) {
    return failure("checkpoint: " + path + " has a malformed number");
  }
  return state;
}

void remove_other_steps(const std::string& dir, int rank, int64_t keep) {
  std::error_code ec;
  std::string prefix = "rank-" + std::to_string(rank) + ".";
  std::vector<fs::path> steps;
  fs::directory_iterator it(dir, ec), end_it;
  for (; !ec && it != end_it; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("step-", 0) != 0) continue;
    char* end = nullptr;
    long long step = std::strtoll(name.c_str() + 5, &end, 10);
    if (end && *end == '\0' && end != name.c_str() + 5 && step != keep) steps.push_back(it->path());
  }
  for (const auto& path : steps) {
    std::error_code ignored;
    // The marker first: a step is never left committed without its state.
    for (const char* suffix : {"done", "done.tmp", "state", "state.tmp"})
      fs::remove(path / (prefix + suffix), ignored);
    std::error_code check;
    if (fs::is_empty(path, check) && !check) fs::remove(path, check);  // another rank may race
  }
}

}  // namespace gantry::example
