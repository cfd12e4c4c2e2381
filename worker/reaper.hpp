#pragma once
// The reaper: a thread that waits for the worker's children to exit and calls back (on its
// own thread) with each exit. The thread owns its state, so the handle may go away while
// the thread still sits in waitpid().
#include <sys/types.h>

#include <functional>
#include <memory>

namespace gantry {

class reaper {
 public:
  // `exited(pid, status)` for every child of this process that exits (waitpid status).
  explicit reaper(std::function<void(pid_t, int)> exited);
  ~reaper();
  reaper(const reaper&) = delete;
  reaper& operator=(const reaper&) = delete;
  // The reaper waits while any child it was told of has not exited; a child it was not
  // told of is reaped and passed on all the same, and changes nothing here.
  void child_started(pid_t pid);

  struct shared;

 private:
  std::shared_ptr<shared> shared_;
};

}  // namespace gantry
