// The coordinator on a full disk (issue 9): a refused write never aborts it, submit says the
// storage is full, reads keep working, a restart on the full disk serves reads, and writes
// resume once there is room. The data dir is a small tmpfs (root only; skipped otherwise).
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

constexpr uint64_t kMinFree = 8 << 20;
constexpr std::string_view kJob = "name: j\nstages:\n  - name: s\n    command: [run]\n";

// A tmpfs of `size` mounted at `path` while it lives; ok() false (with why()) when it cannot.
class tmpfs {
 public:
  tmpfs(std::string path, const std::string& size) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    std::string opts = "size=" + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) == 0)
      mounted_ = true;
    else
      why_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
  }
  ~tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  uint64_t free_bytes() const {
    struct statvfs st {};
    ::statvfs(path_.c_str(), &st);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string why_;
};

// Writes a file that leaves less than kMinFree (but some) free on the tmpfs.
void fill(const tmpfs& fs, const std::string& path) {
  uint64_t leave = kMinFree / 2;
  uint64_t size = fs.free_bytes() > leave ? fs.free_bytes() - leave : 0;
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 20, 'x');
  for (uint64_t done = 0; done < size; done += block.size())
    out.write(block.data(),
              static_cast<std::streamsize>(std::min<uint64_t>(block.size(), size - done)));
  out.close();
  REQUIRE(fs.free_bytes() < kMinFree);
}

}  // namespace

TEST_CASE("full disk: submit is refused clearly, reads go on, restarts serve, writes resume") {
  cluster c;
  tmpfs fs(c.dir() + "/coordinator", "48m");
  if (!fs.ok()) {
    MESSAGE("skipped: cannot make a small file system here (" << fs.why() << ")");
    return;
  }
  std::vector<std::string> flags{"--min-free-disk-bytes", std::to_string(kMinFree)};
  c.start_coordinator(flags);
  std::string first = c.submit("first.yaml", std::string(kJob));

  std::string filler = c.dir() + "/coordinator/filler";
  fill(fs, filler);
  auto refused = c.cli({"submit", c.write_manifest("second.yaml", std::string(kJob))});
  INFO(refused.err);
  INFO(c.logs());
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("the coordinator's storage is full: " + c.dir() + "/coordinator/state") !=
        std::string::npos);
  auto jobs = c.cli({"jobs", "--json"});
  REQUIRE(jobs.exit_code == 0);
  REQUIRE(jobs.json().size() == 1);
  CHECK(jobs.json()[0]["id"] == first);
  CHECK(c.coordinator().running());

  // A restart on the full disk opens the store read-only and serves reads.
  c.start_coordinator(flags);
  jobs = c.cli({"jobs", "--json"});
  REQUIRE(jobs.exit_code == 0);
  CHECK(jobs.json().size() == 1);
  CHECK(c.cli({"describe", first}).exit_code == 0);
  refused = c.cli({"submit", c.write_manifest("third.yaml", std::string(kJob))});
  CHECK(refused.err.find("the coordinator's storage is full") != std::string::npos);
  CHECK(c.log_of("coordinator").find("serving reads only until there is room") !=
        std::string::npos);

  // Room again: the next write reopens the store for writing, without a restart.
  std::filesystem::remove(filler);
  std::string after = c.submit("after.yaml", std::string(kJob));
  CHECK(after != first);
  c.start_coordinator(flags);
  jobs = c.cli({"jobs", "--json"});
  REQUIRE(jobs.exit_code == 0);
  CHECK(jobs.json().size() == 2);
  CHECK(c.coordinator().running());
}
