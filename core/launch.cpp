#include "core/launch.hpp"

namespace gantry {

gang_coordinates place_in_gang(const std::vector<std::string>& nodes_by_rank, int32_t rank) {
  gang_coordinates g;
  const std::string& mine = nodes_by_rank[static_cast<size_t>(rank)];
  std::vector<const std::string*> nodes;  // in order of their lowest rank
  g.local_rank = 0;
  g.local_world_size = 0;
  for (size_t r = 0; r < nodes_by_rank.size(); ++r) {
    const std::string& node = nodes_by_rank[r];
    bool seen = false;
    for (const std::string* n : nodes) seen = seen || *n == node;
    if (!seen) {
      if (node == mine) g.group_rank = static_cast<int32_t>(nodes.size());
      nodes.push_back(&node);
    }
    if (node != mine) continue;
    if (static_cast<int32_t>(r) < rank) ++g.local_rank;
    ++g.local_world_size;
  }
  g.group_world_size = static_cast<int32_t>(nodes.size());
  return g;
}

}  // namespace gantry
