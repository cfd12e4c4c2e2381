// bench_store: a coordinator restarts with 100,000 jobs in its store and must be serving in
// under 2 s. Writes the jobs, reopens the store and loads them, and prints the figures; exits 1
// only if what it loaded is wrong. Usage: bench_store [JOBS (default 100000)]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "samples.hpp"
#include "storage/codec.hpp"
#include "storage/state_store.hpp"

using namespace gantry;
using namespace gantry::storage;
using namespace gantry::testing;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this thread: unlike wall time, not inflated when other processes share the cores.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "bench_store: %s\n", what);
  std::exit(1);
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t kJobs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000;
  constexpr uint64_t kPerBatch = 1'000;
  if (kJobs == 0 || kJobs % kPerBatch != 0) fail("JOBS must be a positive multiple of 1000");
  temp_dir dir;
  const job_record prototype = sample_job(0);
  const size_t record_bytes = encode(prototype).size();

  auto t0 = std::chrono::steady_clock::now();
  {
    auto kv = open_rocksdb(dir.path);
    require(kv.has_value(), "cannot open the store");
    state_store store(**kv);
    // Written in reverse id order so that key order and submission order disagree.
    for (uint64_t first = 0; first < kJobs; first += kPerBatch) {
      state_store::batch b;
      for (uint64_t n = first; n < first + kPerBatch; ++n) {
        job_record job = prototype;
        job.id = job_id(kJobs - n);
        job.submit_seq = n + 1;
        b.put_job(job);
      }
      require(store.commit(b).has_value(), "cannot commit a batch");
    }
  }
  const double write_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  auto kv = open_rocksdb(dir.path);
  require(kv.has_value(), "cannot open the store");
  const double open_s = seconds_since(t0);

  state_store store(**kv);
  t0 = std::chrono::steady_clock::now();
  size_t scanned_bytes = 0;
  require((*kv)
              ->scan(column::jobs, "",
                     [&](std::string_view, std::string_view v) {
                       scanned_bytes += v.size();
                       return true;
                     })
              .has_value(),
          "cannot scan the jobs");
  const double scan_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  const double cpu0 = thread_cpu_seconds();
  auto jobs = store.load_jobs();
  const double load_s = seconds_since(t0);
  const double load_cpu_s = thread_cpu_seconds() - cpu0;
  require(jobs.has_value(), "load_jobs failed");
  require(jobs->size() == kJobs, "load_jobs returned the wrong number of jobs");
  for (uint64_t i = 0; i < kJobs; i += 9'973) {
    require((*jobs)[i].submit_seq == i + 1, "jobs are not in submission order");
    require((*jobs)[i].id == job_id(kJobs - i), "a job came back with the wrong id");
  }
  require((*jobs)[17].stages == prototype.stages, "a job's stages changed on the way");

  std::cout << kJobs << " jobs of " << record_bytes << " B JSON (" << scanned_bytes / (1 << 20)
            << " MiB): written in " << write_s << " s; reopen " << open_s << " s; raw scan "
            << scan_s << " s; load_jobs (scan + decode + sort) " << load_s << " s wall, "
            << load_cpu_s << " s CPU; reopen + load " << open_s + load_s << " s\n";
}
