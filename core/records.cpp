#include "core/records.hpp"

namespace gantry {

job_record make_job_record(std::string id, job_spec spec, uint64_t submit_seq, int64_t now_ms) {
  job_record r;
  r.id = std::move(id);
  r.submit_seq = submit_seq;
  r.submitted_ms = now_ms;
  for (const auto& s : spec.stages) {
    stage_record st;
    st.name = s.name;
    st.state = s.after.empty() ? stage_state::pending : stage_state::waiting;
    for (int32_t i = 0; i < s.replicas; ++i) {
      rank_record rr;
      rr.rank = i;
      st.ranks.push_back(rr);
    }
    r.stages.push_back(std::move(st));
  }
  r.spec = std::move(spec);
  return r;
}

std::string make_task_id(const std::string& job, const std::string& stage, int32_t rank,
                         int32_t attempt) {
  return job + "." + stage + "." + std::to_string(rank) + "." + std::to_string(attempt);
}

}  // namespace gantry
