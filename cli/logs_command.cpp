// `gantry logs`: which ranks' output to read (validated against the job first), then reading
// them, one chunk per rank per round, until they end or, without --follow, once.
#include <algorithm>
#include <iostream>

#include "cli/client_session.hpp"

namespace gantry::cli {
namespace {

struct log_source {
  std::string stage;
  int32_t rank = 0;
  int32_t attempt = -1;  // -1: the rank's current attempt
  uint64_t offset = 0;
  bool done = false;
  std::string partial;  // an unfinished last line
};

std::string rank_range(size_t ranks) {
  return ranks == 1 ? "rank 0" : "ranks 0.." + std::to_string(ranks - 1);
}

// The ranks to read. A --stage, --rank or --attempt that the job does not have is
// errc::not_found naming what it has. Ranks that have not started are left out.
result<std::vector<log_source>> select_sources(const job_record& job, const std::string& stage,
                                               std::optional<int32_t> rank,
                                               std::optional<int32_t> attempt) {
  std::vector<const stage_record*> stages;
  std::string names;
  for (const auto& st : job.stages) {
    names += (names.empty() ? "" : ", ") + st.name;
    if (stage.empty() || st.name == stage) stages.push_back(&st);
  }
  if (stages.empty())
    return fail(errc::not_found,
                "job " + job.id + " has no stage \"" + stage + "\" (stages: " + names + ")");
  if (rank) {
    std::string ranges;
    for (const auto* st : stages)
      ranges += (ranges.empty() ? "" : "; ") + st->name + ": " + rank_range(st->ranks.size());
    std::erase_if(stages, [&](const stage_record* st) {
      return *rank < 0 || static_cast<size_t>(*rank) >= st->ranks.size();
    });
    if (stages.empty())
      return fail(errc::not_found,
                  "job " + job.id + " has no rank " + std::to_string(*rank) + " (" + ranges + ")");
  }
  std::vector<log_source> out;
  int32_t newest = 0;
  for (const auto* st : stages) {
    for (const auto& r : st->ranks) {
      if (rank && r.rank != *rank) continue;
      newest = std::max(newest, r.attempt);
      if (!attempt) {
        if (!r.task_id.empty()) out.push_back({st->name, r.rank});
      } else if (*attempt < r.attempt ||
                 r.task_id == make_task_id(job.id, st->name, r.rank, *attempt)) {
        out.push_back({st->name, r.rank, *attempt});
      }
    }
  }
  if (attempt && *attempt > newest)
    return fail(errc::not_found, "no rank reached attempt " + std::to_string(*attempt) +
                                     " (the newest attempt is " + std::to_string(newest) + ")");
  return out;
}

}  // namespace

int run_logs(const client_options& c, const std::string& job, const std::string& stage,
             std::optional<int32_t> rank, bool follow, std::optional<int32_t> attempt) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto id = resolve_job(**cl, job);
  if (!id) return report(id.error());
  auto rec = (*cl)->describe(*id);
  if (!rec) return report(rec.error());
  auto selected = select_sources(*rec, stage, rank, attempt);
  if (!selected) return report(selected.error());
  std::vector<log_source>& sources = *selected;
  if (sources.empty()) {
    std::cerr << "gantry logs: nothing has started yet\n";
    return kExitOk;
  }
  bool prefix = sources.size() > 1;
  auto print_line = [&](const log_source& s, const std::string& line) {
    if (prefix) std::cout << "[" << s.stage << "/" << s.rank << "] ";
    std::cout << line;
  };
  for (;;) {
    bool progressed = false, all_done = true;
    for (auto& s : sources) {
      if (s.done) continue;
      auto chunk = (*cl)->read_logs(*id, s.stage, s.rank, s.offset, 1 << 20, s.attempt);
      if (!chunk) {
        std::cerr << "gantry logs: " << s.stage << "/" << s.rank << ": " << chunk.error().message
                  << "\n";
        s.done = true;
        continue;
      }
      progressed = progressed || !chunk->data.empty();
      // Output dropped under the reader (--max-log-bytes): the worker sent a newline, in case
      // the reader stopped mid-line, and the marker; a reader at a line end needs no newline.
      bool jumped = chunk->next_offset != s.offset + chunk->data.size();
      if (jumped && s.partial.empty() && chunk->data.starts_with('\n')) chunk->data.erase(0, 1);
      s.offset = chunk->next_offset;
      s.partial += chunk->data;
      size_t nl;
      while ((nl = s.partial.find('\n')) != std::string::npos) {
        print_line(s, s.partial.substr(0, nl + 1));
        s.partial.erase(0, nl + 1);
      }
      s.done = chunk->finished || !follow;
      if (s.done && !s.partial.empty()) {
        print_line(s, s.partial + "\n");
        s.partial.clear();
      }
      all_done = all_done && s.done;
    }
    std::cout.flush();
    if (all_done) return kExitOk;
    if (!progressed) (*cl)->pause(200);
  }
}

}  // namespace gantry::cli
