// `gantry queue create|update|delete|list`: the queues jobs are admitted through.
#include <iostream>

#include "cli/client_session.hpp"
#include "cli/output.hpp"

namespace gantry::cli {

int run_queue_set(const client_options& c, const queue_change& change) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  if (auto r = (*cl)->set_queue(change); !r) return report(r.error());
  std::cout << "queue " << change.name << (change.create ? " created\n" : " updated\n");
  return kExitOk;
}

int run_queue_delete(const client_options& c, const std::string& name) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  if (auto r = (*cl)->delete_queue(name); !r) return report(r.error());
  std::cout << "queue " << name << " deleted\n";
  return kExitOk;
}

int run_queue_list(const client_options& c) {
  auto cl = connect(c);
  if (!cl) return report(cl.error());
  auto queues = (*cl)->list_queues();
  if (!queues) return report(queues.error());
  if (c.json)
    std::cout << queues_json(*queues).dump(2) << std::endl;
  else
    std::cout << queues_table(*queues);
  return kExitOk;
}

}  // namespace gantry::cli
